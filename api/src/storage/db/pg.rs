//! The PostgreSQL side of [`super::Conn`]: a client on a thread of its own with its
//! prepared statements, and the conversions between PostgreSQL's types and the five kinds.

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
    DbError::Connection("the PostgreSQL connection's thread has stopped".into())
}

/// Parameters owned, to cross to the connection's thread.
fn owned(params: Params<'_>) -> Vec<super::Value> {
    params.iter().map(|p| p.to_value().into()).collect()
}

/// An owned parameter, encoded as PostgreSQL asks.
fn encoded(value: &super::Value) -> Param<'_> {
    Param(super::ToValue::to_value(value))
}

impl Client {
    pub fn connect(url: &str) -> DbResult<Client> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, connected) = mpsc::sync_channel(1);
        let url = url.to_owned();
        std::thread::Builder::new()
            .name("firefly-postgres".into())
            .spawn(move || match super::tls::connect(&url) {
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
            })
            .map_err(|e| DbError::Connection(format!("cannot start a connection thread: {e}")))?;
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
            let values: Vec<Param<'_>> = params.iter().map(encoded).collect();
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
                    let values: Vec<Param<'_>> = params.iter().map(encoded).collect();
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
struct Param<'a>(ValueRef<'a>);

fn out_of_range(
    what: impl std::fmt::Display,
    ty: &Type,
) -> Box<dyn std::error::Error + Sync + Send> {
    format!("{what} does not fit a {ty} parameter").into()
}

impl ToSql for Param<'_> {
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
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
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
