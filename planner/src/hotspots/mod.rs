//! Hotspot scoring on an aligned metric grid (see issue 3).
