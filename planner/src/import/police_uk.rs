//! police_uk
