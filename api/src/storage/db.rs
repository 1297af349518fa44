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
    #[error("{}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
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
}

/// PostgreSQL's own message (and detail) rather than the driver's "db error".
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => e.to_string(),
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

    /// Whether a query returns any row.
    pub fn exists(&self, sql: &str, params: Params<'_>) -> DbResult<bool> {
        let mut found = false;
        self.for_each_until(sql, params, &mut |_| {
            found = true;
            Ok(false)
        })?;
        Ok(found)
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

/// The PostgreSQL side: a client with its prepared statements, and the conversions.
mod pg {
    use super::{DbError, DbResult, Params, Row, ValueRef, postgres_placeholders};
    use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
    use std::collections::HashMap;
    use std::sync::mpsc;

    /// More distinct statements than this and the cache starts again (SQL built with a
    /// varying number of placeholders would otherwise grow it without end).
    const STATEMENTS: usize = 512;

    /// Rows are passed from the connection's thread in chunks of this many.
    const CHUNK: usize = 4096;

    /// A connection to PostgreSQL, driven by a thread of its own. The `postgres` crate
    /// blocks on a runtime of its own, which must not happen inside another (an async
    /// handler, an async test): on its own thread it can be called from anywhere, and the
    /// caller only waits on a channel.
    pub struct Client {
        jobs: mpsc::Sender<Job>,
    }

    type Job = Box<dyn FnOnce(&mut Worker) + Send>;

    struct Worker {
        client: postgres::Client,
        statements: HashMap<String, postgres::Statement>,
    }

    impl Worker {
        fn statement(&mut self, sql: &str) -> DbResult<postgres::Statement> {
            if let Some(s) = self.statements.get(sql) {
                return Ok(s.clone());
            }
            if self.statements.len() >= STATEMENTS {
                self.statements.clear();
            }
            let s = self.client.prepare(&postgres_placeholders(sql))?;
            self.statements.insert(sql.to_owned(), s.clone());
            Ok(s)
        }
    }

    fn gone() -> DbError {
        DbError::Param("the PostgreSQL connection's thread has stopped".into())
    }

    /// Parameters owned, to cross to the connection's thread.
    fn owned(params: Params<'_>) -> Vec<Owned> {
        params
            .iter()
            .map(|p| match p.to_value() {
                ValueRef::Null => Owned::Null,
                ValueRef::Int(i) => Owned::Int(i),
                ValueRef::Real(x) => Owned::Real(x),
                ValueRef::Text(t) => Owned::Text(t.to_owned()),
                ValueRef::Blob(b) => Owned::Blob(b.to_vec()),
            })
            .collect()
    }

    #[derive(Debug)]
    enum Owned {
        Null,
        Int(i64),
        Real(f64),
        Text(String),
        Blob(Vec<u8>),
    }

    impl Owned {
        fn as_value(&self) -> Value<'_> {
            Value(match self {
                Owned::Null => ValueRef::Null,
                Owned::Int(i) => ValueRef::Int(*i),
                Owned::Real(x) => ValueRef::Real(*x),
                Owned::Text(t) => ValueRef::Text(t),
                Owned::Blob(b) => ValueRef::Blob(b),
            })
        }
    }

    impl Client {
        pub fn connect(url: &str) -> DbResult<Client> {
            let (jobs, queue) = mpsc::channel::<Job>();
            let (ready, connected) = mpsc::sync_channel(1);
            let url = url.to_owned();
            std::thread::Builder::new()
                .name("firefly-postgres".into())
                .spawn(
                    move || match postgres::Client::connect(&url, postgres::NoTls) {
                        Ok(client) => {
                            let _ = ready.send(Ok(()));
                            let mut worker = Worker {
                                client,
                                statements: HashMap::new(),
                            };
                            // Ends when the `Client` is dropped; the connection closes with it.
                            while let Ok(job) = queue.recv() {
                                job(&mut worker);
                            }
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    },
                )
                .map_err(|e| DbError::Param(format!("cannot start a connection thread: {e}")))?;
            connected.recv().map_err(|_| gone())??;
            Ok(Client { jobs })
        }

        /// Runs `f` on the connection's thread and waits for its answer.
        fn call<T: Send + 'static>(
            &self,
            f: impl FnOnce(&mut Worker) -> DbResult<T> + Send + 'static,
        ) -> DbResult<T> {
            let (answer, answered) = mpsc::sync_channel(1);
            self.jobs
                .send(Box::new(move |w| {
                    let _ = answer.send(f(w));
                }))
                .map_err(|_| gone())?;
            answered.recv().map_err(|_| gone())?
        }

        pub fn is_closed(&self) -> bool {
            self.call(|w| Ok(w.client.is_closed())).unwrap_or(true)
        }

        pub fn batch_execute(&self, sql: &str) -> DbResult<()> {
            let sql = sql.to_owned();
            self.call(move |w| Ok(w.client.batch_execute(&sql)?))
        }

        pub fn execute(&self, sql: &str, params: Params<'_>) -> DbResult<usize> {
            let (sql, params) = (sql.to_owned(), owned(params));
            self.call(move |w| {
                let stmt = w.statement(&sql)?;
                let values: Vec<Value<'_>> = params.iter().map(Owned::as_value).collect();
                let refs: Vec<&(dyn ToSql + Sync)> =
                    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                Ok(w.client.execute(&stmt, &refs)? as usize)
            })
        }

        /// Streams the rows, a chunk at a time, to `f` until it returns `false` (the
        /// connection's thread then stops reading them).
        pub fn for_each_until(
            &self,
            sql: &str,
            params: Params<'_>,
            f: &mut dyn FnMut(&Row<'_>) -> DbResult<bool>,
        ) -> DbResult<()> {
            use postgres::fallible_iterator::FallibleIterator;
            let (sql, params) = (sql.to_owned(), owned(params));
            let (chunks, received) = mpsc::sync_channel::<DbResult<Vec<postgres::Row>>>(2);
            self.jobs
                .send(Box::new(move |w| {
                    let read = |w: &mut Worker| -> DbResult<()> {
                        let stmt = w.statement(&sql)?;
                        let values: Vec<Value<'_>> = params.iter().map(Owned::as_value).collect();
                        let mut rows = w.client.query_raw(&stmt, values.iter())?;
                        let mut chunk = Vec::with_capacity(CHUNK);
                        while let Some(row) = rows.next()? {
                            chunk.push(row);
                            if chunk.len() == CHUNK
                                && chunks.send(Ok(std::mem::take(&mut chunk))).is_err()
                            {
                                return Ok(()); // the reader has stopped
                            }
                        }
                        if !chunk.is_empty() {
                            let _ = chunks.send(Ok(chunk));
                        }
                        Ok(())
                    };
                    if let Err(e) = read(w) {
                        let _ = chunks.send(Err(e));
                    }
                }))
                .map_err(|_| gone())?;
            for chunk in received {
                for row in chunk? {
                    if !f(&Row::Postgres(&row))? {
                        return Ok(());
                    }
                }
            }
            Ok(())
        }
    }

    /// A parameter, encoded as whatever type PostgreSQL inferred for its placeholder.
    #[derive(Debug)]
    struct Value<'a>(ValueRef<'a>);

    fn out_of_range(
        what: impl std::fmt::Display,
        ty: &Type,
    ) -> Box<dyn std::error::Error + Sync + Send> {
        format!("{what} does not fit a {ty} parameter").into()
    }

    impl ToSql for Value<'_> {
        fn to_sql(
            &self,
            ty: &Type,
            out: &mut bytes::BytesMut,
        ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            match (self.0, ty) {
                (ValueRef::Null, _) => Ok(IsNull::Yes),
                (ValueRef::Int(i), &Type::INT8) => i.to_sql(ty, out),
                (ValueRef::Int(i), &Type::INT4) => i32::try_from(i)
                    .map_err(|_| out_of_range(i, ty))?
                    .to_sql(ty, out),
                (ValueRef::Int(i), &Type::INT2) => i16::try_from(i)
                    .map_err(|_| out_of_range(i, ty))?
                    .to_sql(ty, out),
                (ValueRef::Int(i), &Type::BOOL) => (i != 0).to_sql(ty, out),
                (ValueRef::Int(i), &Type::FLOAT8) => (i as f64).to_sql(ty, out),
                (ValueRef::Int(i), &Type::FLOAT4) => (i as f32).to_sql(ty, out),
                (ValueRef::Int(i), _) => i.to_string().as_str().to_sql(&Type::TEXT, out),
                (ValueRef::Real(x), &Type::FLOAT8) => x.to_sql(ty, out),
                (ValueRef::Real(x), &Type::FLOAT4) => (x as f32).to_sql(ty, out),
                (ValueRef::Real(x), &Type::INT8) if x.fract() == 0.0 => (x as i64).to_sql(ty, out),
                (ValueRef::Real(x), &Type::INT4 | &Type::INT2 | &Type::BOOL | &Type::BYTEA) => {
                    Err(out_of_range(x, ty))
                }
                (ValueRef::Real(x), _) => x.to_string().as_str().to_sql(&Type::TEXT, out),
                (ValueRef::Text(t), _) => t.to_sql(&Type::TEXT, out),
                (ValueRef::Blob(b), _) => b.to_sql(&Type::BYTEA, out),
            }
        }

        fn accepts(_: &Type) -> bool {
            true
        }

        to_sql_checked!();
    }

    /// A column read into one of the five kinds.
    pub fn value<'r>(row: &'r postgres::Row, index: usize) -> DbResult<ValueRef<'r>> {
        let column = row.columns().get(index).ok_or_else(|| DbError::Column {
            index,
            message: "no such column".into(),
        })?;
        let v = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(ValueRef::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(index)?
                .map(|i| ValueRef::Int(i.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(index)?
                .map(|i| ValueRef::Int(i.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(index)?
                .map(|b| ValueRef::Int(b.into())),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(index)?.map(ValueRef::Real),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(index)?
                .map(|x| ValueRef::Real(x.into())),
            Type::NUMERIC => row.try_get::<_, Option<Numeric>>(index)?.map(|n| n.0),
            Type::BYTEA => row.try_get::<_, Option<&[u8]>>(index)?.map(ValueRef::Blob),
            _ => row.try_get::<_, Option<&str>>(index)?.map(ValueRef::Text),
        };
        Ok(v.unwrap_or(ValueRef::Null))
    }

    /// A NUMERIC (what `sum` of integers gives): an integer when it has no fraction.
    struct Numeric(ValueRef<'static>);

    impl<'a> postgres::types::FromSql<'a> for Numeric {
        fn from_sql(
            _: &Type,
            raw: &'a [u8],
        ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            // Binary NUMERIC: digit count, weight (of the first base-10000 digit), sign,
            // display scale, then the digits.
            let word = |i: usize| -> Result<i16, Box<dyn std::error::Error + Sync + Send>> {
                raw.get(2 * i..2 * i + 2)
                    .map(|b| i16::from_be_bytes([b[0], b[1]]))
                    .ok_or_else(|| "a truncated NUMERIC".into())
            };
            let (digits, weight, sign, scale) = (word(0)?, word(1)?, word(2)? as u16, word(3)?);
            if sign == 0xC000 {
                return Err("NUMERIC NaN".into());
            }
            let mut exact: Option<i64> = Some(0);
            let mut approx = 0.0f64;
            for i in 0..digits as usize {
                let d = word(4 + i)?;
                let power = i32::from(weight) - i as i32;
                approx += f64::from(d) * 10_000f64.powi(power);
                exact = match (exact, u32::try_from(power)) {
                    (Some(acc), Ok(p)) => 10_000i64
                        .checked_pow(p)
                        .and_then(|m| i64::from(d).checked_mul(m))
                        .and_then(|v| acc.checked_add(v)),
                    _ => None,
                };
            }
            let negative = sign == 0x4000;
            Ok(Numeric(match exact {
                Some(i) if scale == 0 => ValueRef::Int(if negative { -i } else { i }),
                _ => ValueRef::Real(if negative { -approx } else { approx }),
            }))
        }

        fn accepts(ty: &Type) -> bool {
            *ty == Type::NUMERIC
        }
    }
}

/// The test suites' PostgreSQL: when `FIREFLY_TEST_POSTGRES` holds a server's URL (its
/// `postgres` database, as a superuser), every test that asks gets a database of its own.
#[doc(hidden)]
pub mod testing {
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
            .map_err(|_| super::DbError::Param("creating a test database panicked".into()))?
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
        let mut admin = postgres::Client::connect(server, postgres::NoTls)?;
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
                        let mut template = postgres::Client::connect(
                            &with_database(server, TEMPLATE),
                            postgres::NoTls,
                        )?;
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
