//! Plans over HTTP: create (the optimiser of `firefly plan`, on a blocking thread), read,
//! publish, re-plan (`firefly replan`'s code), and the rota CSV and per-unit calendars of
//! `firefly plan --csv --ics-dir`; the officer's own itinerary (`/api/v1/me/assignments`),
//! check-ins, and a plan's planned against achieved visits (`.../dosage`).
//!
//! Who may see which plan is decided in one place, [`may_read`]: planners and admins any
//! plan, officers published plans only, and of those only their own unit's calendar. The
//! officer's unit comes from [`OfficerUnit`] (their user's `unit`), never from the request.
//! Every read is audited before the data leaves; every write is one transaction with its
//! audit entry.

use super::analysis::{ZoneQuery, guard, zone_request};
use super::auth::{Authenticated, Require};
use super::error::{AppError, AppJson, AppPath, AppQuery};
use super::policy::{CheckIns, OwnItinerary, PlanDosage, PlansRead, PlansWrite, Policy};
use super::state::AppState;
use crate::app::Failure;
use crate::app::plan::{self, Loaded, PlanSettings, Replanning};
use crate::storage::{
    AssignmentRow, AuditEntry, NewCheckin, PlanDocument, PlanMeta, PlanStatus, utc_text,
};
use anyhow::anyhow;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use planner::rota::{Assignment, Plan};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::marker::PhantomData;

mod bodies;
mod checkins;
mod dosage;
mod itinerary;
mod read;
mod write;

pub use bodies::*;
pub use checkins::*;
pub use dosage::*;
pub use itinerary::*;
pub use read::*;
pub use write::*;

/// Most units one plan may have over HTTP.
pub const MAX_UNITS: usize = 200;
/// Slot lengths accepted over HTTP, minutes.
pub const SLOT_RANGE: std::ops::RangeInclusive<u32> = 5..=60;
pub use crate::app::plan::checkin::CHECKIN_TOLERANCE_M;
/// How far ahead of the server's clock a check-in's `at` may be (clock skew), seconds.
pub const CHECKIN_MAX_AHEAD_S: i64 = 300;

// ---------------------------------------------------------------------------------------
// Who may see which plan.

/// The user's unit (`users.unit`), or 403: officers see plans through their unit.
fn own_unit(who: &Authenticated) -> Result<String, AppError> {
    who.user
        .unit
        .clone()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            AppError::Forbidden(format!(
                "user {} has no unit, so has no itinerary; officers are created with one (`firefly users add NAME --role officer --unit CALLSIGN`)",
                who.user.name
            ))
        })
}

/// The officer rule, in one place. Users who may make plans ([`PlansWrite`]) read any plan
/// and any unit's calendar; anyone else (officers) reads published plans only, and of
/// `callsign`'s data only their own unit's.
pub fn may_read(
    who: &Authenticated,
    plan: &PlanMeta,
    callsign: Option<&str>,
) -> Result<(), AppError> {
    if PlansWrite::allows(who.user.role) {
        return Ok(());
    }
    if plan.status != PlanStatus::Published {
        return Err(AppError::Forbidden(format!(
            "plan {} is a draft: the {} role sees published plans only",
            plan.id, who.user.role
        )));
    }
    if let Some(callsign) = callsign {
        let unit = own_unit(who)?;
        if !unit.eq_ignore_ascii_case(callsign) {
            return Err(AppError::Forbidden(format!(
                "the {} role sees its own unit's calendar only ({unit}), not {callsign}'s",
                who.user.role
            )));
        }
    }
    Ok(())
}

/// The unit whose part of a plan `who` may see: `None` (every unit) for users who may make
/// plans, their own unit for everyone else (officers), or 403 without a unit. The one rule
/// of `GET /plans/{id}`, `rota.csv` and the calendars: an officer never sees another unit's
/// patrols, breaks or start point.
pub fn visible_unit(who: &Authenticated) -> Result<Option<String>, AppError> {
    if PlansWrite::allows(who.user.role) {
        return Ok(None);
    }
    own_unit(who).map(Some)
}

/// Keeps only `unit`'s entries in a plan JSON: `callsigns` and `assignments` (by index),
/// `units` and `problem.units` (by callsign); zones lose their `risk`. Zones' places,
/// slots and the plan's scores stay.
pub fn only_unit(doc: &mut Value, unit: &str) {
    let mine = |c: Option<&str>| c.is_some_and(|c| c.eq_ignore_ascii_case(unit));
    let keep: Vec<bool> = doc["callsigns"]
        .as_array()
        .map(|a| a.iter().map(|c| mine(c.as_str())).collect())
        .unwrap_or_default();
    for key in ["callsigns", "assignments"] {
        if let Some(list) = doc.get_mut(key).and_then(Value::as_array_mut) {
            let mut i = 0;
            list.retain(|_| {
                i += 1;
                keep.get(i - 1).copied().unwrap_or(false)
            });
        }
    }
    let by_callsign = |list: Option<&mut Value>| {
        if let Some(list) = list.and_then(Value::as_array_mut) {
            list.retain(|u| mine(u.get("callsign").and_then(Value::as_str)));
        }
    };
    by_callsign(doc.get_mut("units"));
    by_callsign(doc.get_mut("problem").and_then(|p| p.get_mut("units")));
    // Zone risk comes from the planner's own zone parameters (any cell, window, method):
    // not for roles that see aggregates only.
    let no_risk = |list: Option<&mut Value>| {
        for z in list.and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(z) = z.as_object_mut() {
                z.remove("risk");
            }
        }
    };
    no_risk(doc.get_mut("zones"));
    no_risk(doc.get_mut("problem").and_then(|p| p.get_mut("zones")));
}

/// Keeps only `unit`'s rows of a rota CSV (its first column is the callsign).
pub fn only_unit_rows(csv_text: &str, unit: &str) -> Result<String, AppError> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::Internal(e.into());
    w.write_record(r.headers().map_err(fail)?).map_err(fail)?;
    for row in r.records() {
        let row = row.map_err(fail)?;
        if row.get(0).is_some_and(|c| c.eq_ignore_ascii_case(unit)) {
            w.write_record(&row).map_err(fail)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow!("{e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.into()))
}

/// A request by a user whom policy `P` allows and who has a unit: 401 without a session,
/// 403 for another role or a user without a unit.
#[derive(Debug, Clone)]
pub struct OfficerUnit<P: Policy> {
    pub auth: Authenticated,
    /// The user's unit callsign.
    pub unit: String,
    policy: PhantomData<P>,
}

impl<P: Policy> FromRequestParts<AppState> for OfficerUnit<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let who = Require::<P>::from_request_parts(parts, state).await?;
        let unit = own_unit(&who.auth)?;
        Ok(OfficerUnit {
            auth: who.auth,
            unit,
            policy: PhantomData,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// Names the body's fields in messages written for the CLI's flags.
fn api_fields(e: Failure) -> AppError {
    match e {
        Failure::Invalid(e) => {
            let mut text = format!("{e:#}");
            for (flag, field) in [
                ("--method", "method"),
                ("--window", "window"),
                ("--from", "from"),
                ("--to", "to"),
                ("--category", "category"),
                ("--bbox", "bbox"),
                ("--night", "night"),
                ("--drop", "drop"),
                ("--join", "join"),
                ("--at", "at"),
            ] {
                text = text.replace(flag, field);
            }
            AppError::Unprocessable(text)
        }
        other => other.into(),
    }
}

fn check_number(
    name: &str,
    v: Option<f64>,
    range: std::ops::RangeInclusive<f64>,
) -> Result<(), AppError> {
    match v {
        Some(v) if !range.contains(&v) => Err(AppError::Unprocessable(format!(
            "{name} must be between {} and {}",
            range.start(),
            range.end()
        ))),
        _ => Ok(()),
    }
}

/// Reads roster rows given as JSON objects, with the roster CSV's validation; errors name
/// them `{label}[i]`.
fn roster_from_rows(rows: &[RosterRow], label: &str) -> Result<Vec<planner::Unit>, AppError> {
    let write = || -> Result<Vec<u8>, anyhow::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "callsign",
            "size",
            "shift_start",
            "shift_end",
            "start_lon",
            "start_lat",
            "start_name",
            "break_minutes",
            "skills",
        ])?;
        for r in rows {
            let skills = match &r.skills {
                Some(Skills::List(list)) => list.join(";"),
                Some(Skills::Text(text)) => text.clone(),
                None => String::new(),
            };
            w.write_record([
                r.callsign.clone(),
                r.size.to_string(),
                r.shift_start.clone(),
                r.shift_end.clone(),
                r.start_lon.to_string(),
                r.start_lat.to_string(),
                r.start_name.clone().unwrap_or_default(),
                r.break_minutes.map(|m| m.to_string()).unwrap_or_default(),
                skills,
            ])?;
        }
        w.into_inner().map_err(|e| anyhow!("{e}"))
    };
    let bytes = write().map_err(AppError::Internal)?;
    let roster = planner::import::units::read_units(label, &bytes[..]);
    if !roster.errors.is_empty() {
        return Err(AppError::Unprocessable(
            roster
                .errors
                .iter()
                .map(|e| {
                    format!(
                        "{label}[{}]: {}: {}",
                        e.line.saturating_sub(2),
                        e.field,
                        e.reason
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    Ok(roster.records)
}

/// Reads a roster CSV given as text; errors name it `units_csv:LINE`.
fn roster_from_csv(text: &str) -> Result<Vec<planner::Unit>, AppError> {
    let roster = planner::import::units::read_units("units_csv", text.as_bytes());
    if !roster.errors.is_empty() {
        return Err(AppError::Unprocessable(
            roster
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    Ok(roster.records)
}

/// A plan and its problem as what is stored: the document, the night's span, the scores and
/// one assignment row per unit per slot.
fn stored(night: String, plan: &Plan, document: Value) -> Result<PlanDocument, AppError> {
    let (Some(first), Some(last)) = (plan.slots.first(), plan.slots.last()) else {
        return Err(AppError::Unprocessable("the plan has no slots".into()));
    };
    let zone = |z: usize| plan.zone_ids.get(z).cloned();
    let mut assignments = Vec::with_capacity(plan.callsigns.len() * plan.slots.len());
    for (callsign, row) in plan.callsigns.iter().zip(&plan.assignments) {
        for (i, (a, slot)) in row.iter().zip(&plan.slots).enumerate() {
            let (kind, zone_id, from_zone, to_zone) = match *a {
                Assignment::Zone(z) => ("zone", zone(z), None, None),
                Assignment::Travel { from, to } => {
                    ("travel", None, from.and_then(zone), to.and_then(zone))
                }
                Assignment::Break => ("break", None, None, None),
                Assignment::Off => ("off", None, None, None),
            };
            assignments.push(AssignmentRow {
                callsign: callsign.clone(),
                slot: i as i64,
                start_utc: utc_text(slot.start_utc),
                end_utc: utc_text(slot.end_utc),
                kind,
                zone_id,
                from_zone,
                to_zone,
            });
        }
    }
    Ok(PlanDocument {
        night,
        start_utc: utc_text(first.start_utc),
        end_utc: utc_text(last.end_utc),
        objective: plan.objective,
        bound: plan.bound,
        gap: plan.gap,
        document,
        assignments,
    })
}

async fn load(state: &AppState, id: i64) -> Result<(PlanMeta, Value), AppError> {
    let found = state.db.run(move |s| s.plan(id)).await?;
    let (meta, text) = found.ok_or_else(|| AppError::NotFound(format!("there is no plan {id}")))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| AppError::Internal(e.into()))?;
    Ok((meta, doc))
}

/// Appends an audit entry and waits for its commit.
async fn audited(state: &AppState, entry: AuditEntry) -> Result<(), AppError> {
    state.audit.append(&state.db, entry).await?;
    Ok(())
}

/// Runs `f` on a blocking thread, at most one optimisation per core at once.
async fn compute<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
{
    state.compute_cancellable(f).await?
}

fn attachment(content_type: &'static str, filename: &str, body: String) -> Response {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
        ],
        body,
    )
        .into_response()
}

fn parse_instant(name: &str, text: &str) -> Result<Timestamp, AppError> {
    text.parse::<Timestamp>().map_err(|e| {
        AppError::Unprocessable(format!(
            "{name}: {text:?} is not an RFC 3339 instant such as 2024-03-29T21:15:00Z ({e})"
        ))
    })
}
