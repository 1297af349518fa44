//! us_open_data
