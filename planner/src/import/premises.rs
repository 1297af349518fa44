//! premises importer
