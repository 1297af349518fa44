//! The application layer: one typed request and one function per use case, shared by the
//! CLI (`commands/`) and the HTTP server (`server/`). Each edge only translates its own
//! input (flags, query strings, JSON bodies) into these requests, and the results into its
//! own output (terminal and files, HTTP answers); neither edge imports the other.
//!
//! Use cases: score hotspots ([`hotspots`]), form patrol zones ([`zones`]), make, read and
//! re-plan a rota ([`plan`]) with its CSV and calendars ([`ics`]), import files
//! ([`import`]); [`analysis`] turns stored incidents into scoring inputs for all of them,
//! and [`password`] hashes the passwords and tokens of the users both edges create.

pub mod analysis;
pub mod dataset;
pub mod hotspots;
pub mod ics;
pub mod import;
pub mod operator;
pub mod password;
pub mod plan;
pub mod validation;
pub mod zones;

/// Why a use case failed: the CLI maps it to an exit code, the server to a status.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Invalid input: exit code 2 or 422, and nothing was written.
    #[error("{0:#}")]
    Invalid(anyhow::Error),
    /// Anything else: exit code 1 or 500.
    #[error("{0:#}")]
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

impl From<crate::storage::StoreError> for Failure {
    fn from(e: crate::storage::StoreError) -> Self {
        Failure::Other(e.into())
    }
}
