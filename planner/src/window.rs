//! Time windows: weekend nights, DAYS@HH:MM-HH:MM specs and busy-period calendars.
