//! The audit entries of reads, appended in batches: each request still waits for its own
//! entry to be committed before its answer leaves, but the entries of requests that arrive
//! while a batch is being written go together into the next transaction (group commit).
//! Under load a cached answer then costs a share of one commit, not one commit each: on
//! PostgreSQL, whose commits are a network round trip and a WAL flush, that is most of the
//! difference between a few hundred and a few thousand answers a second.
//!
//! One writer task per process, started on first use. The chain is unchanged: the batch's
//! rows are appended in order, one transaction, like any other write.

use super::error::AppError;
use super::state::Db;
use crate::storage::AuditEntry;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// At most this many entries per transaction.
const BATCH: usize = 512;

type Reply = oneshot::Sender<Result<i64, String>>;

/// Appends audit entries through one background writer.
#[derive(Default)]
pub struct AuditWriter {
    queue: OnceLock<mpsc::UnboundedSender<(AuditEntry, Reply)>>,
}

impl AuditWriter {
    /// Appends `entry` and waits until it is committed; its id.
    pub async fn append(&self, db: &Arc<Db>, entry: AuditEntry) -> Result<i64, AppError> {
        let queue = self.queue.get_or_init(|| start(Arc::clone(db)));
        let (reply, committed) = oneshot::channel();
        queue
            .send((entry, reply))
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the audit writer has stopped")))?;
        committed
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the audit writer has stopped")))?
            .map_err(|e| AppError::Internal(anyhow::anyhow!("appending to the audit log: {e}")))
    }
}

fn start(db: Arc<Db>) -> mpsc::UnboundedSender<(AuditEntry, Reply)> {
    let (queue, mut pending) = mpsc::unbounded_channel::<(AuditEntry, Reply)>();
    tokio::spawn(async move {
        while let Some(first) = pending.recv().await {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match pending.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let (entries, replies): (Vec<AuditEntry>, Vec<Reply>) = batch.into_iter().unzip();
            match db.run(move |s| s.append_audits(&entries)).await {
                Ok(ids) => {
                    for (reply, id) in replies.into_iter().zip(ids) {
                        let _ = reply.send(Ok(id));
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(message.clone()));
                    }
                }
            }
        }
    });
    queue
}
