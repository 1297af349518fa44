//! `firefly retention [--before DATE] [--dry-run]`: deletes check-ins, sessions and audit
//! rows older than the `[retention]` policy allows (and, with `--before`, older than that
//! local date too), in one audited transaction. The only way past the append-only triggers.

use crate::app::Failure;
use crate::app::operator::cli_entry;
use crate::config::{Config, RetentionPolicy};
use crate::storage::{RetentionCutoffs, Store};
use anyhow::{Context, anyhow};
use clap::Args;
use jiff::{Span, Timestamp};

#[derive(Args)]
pub struct RetentionArgs {
    /// Delete nothing newer than the start of this local date (YYYY-MM-DD; or an RFC 3339
    /// instant), within what the policy allows.
    #[arg(long)]
    pub before: Option<String>,
    /// Count what would be deleted; delete nothing (the preview is logged).
    #[arg(long)]
    pub dry_run: bool,
}

/// The cut-offs: for each kind with a policy, N months before `now`, or the start of
/// `before` if that is earlier. Kinds without a policy are kept.
pub fn cutoffs(
    policy: &RetentionPolicy,
    before: Option<Timestamp>,
    now: Timestamp,
    tz: &jiff::tz::TimeZone,
) -> anyhow::Result<RetentionCutoffs> {
    let months_ago = |m: Option<u32>| -> anyhow::Result<Option<Timestamp>> {
        let Some(m) = m else { return Ok(None) };
        let t = now
            .to_zoned(tz.clone())
            .checked_sub(Span::new().months(i64::from(m)))
            .context("retention months out of range")?
            .timestamp();
        Ok(Some(match before {
            Some(b) if b < t => b,
            _ => t,
        }))
    };
    Ok(RetentionCutoffs {
        checkins: months_ago(policy.checkins_months)?,
        sessions: months_ago(policy.sessions_months)?,
        audit: months_ago(policy.audit_months)?,
    })
}

pub fn run(config: &Config, args: RetentionArgs) -> Result<(), Failure> {
    let policy = config.retention;
    if policy == RetentionPolicy::default() {
        return Err(Failure::Invalid(anyhow!(
            "no [retention] policy in the settings file: nothing may be deleted \
             (set checkins_months, sessions_months, audit_months)"
        )));
    }
    let before = args
        .before
        .as_deref()
        .map(|d| -> anyhow::Result<Timestamp> {
            if let Ok(t) = d.parse::<Timestamp>() {
                return Ok(t);
            }
            let date: jiff::civil::Date = d.parse().map_err(|_| {
                anyhow!("--before {d:?}: expected YYYY-MM-DD or an RFC 3339 instant")
            })?;
            Ok(date.to_zoned(config.tz.clone())?.timestamp())
        })
        .transpose()
        .map_err(Failure::Invalid)?;
    let cut = cutoffs(&policy, before, Timestamp::now(), &config.tz).map_err(Failure::Invalid)?;
    let mut store = Store::open(&config.db)?;
    let entry = cli_entry(
        "retention.run",
        "retention",
        None,
        serde_json::json!({ "before": args.before, "policy": {
            "checkins_months": policy.checkins_months,
            "sessions_months": policy.sessions_months,
            "audit_months": policy.audit_months,
        }}),
    );
    let report = store.apply_retention(&cut, args.dry_run, &entry)?;
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let when = |t: Option<Timestamp>| t.map_or("kept".to_owned(), |t| format!("before {t}"));
    println!(
        "{verb}: {} check-ins ({}), {} sessions ({}), {} audit rows ({})",
        report.checkins,
        when(cut.checkins),
        report.sessions,
        when(cut.sessions),
        report.audit,
        when(cut.audit)
    );
    if let (Some(id), Some(hash), false) = (
        report.audit_anchor_id,
        &report.audit_anchor_hash,
        args.dry_run,
    ) {
        println!("the audit chain now starts after row {id} (anchor {hash})");
    }
    Ok(())
}
