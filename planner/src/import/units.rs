//! units importer
