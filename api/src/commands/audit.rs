//! `firefly audit verify|head`: checks the audit log's hash chain, and prints its head for
//! shipping to an append-only store elsewhere (README, "Operations").

use crate::app::Failure;
use crate::config::Config;
use crate::storage::{ChainCheck, Store};
use anyhow::anyhow;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 1 naming the first changed or missing row.
    Verify(VerifyArgs),
    /// Print the latest row's id and hash (`ID HASH`), to ship elsewhere.
    Head,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// A head shipped earlier (`ID HASH`, as `firefly audit head` printed it): the row must
    /// still be there with that hash (catches rows cut off the end of the log).
    #[arg(long, num_args = 2, value_names = ["ID", "HASH"])]
    pub head: Option<Vec<String>>,
}

/// Logs a CLI read of incident data (`hotspots`, `venues`, `plan`, ...) before the command
/// runs, so nothing is printed or written that is not in the log: the OS account, the
/// command and its arguments, and the purpose if one was given.
pub fn log_cli_read(config: &Config, command: &str) -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut store = Store::open(&config.db)?;
    store.append_audit(&crate::app::operator::cli_entry(
        "incidents.read",
        &format!("cli:{command}"),
        None,
        serde_json::json!({ "command": command, "args": args }),
    ))?;
    Ok(())
}

pub fn run(config: &Config, cmd: AuditCommand) -> Result<(), Failure> {
    let mut store = Store::open(&config.db)?;
    match cmd {
        AuditCommand::Head => {
            match store.audit_head()? {
                Some((id, hash)) => println!("{id} {hash}"),
                None => println!("0 -"),
            }
            Ok(())
        }
        AuditCommand::Verify(args) => verify(&mut store, args),
    }
}

fn verify(store: &mut Store, args: VerifyArgs) -> Result<(), Failure> {
    let known_head = match args.head.as_deref() {
        Some([id, hash]) => Some((
            id.parse::<i64>()
                .map_err(|_| Failure::Invalid(anyhow!("--head: {id:?} is not a row id")))?,
            hash.to_ascii_lowercase(),
        )),
        _ => None,
    };
    match store.verify_audit()? {
        ChainCheck::Broken { id, reason } => Err(Failure::Other(anyhow!(
            "audit chain broken at row {id}: {reason}"
        ))),
        ChainCheck::Intact { rows, head, anchor } => {
            if let Some((id, hash)) = known_head {
                match store.audit_hash(id)? {
                    Some(stored) if stored == hash => {}
                    Some(_) => {
                        return Err(Failure::Other(anyhow!(
                            "audit chain broken at row {id}: its hash is not the shipped head's"
                        )));
                    }
                    None if anchor.as_ref().is_some_and(|(a, _)| id <= *a) => {
                        // Deleted by retention since it was shipped: nothing to compare.
                    }
                    None => {
                        return Err(Failure::Other(anyhow!(
                            "audit chain broken at row {id}: the shipped head is missing"
                        )));
                    }
                }
            }
            let from = match anchor {
                Some((id, _)) => format!(" (retained from row {}, after retention)", id + 1),
                None => String::new(),
            };
            match head {
                Some((id, hash)) => {
                    println!("{rows} rows, chain intact{from}, head {id} {hash}")
                }
                None => println!("0 rows, chain intact{from}"),
            }
            Ok(())
        }
    }
}
