//! One module per CLI command. Each returns a [`Failure`] that `main` maps to an exit code.

pub mod backtest;
pub mod bench;
pub mod demo;
pub mod hotspots;
pub mod ics;
pub mod import;
pub mod plan;
pub mod serve;
pub mod summary;
pub mod users;
pub mod venues;
pub mod zones;

/// Why a command failed, deciding the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Invalid input: exit code 2, and nothing was written.
    Invalid(anyhow::Error),
    /// Anything else: exit code 1.
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

/// Thousands separators for counts people read.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(61525), "61,525");
        assert_eq!(super::thousands(1_000_000), "1,000,000");
    }
}
