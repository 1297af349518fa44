//! The test suites' PostgreSQL: when `FIREFLY_TEST_POSTGRES` holds a server's URL (its
//! `postgres` database, as a superuser), every test that asks gets a database of its own.

use super::DbResult;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that turns the PostgreSQL runs of the suites on.
pub const ENV: &str = "FIREFLY_TEST_POSTGRES";

/// Holds PostGIS, so that a test database is a copy instead of an extension install.
const TEMPLATE: &str = "firefly_test_template";

/// The server's URL, if the suites run against PostgreSQL.
pub fn server() -> Option<String> {
    std::env::var(ENV).ok().filter(|u| !u.trim().is_empty())
}

/// A new, empty database on the test server; its URL. (On a thread of its own, as the
/// `postgres` client cannot block inside an async test.)
pub fn fresh_database(server: &str) -> DbResult<String> {
    let server = server.to_owned();
    std::thread::spawn(move || create(&server))
        .join()
        .map_err(|_| super::DbError::Connection("creating a test database panicked".into()))?
}

fn create(server: &str) -> DbResult<String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "firefly_t{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = super::tls::connect(server)?;
    let mut tries = 0;
    loop {
        match admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}")) {
            Ok(()) => break,
            Err(e) if tries < 50 => {
                tries += 1;
                // Missing template: make it (another test process may be doing the
                // same; then wait for it to let go of the template).
                if e.code() == Some(&postgres::error::SqlState::INVALID_CATALOG_NAME)
                    && admin
                        .batch_execute(&format!("CREATE DATABASE {TEMPLATE}"))
                        .is_ok()
                {
                    let mut template = super::tls::connect(&with_database(server, TEMPLATE))?;
                    template.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")?;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(with_database(server, &name))
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}
