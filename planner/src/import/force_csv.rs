//! force_csv
