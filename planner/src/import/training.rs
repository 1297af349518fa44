//! training importer
