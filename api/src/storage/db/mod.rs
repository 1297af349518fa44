//! One connection API over the two databases Firefly stores in: SQLite (the embedded
//! default) and PostgreSQL (a shared server for several replicas).
//!
//! The storage modules write their SQL once, in the subset both understand, with `?N`
//! placeholders (rewritten to `$N` for PostgreSQL) and SQLite's names for the few functions
//! the PostgreSQL schema defines alike (`json_valid`, `json_extract`, the `nocase`
//! collation): see `migrations/postgres/`. Values cross as five kinds (null, integer, real,
//! text, blob), SQLite's own, converted to and from whatever column type PostgreSQL has.
//!
//! Statements are prepared once per connection and reused (SQLite's statement cache, a
//! map of prepared statements for PostgreSQL), so a loop of inserts parses its SQL once.
//!
//! Writers are serialised on both: SQLite takes its write lock at `BEGIN IMMEDIATE`;
//! a PostgreSQL transaction takes one advisory lock ([`WRITER_LOCK`]) at `BEGIN`. Reads
//! read what was committed and never wait. The audit chain, whose next row depends on the
//! last one, needs exactly that order.

use std::fmt;
use std::time::Duration;

mod pg;
pub mod tls;

/// The test suites' PostgreSQL (`FIREFLY_TEST_POSTGRES`): a database of its own per test.
#[doc(hidden)]
pub mod testing;

/// How long a writer waits for another before giving up (SQLite's busy timeout, and
/// PostgreSQL's `lock_timeout` on the writer lock).
pub const WRITE_WAIT: Duration = Duration::from_secs(10);

/// The advisory lock every PostgreSQL write transaction holds (`pg_advisory_xact_lock`):
/// an arbitrary constant, "FIREFLY" in ASCII.
pub const WRITER_LOCK: i64 = 0x0046_4952_4546_4C59;

/// The advisory lock of imports, taken before [`WRITER_LOCK`]: one import at a time
/// across every process, the next one waiting up to [`IMPORT_WAIT`] for its turn.
pub const IMPORT_LOCK: i64 = WRITER_LOCK + 1;

/// The advisory lock of the login rate limiter's counts (its own, so that logins never
/// wait for an import).
pub const LOGIN_LOCK: i64 = WRITER_LOCK + 2;

/// How long an import waits for the one before it.
pub const IMPORT_WAIT: Duration = Duration::from_secs(300);

/// What can go wrong talking to a database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL's message, complete (so not also given as the error's source, which
    /// would print it twice in a chain).
    #[error("{}", pg_message(.0))]
    Postgres(postgres::Error),
    #[error("the query returned no rows")]
    NoRows,
    /// A value that does not fit the Rust type asked for.
    #[error("column {index}: {message}")]
    Column { index: usize, message: String },
    /// A value of another kind than expected.
    #[error("{0}")]
    Type(String),
    /// A value that cannot be sent (e.g. an integer too large for its column).
    #[error("parameter: {0}")]
    Param(String),
    /// The connection itself failed (its thread could not start, or stopped).
    #[error("connection: {0}")]
    Connection(String),
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> DbError {
        DbError::Postgres(e)
    }
}

/// PostgreSQL's own message (and detail) rather than the driver's "db error".
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        // E.g. "error connecting to server: Connection refused (os error 111)": the
        // driver keeps the cause apart.
        None => {
            let mut message = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                message.push_str(&format!(": {c}"));
                cause = c.source();
            }
            message
        }
    }
}

impl DbError {
    /// Another writer held the database for longer than [`WRITE_WAIT`].
    pub fn is_busy(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(code, _)) => matches!(
                code.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            DbError::Postgres(e) => {
                e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE)
            }
            _ => false,
        }
    }
}

pub type DbResult<T> = std::result::Result<T, DbError>;

/// `Ok(None)` for a query that found no row.
pub trait OptionalExt<T> {
    fn optional(self) -> DbResult<Option<T>>;
}

impl<T> OptionalExt<T> for DbResult<T> {
    fn optional(self) -> DbResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRows) | Err(DbError::Sqlite(rusqlite::Error::QueryReturnedNoRows)) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Which database a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A value read or sent: SQLite's five kinds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl<'a> ValueRef<'a> {
    pub fn as_str(self) -> DbResult<&'a str> {
        match self {
            ValueRef::Text(t) => Ok(t),
            other => Err(DbError::Type(format!("expected text, found {other:?}"))),
        }
    }

    pub fn as_str_or_null(self) -> DbResult<Option<&'a str>> {
        match self {
            ValueRef::Null => Ok(None),
            other => other.as_str().map(Some),
        }
    }
}

/// A value owned (a row read from one database, to write to another).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<ValueRef<'_>> for Value {
    fn from(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::Real(x) => Value::Real(x),
            ValueRef::Text(t) => Value::Text(t.to_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

impl ToValue for Value {
    fn to_value(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Int(*i),
            Value::Real(x) => ValueRef::Real(*x),
            Value::Text(t) => ValueRef::Text(t),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

/// What can be sent as a parameter.
pub trait ToValue {
    fn to_value(&self) -> ValueRef<'_>;
}

/// The parameters of one statement.
pub type Params<'a> = &'a [&'a dyn ToValue];

/// `params![a, b]`: a statement's parameters, in order (`?1`, `?2`, ...).
macro_rules! params {
    () => { &[] as &[&dyn $crate::storage::db::ToValue] };
    ($($value:expr),+ $(,)?) => {
        &[$(&$value as &dyn $crate::storage::db::ToValue),+] as &[&dyn $crate::storage::db::ToValue]
    };
}
pub(crate) use params;

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> ValueRef<'_> {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> ValueRef<'_> {
        self.as_ref().map_or(ValueRef::Null, ToValue::to_value)
    }
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> ValueRef<'_> {
                ValueRef::Int(*self as i64)
            }
        }
    )*};
}
int_to_value!(i64, i32, u32, u16, u8, usize, u64);

impl ToValue for bool {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Int(i64::from(*self))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToValue for String {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

/// What can be read from a column.
pub trait FromValue: Sized {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, String>;
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl FromValue for i64 {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        match v {
            ValueRef::Int(i) => Ok(i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

macro_rules! narrow_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, String> {
                let i = i64::from_value(v)?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range for {}", stringify!($t)))
            }
        }
    )*};
}
narrow_from_value!(i32, u32, u16, u8, u64, usize);

impl FromValue for bool {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}

impl FromValue for f64 {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        match v {
            ValueRef::Real(x) => Ok(x),
            ValueRef::Int(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

impl FromValue for String {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        match v {
            ValueRef::Text(t) => Ok(t.to_owned()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            other => Err(format!("expected a blob, found {other:?}")),
        }
    }
}

/// One row of a result.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a postgres::Row),
}

impl Row<'_> {
    /// Column `index` (from 0) as `T`.
    pub fn get<T: FromValue>(&self, index: usize) -> DbResult<T> {
        T::from_value(self.get_ref(index)?).map_err(|message| DbError::Column { index, message })
    }

    /// Column `index` as it is stored, borrowed from the row.
    pub fn get_ref(&self, index: usize) -> DbResult<ValueRef<'_>> {
        match self {
            Row::Sqlite(row) => Ok(match row.get_ref(index)? {
                rusqlite::types::ValueRef::Null => ValueRef::Null,
                rusqlite::types::ValueRef::Integer(i) => ValueRef::Int(i),
                rusqlite::types::ValueRef::Real(x) => ValueRef::Real(x),
                rusqlite::types::ValueRef::Text(t) => {
                    ValueRef::Text(std::str::from_utf8(t).map_err(|e| DbError::Column {
                        index,
                        message: e.to_string(),
                    })?)
                }
                rusqlite::types::ValueRef::Blob(b) => ValueRef::Blob(b),
            }),
            Row::Postgres(row) => pg::value(row, index),
        }
    }
}

/// A connection to either database.
pub struct Conn {
    inner: Inner,
}

enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres(pg::Client),
}

impl Conn {
    pub fn sqlite(conn: rusqlite::Connection) -> Conn {
        Conn {
            inner: Inner::Sqlite(conn),
        }
    }

    /// Connects to the PostgreSQL server at `url` (`postgres://user@host:port/db`).
    pub fn postgres(url: &str) -> DbResult<Conn> {
        Ok(Conn {
            inner: Inner::Postgres(pg::Client::connect(url)?),
        })
    }

    /// A plain connection to the database at `location` (no migration, no settings): for
    /// tests and tools that look at a database Firefly made.
    pub fn open(location: &super::Location) -> DbResult<Conn> {
        match location {
            super::Location::Sqlite(path) => Ok(Conn::sqlite(rusqlite::Connection::open(path)?)),
            super::Location::Postgres(url) => Conn::postgres(url),
        }
    }

    /// Whether the connection is gone (the server restarted, the session was terminated):
    /// a pool drops such a connection instead of handing it out again. SQLite's never is.
    pub fn is_broken(&self) -> bool {
        match &self.inner {
            Inner::Sqlite(_) => false,
            Inner::Postgres(c) => c.is_closed(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQLite connection underneath, for what only SQLite has (pragmas, backups).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Postgres(_) => None,
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: Params<'_>) -> DbResult<usize> {
        match &self.inner {
            Inner::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(sqlite_params(params)))?)
            }
            Inner::Postgres(c) => c.execute(sql, params),
        }
    }

    /// Runs statements separated by `;`, without parameters (schema changes).
    pub fn execute_batch(&self, sql: &str) -> DbResult<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(c) => c.batch_execute(sql),
        }
    }

    /// The first row of a query, read by `f`; [`DbError::NoRows`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: Params<'_>,
        f: impl FnOnce(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<T> {
        let mut f = Some(f);
        let mut out = None;
        self.for_each_until(sql, params, &mut |row| {
            if let Some(f) = f.take() {
                out = Some(f(row)?);
            }
            Ok(false)
        })?;
        out.ok_or(DbError::NoRows)
    }

    /// Every row of a query, each read by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: Params<'_>,
        mut f: impl FnMut(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<Vec<T>> {
        let mut out = Vec::new();
        self.for_each_until(sql, params, &mut |row| {
            out.push(f(row)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Streams the rows of a query to `f` until it returns `false`. `f` must not use this
    /// connection (the rows are read from it meanwhile).
    pub fn for_each_until(
        &self,
        sql: &str,
        params: Params<'_>,
        f: &mut dyn FnMut(&Row<'_>) -> DbResult<bool>,
    ) -> DbResult<()> {
        match &self.inner {
            Inner::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(sqlite_params(params)))?;
                while let Some(row) = rows.next()? {
                    if !f(&Row::Sqlite(row))? {
                        break;
                    }
                }
                Ok(())
            }
            Inner::Postgres(c) => c.for_each_until(sql, params, f),
        }
    }

    /// A statement to run many times (its SQL is prepared once, on first use).
    pub fn prepare(&self, sql: &str) -> DbResult<Statement<'_>> {
        Ok(Statement {
            conn: self,
            sql: sql.to_owned(),
        })
    }

    /// Begins a write transaction: rolled back when dropped without [`Tx::commit`].
    pub fn transaction(&mut self) -> DbResult<Tx<'_>> {
        self.begin(&[(WRITER_LOCK, WRITE_WAIT)])
    }

    /// Begins an import's transaction: after the import before it (see [`IMPORT_LOCK`]).
    pub fn import_transaction(&mut self) -> DbResult<Tx<'_>> {
        self.begin(&[(IMPORT_LOCK, IMPORT_WAIT), (WRITER_LOCK, WRITE_WAIT)])
    }

    /// Begins a transaction serialised on `lock` alone (PostgreSQL; SQLite has one lock).
    pub fn transaction_locked(&mut self, lock: i64) -> DbResult<Tx<'_>> {
        self.begin(&[(lock, WRITE_WAIT)])
    }

    /// SQLite: `BEGIN IMMEDIATE` (its one write lock). PostgreSQL: `BEGIN`, then each
    /// advisory lock in order, each waited for at most its time.
    fn begin(&mut self, locks: &[(i64, Duration)]) -> DbResult<Tx<'_>> {
        match &self.inner {
            Inner::Sqlite(c) => c.execute_batch("BEGIN IMMEDIATE")?,
            Inner::Postgres(c) => {
                let mut sql = String::from("BEGIN;");
                for (lock, wait) in locks {
                    sql.push_str(&format!(
                        " SET LOCAL lock_timeout = '{}ms'; SELECT pg_advisory_xact_lock({lock});",
                        wait.as_millis()
                    ));
                }
                if let Err(e) = c.batch_execute(&sql) {
                    let _ = c.batch_execute("ROLLBACK");
                    return Err(e);
                }
            }
        }
        Ok(Tx {
            conn: self,
            done: false,
        })
    }

    /// Begins a read-only transaction: one consistent snapshot while writers go on.
    pub fn snapshot(&mut self) -> DbResult<Tx<'_>> {
        let begin = match self.backend() {
            Backend::Sqlite => "BEGIN DEFERRED",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        self.execute_batch(begin)?;
        Ok(Tx {
            conn: self,
            done: false,
        })
    }
}

/// A statement of one connection, run with different parameters.
pub struct Statement<'c> {
    conn: &'c Conn,
    sql: String,
}

impl Statement<'_> {
    pub fn execute(&mut self, params: Params<'_>) -> DbResult<usize> {
        self.conn.execute(&self.sql, params)
    }

    pub fn query_row<T>(
        &mut self,
        params: Params<'_>,
        f: impl FnOnce(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<T> {
        self.conn.query_row(&self.sql, params, f)
    }
}

/// An open transaction; derefs to its connection.
pub struct Tx<'c> {
    conn: &'c Conn,
    done: bool,
}

impl Tx<'_> {
    pub fn commit(mut self) -> DbResult<()> {
        self.done = true;
        self.conn.execute_batch("COMMIT")
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing to do about a failed rollback: the server ends the transaction when
            // the connection closes, SQLite when the next BEGIN fails and reconnects.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

fn sqlite_params<'a>(
    params: Params<'a>,
) -> impl Iterator<Item = rusqlite::types::ToSqlOutput<'a>> + 'a {
    use rusqlite::types::ValueRef as Sqlite;
    params.iter().map(|p| {
        rusqlite::types::ToSqlOutput::Borrowed(match p.to_value() {
            ValueRef::Null => Sqlite::Null,
            ValueRef::Int(i) => Sqlite::Integer(i),
            ValueRef::Real(x) => Sqlite::Real(x),
            ValueRef::Text(t) => Sqlite::Text(t.as_bytes()),
            ValueRef::Blob(b) => Sqlite::Blob(b),
        })
    })
}

/// `?N` and `?` placeholders as PostgreSQL's `$N`, outside quoted text.
pub fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                out.push('$');
                if digits.is_empty() {
                    out.push_str(&next.to_string());
                    next += 1;
                } else {
                    out.push_str(&digits);
                }
            }
            (None, c) => out.push(c),
        }
    }
    out
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Conn({:?})", self.backend())
    }
}

/// Placeholders keep their numbers; `?` counts; quoted text is left alone.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollar_numbers_outside_quotes() {
        assert_eq!(
            postgres_placeholders("SELECT ?1, ?2 WHERE a = ?1 AND b = '?' AND c = \"x?\""),
            "SELECT $1, $2 WHERE a = $1 AND b = '?' AND c = \"x?\""
        );
        assert_eq!(
            postgres_placeholders("VALUES (?, ?, 'it''s?', ?)"),
            "VALUES ($1, $2, 'it''s?', $3)"
        );
    }

    #[test]
    fn a_test_database_url_names_the_new_database() {
        assert_eq!(
            testing::with_database("postgres://u:p@h:5/postgres?sslmode=disable", "x"),
            "postgres://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(
            testing::with_database("postgres://h", "x"),
            "postgres://h/x"
        );
    }

    #[test]
    fn values_convert_between_rust_and_the_five_kinds() {
        assert_eq!(i64::from_value(ValueRef::Int(7)), Ok(7));
        assert!(u8::from_value(ValueRef::Int(300)).is_err());
        assert_eq!(bool::from_value(ValueRef::Int(1)), Ok(true));
        assert_eq!(f64::from_value(ValueRef::Int(2)), Ok(2.0));
        assert_eq!(
            Option::<String>::from_value(ValueRef::Null),
            Ok(None::<String>)
        );
        assert!(String::from_value(ValueRef::Int(1)).is_err());
        assert_eq!(Some(3u32).to_value(), ValueRef::Int(3));
        assert_eq!(None::<&str>.to_value(), ValueRef::Null);
    }
}
