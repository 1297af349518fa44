//! One module per CLI command: each translates its flags into a request of the application
//! layer ([`crate::app`]) and its result into terminal output and files. Each returns an
//! [`crate::app::Failure`] that `main` maps to an exit code.

pub mod audit;
pub mod backtest;
pub mod backup;
pub mod bench;
pub mod demo;
pub mod hotspots;
pub mod import;
pub mod migrate;
pub mod plan;
pub mod retention;
pub mod serve;
pub mod summary;
pub mod users;
pub mod venues;
pub mod zones;

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
