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

use super::analysis::{ZoneQuery, guard, zone_args};
use super::auth::{Authenticated, Require};
use super::error::{AppError, AppJson, AppPath, AppQuery};
use super::policy::{CheckIns, OwnItinerary, PlanDosage, PlansRead, PlansWrite, Policy};
use super::state::AppState;
use crate::commands::Failure;
use crate::commands::plan::{self, Loaded, PlanSettings, Replanning};
use crate::commands::zones;
use crate::storage::{
    AssignmentRow, AuditEntry, NewCheckin, PlanDocument, PlanMeta, PlanStatus, utc_text,
};
use anyhow::anyhow;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use geo::{Contains, Coord, Distance, Euclidean, LineString, MultiPolygon, Point, Polygon};
use jiff::Timestamp;
use planner::rota::{Assignment, Plan};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::marker::PhantomData;

/// Most units one plan may have over HTTP.
pub const MAX_UNITS: usize = 200;
/// Slot lengths accepted over HTTP, minutes.
pub const SLOT_RANGE: std::ops::RangeInclusive<u32> = 5..=60;
/// A check-in this close to a zone (metres) but outside it still counts for the zone: GPS
/// on a phone in a street is rarely better than this.
pub const CHECKIN_TOLERANCE_M: f64 = 25.0;
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
// Bodies.

/// A roster row: the roster CSV's columns (`data/demo/units.csv`).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterRow {
    /// Letters, digits, `-`, `_` and `/`, at most 32 characters.
    #[schema(example = "LN-FF1")]
    pub callsign: String,
    /// 1 (one officer) or 2 (a pair).
    pub size: u8,
    /// Local `HH:MM`.
    #[schema(example = "19:00")]
    pub shift_start: String,
    /// Local `HH:MM`; before the start runs past midnight.
    #[schema(example = "03:00")]
    pub shift_end: String,
    /// WGS84 degrees of the start point (a station).
    pub start_lon: f64,
    pub start_lat: f64,
    pub start_name: Option<String>,
    /// Default 45.
    pub break_minutes: Option<u32>,
    /// A list, or text separated by `;`.
    #[schema(value_type = Option<Vec<String>>)]
    pub skills: Option<Skills>,
    /// Ignored, as in the CSV.
    pub notes: Option<String>,
}

/// Skills as a list or as the CSV's `;`-separated text.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Skills {
    List(Vec<String>),
    Text(String),
}

/// `POST /api/v1/plans` body: the night, the roster (`units` or `units_csv`), `firefly
/// plan`'s options and the zone options of `GET /api/v1/zones`, by the same names.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// The local date the night starts on, `YYYY-MM-DD`.
    #[schema(example = "2024-03-29")]
    pub night: String,
    /// The roster as objects (give this or `units_csv`).
    pub units: Option<Vec<RosterRow>>,
    /// The roster as CSV text with a header row (give this or `units`).
    pub units_csv: Option<String>,
    /// Slot length in minutes (default 15; 5 to 60).
    pub slot: Option<u32>,
    /// Seed of the randomisation (default 0): the same seed gives the same plan.
    pub seed: Option<u64>,
    /// Value of a second unit in the same zone and slot (default 0.5; 0 to 1).
    pub second_unit_factor: Option<f64>,
    /// km/h (default 4.5; 1 to 10).
    pub walking_speed: Option<f64>,
    /// Street over straight-line distance (default 1.3; 1 to 3).
    pub detour: Option<f64>,
    /// Scoring method whose hot cells form the zones (default `kde`).
    pub method: Option<String>,
    pub cell: Option<f64>,
    pub bandwidth: Option<f64>,
    pub distance: Option<f64>,
    pub half_life: Option<f64>,
    /// Share of the study area's cells that count as hot, percent (default 2).
    pub hot_percent: Option<f64>,
    /// Walkable size, metres (default 300).
    pub max_radius: Option<f64>,
    /// At most this many zones (default 30).
    pub max_zones: Option<usize>,
    /// Incidents scored: `weekend-nights` (default), `all`, or `DAYS@HH:MM-HH:MM[;...]`.
    pub window: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub category: Option<String>,
    /// Study area `W,S,E,N`; default: the configured force boundary.
    pub bbox: Option<String>,
}

/// A stored plan's facts.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanInfo {
    pub id: i64,
    pub night: String,
    /// `draft` or `published`.
    pub status: String,
    /// 1 when created, one more per re-plan.
    pub version: i64,
    pub created_by: String,
    pub created_at: String,
    pub updated_by: String,
    pub updated_at: String,
    pub published_by: Option<String>,
    pub published_at: Option<String>,
    /// The night's first slot start and last slot end, UTC.
    pub start_utc: String,
    pub end_utc: String,
    pub objective: f64,
    pub bound: f64,
    pub gap: f64,
}

impl From<&PlanMeta> for PlanInfo {
    fn from(m: &PlanMeta) -> PlanInfo {
        PlanInfo {
            id: m.id,
            night: m.night.clone(),
            status: m.status.as_str().into(),
            version: m.version,
            created_by: m.created_by.clone(),
            created_at: m.created_at.clone(),
            updated_by: m.updated_by.clone(),
            updated_at: m.updated_at.clone(),
            published_by: m.published_by.clone(),
            published_at: m.published_at.clone(),
            start_utc: m.start_utc.clone(),
            end_utc: m.end_utc.clone(),
            objective: m.objective,
            bound: m.bound,
            gap: m.gap,
        }
    }
}

/// A new plan.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanCreated {
    pub id: i64,
    /// Always `draft`.
    pub status: String,
    pub version: i64,
    pub night: String,
    /// Risk covered (DESIGN.md's objective).
    pub objective: f64,
    /// An upper bound on the best objective.
    pub bound: f64,
    /// `(bound - objective) / bound`.
    pub gap: f64,
    pub units: usize,
    pub zones: usize,
    pub slots: usize,
    /// About the data the zones were formed from (e.g. stray incidents).
    pub warnings: Vec<String>,
}

/// From when a re-plan applies: local `HH:MM` on the night, or a slot number.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ReplanAt {
    Slot(u64),
    Time(String),
}

/// `POST /api/v1/plans/{id}/replan` body: `drop` or `join`, and `at`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplanRequest {
    /// The callsign of a unit that drops out.
    pub drop: Option<String>,
    /// A unit that joins.
    pub join: Option<RosterRow>,
    #[schema(value_type = String, example = "23:00")]
    pub at: ReplanAt,
}

/// One slot a re-plan changed.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlotChangeOut {
    pub callsign: String,
    pub slot: usize,
    /// The assignment before, as the plan JSON writes it (`{"zone": id}`, ...).
    #[schema(value_type = Object)]
    pub before: Value,
    #[schema(value_type = Object)]
    pub after: Value,
}

/// A re-planned plan: its new version and every changed slot.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Replanned {
    pub id: i64,
    pub version: i64,
    pub status: String,
    /// Slots before this one were kept as they were.
    pub from_slot: usize,
    pub objective: f64,
    pub bound: f64,
    pub gap: f64,
    pub changes: Vec<SlotChangeOut>,
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
    state.db.run(move |s| s.append_audit(&entry)).await?;
    Ok(())
}

/// Runs `f` on a blocking thread, at most one optimisation per core at once.
async fn compute<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
{
    let permit = state
        .compute
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
    .map_err(|e| AppError::Internal(anyhow!("planning task failed: {e}")))?
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

// ---------------------------------------------------------------------------------------
// Plans.

/// `GET /api/v1/plans` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PlanListQuery {
    /// `draft` or `published`; officers see published plans only.
    pub status: Option<String>,
    /// First night, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last night, `YYYY-MM-DD`.
    pub to: Option<String>,
}

/// A plan in the list: its stored facts and its size.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanSummary {
    #[serde(flatten)]
    pub info: PlanInfo,
    /// Units in the current version.
    pub units: i64,
    /// Patrol zones in the current version.
    pub zones: i64,
}

/// `GET /api/v1/plans` body.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanList {
    /// Latest night first.
    pub plans: Vec<PlanSummary>,
}

/// The stored plans, latest night first: planners and admins see drafts too, officers the
/// published plans only. Audited.
#[utoipa::path(
    get,
    path = "/api/v1/plans",
    tag = "plans",
    params(PlanListQuery),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The plans", body = PlanList),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A liaison, or an officer asking for drafts", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown status or a malformed date", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    who: Require<PlansRead>,
    AppQuery(q): AppQuery<PlanListQuery>,
) -> Result<AppJson<PlanList>, AppError> {
    let mut status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<PlanStatus>().map_err(|_| {
                AppError::Unprocessable(format!("status {s:?} is not draft or published"))
            })
        })
        .transpose()?;
    if !PlansWrite::allows(who.user.role) {
        if status == Some(PlanStatus::Draft) {
            return Err(AppError::Forbidden(format!(
                "the {} role sees published plans only",
                who.user.role
            )));
        }
        status = Some(PlanStatus::Published);
    }
    let date = |field: &str, text: &Option<String>| {
        text.as_deref()
            .map(|t| {
                t.parse::<jiff::civil::Date>()
                    .map(|d| d.to_string())
                    .map_err(|_| {
                        AppError::Unprocessable(format!("{field} {t:?} is not YYYY-MM-DD"))
                    })
            })
            .transpose()
    };
    let (from, to) = (date("from", &q.from)?, date("to", &q.to)?);
    let entry = who.audit(
        "plans.list",
        "plans",
        json!({"status": status.map(PlanStatus::as_str), "from": from, "to": to}),
    );
    let rows = state
        .db
        .run(move |s| {
            let rows = s.list_plans(status, from.as_deref(), to.as_deref())?;
            s.append_audit(&entry)?;
            Ok(rows)
        })
        .await?;
    let plans = rows
        .iter()
        .map(|(meta, units, zones)| PlanSummary {
            info: PlanInfo::from(meta),
            units: *units,
            zones: *zones,
        })
        .collect();
    Ok(AppJson(PlanList { plans }))
}

/// Builds the zones and optimises the night exactly like `firefly plan`, and stores the
/// plan as a draft. Audited.
#[utoipa::path(
    post,
    path = "/api/v1/plans",
    tag = "plans",
    request_body = PlanRequest,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Stored as a draft; `Location` names it", body = PlanCreated),
        (status = 400, description = "The body is not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, roster rows (each named), options, or no zones in the data", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    who: Require<PlansWrite>,
    AppJson(body): AppJson<PlanRequest>,
) -> Result<Response, AppError> {
    let night = crate::analysis::parse_date(&body.night, false)
        .map_err(|e| AppError::Unprocessable(format!("night: {e:#}")))?;
    let units = match (&body.units, &body.units_csv) {
        (Some(rows), None) => roster_from_rows(rows, "units")?,
        (None, Some(text)) => roster_from_csv(text)?,
        _ => {
            return Err(AppError::Unprocessable(
                "give the roster as either `units` (objects) or `units_csv` (CSV text), not both"
                    .into(),
            ));
        }
    };
    if units.is_empty() {
        return Err(AppError::Unprocessable("the roster lists no units".into()));
    }
    if units.len() > MAX_UNITS {
        return Err(AppError::Unprocessable(format!(
            "the roster lists {} units; the API plans at most {MAX_UNITS}",
            units.len()
        )));
    }
    let defaults = PlanSettings::default();
    let slot = body.slot.unwrap_or(defaults.slot);
    if !SLOT_RANGE.contains(&slot) {
        return Err(AppError::Unprocessable(format!(
            "slot must be {} to {} minutes",
            SLOT_RANGE.start(),
            SLOT_RANGE.end()
        )));
    }
    check_number("second_unit_factor", body.second_unit_factor, 0.0..=1.0)?;
    check_number("walking_speed", body.walking_speed, 1.0..=10.0)?;
    check_number("detour", body.detour, 1.0..=3.0)?;
    let settings = PlanSettings {
        slot,
        seed: body.seed.unwrap_or(defaults.seed),
        second_unit_factor: body
            .second_unit_factor
            .unwrap_or(defaults.second_unit_factor),
        walking_speed: body.walking_speed.unwrap_or(defaults.walking_speed),
        detour: body.detour.unwrap_or(defaults.detour),
    };
    let zone = zone_args(&ZoneQuery {
        method: body.method.clone(),
        cell: body.cell,
        bandwidth: body.bandwidth,
        distance: body.distance,
        half_life: body.half_life,
        hot_percent: body.hot_percent,
        max_radius: body.max_radius,
        max_zones: body.max_zones,
        window: body.window.clone(),
        from: body.from.clone(),
        to: body.to.clone(),
        category: body.category.clone(),
        bbox: body.bbox.clone(),
    })?;
    let (method, filters) = zone.parsed().map_err(api_fields)?;
    let (incidents, premises) = state
        .db
        .run(|s| Ok((s.incidents()?, s.premises()?)))
        .await?;
    let config = state.config.clone();
    let night_text = night.to_string();
    let seed = settings.seed;
    let (document, created, n_units) = compute(&state, move || {
        let mut warnings = Vec::new();
        let built = zones::build_from(
            &config,
            &incidents,
            premises,
            method,
            &filters,
            &zone,
            &mut guard(&mut warnings),
        )
        .map_err(api_fields)?;
        let planned = plan::make_from(&config, night, units, built, &settings, "units")
            .map_err(api_fields)?;
        plan::check(&planned.problem, &planned.plan)?;
        let doc = plan::plan_json(&planned)?;
        let created = PlanCreated {
            id: 0,
            status: PlanStatus::Draft.as_str().into(),
            version: 1,
            night: night_text.clone(),
            objective: planned.plan.objective,
            bound: planned.plan.bound,
            gap: planned.plan.gap,
            units: planned.plan.callsigns.len(),
            zones: planned.problem.zones().len(),
            slots: planned.plan.slots.len(),
            warnings,
        };
        Ok((
            stored(night_text, &planned.plan, doc)?,
            created,
            planned.plan.callsigns.len(),
        ))
    })
    .await?;
    let entry = who.audit(
        "plans.create",
        "plans",
        json!({
            "night": created.night, "units": n_units, "zones": created.zones,
            "slots": created.slots, "objective": created.objective, "seed": seed,
        }),
    );
    let by = who.user.name.clone();
    let id = state
        .db
        .run(move |s| s.create_plan(&document, &by, &entry))
        .await?;
    let created = PlanCreated { id, ..created };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/plans/{id}"))],
        AppJson(created),
    )
        .into_response())
}

/// The stored plan JSON (the contract's shape, as `firefly plan -o` writes it), with a
/// `stored` member: id, status, version, who made and published it. Officers: published
/// plans only. Audited.
#[utoipa::path(
    get,
    path = "/api/v1/plans/{id}",
    tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The plan JSON: `params`, `zones`, `units`, `slots`, `assignments`, `objective`, `bound`, `gap`, `problem`, and `stored` (PlanInfo)", body = Object),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A liaison, or an officer and the plan is a draft", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn one(
    State(state): State<AppState>,
    who: Require<PlansRead>,
    AppPath(id): AppPath<i64>,
) -> Result<Response, AppError> {
    let (meta, mut doc) = load(&state, id).await?;
    may_read(&who, &meta, None)?;
    audited(
        &state,
        who.audit(
            "plans.read",
            format!("plan:{id}"),
            json!({"version": meta.version, "status": meta.status.as_str()}),
        ),
    )
    .await?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "stored".into(),
            serde_json::to_value(PlanInfo::from(&meta))
                .map_err(|e| AppError::Internal(e.into()))?,
        );
    }
    Ok(AppJson(doc).into_response())
}

/// Publishes a draft: officers then see it (their own unit's itinerary). Audited.
#[utoipa::path(
    post,
    path = "/api/v1/plans/{id}/publish",
    tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Published", body = PlanInfo),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already published", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn publish(
    State(state): State<AppState>,
    who: Require<PlansWrite>,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<PlanInfo>, AppError> {
    let entry = who.audit("plans.publish", format!("plan:{id}"), json!({}));
    let by = who.user.name.clone();
    let meta = state
        .db
        .run(move |s| s.publish_plan(id, &by, &entry))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no plan {id}")))?;
    Ok(AppJson(PlanInfo::from(&meta)))
}

/// Re-plans from a time when a unit drops out or joins, with `firefly replan`'s code: the
/// past is kept, the other units change as little as they can. The plan is updated in
/// place (its version goes up by one; the replaced document is kept). Audited.
#[utoipa::path(
    post,
    path = "/api/v1/plans/{id}/replan",
    tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    request_body = ReplanRequest,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The new version and every changed slot", body = Replanned),
        (status = 400, description = "The body is not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Re-planned by someone else meanwhile", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not exactly one of `drop` and `join`, an unknown callsign, an invalid unit or time", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replan(
    State(state): State<AppState>,
    who: Require<PlansWrite>,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<ReplanRequest>,
) -> Result<AppJson<Replanned>, AppError> {
    let change = match (&body.drop, &body.join) {
        (Some(callsign), None) => Replanning::Drop(callsign.clone()),
        (None, Some(row)) => {
            let mut units = roster_from_rows(std::slice::from_ref(row), "join")?;
            Replanning::Join(units.remove(0))
        }
        _ => {
            return Err(AppError::Unprocessable(
                "give exactly one of `drop` (a callsign) and `join` (a roster row)".into(),
            ));
        }
    };
    let at = match &body.at {
        ReplanAt::Slot(n) => n.to_string(),
        ReplanAt::Time(t) => t.clone(),
    };
    let (meta, doc) = load(&state, id).await?;
    let config = state.config.clone();
    let night = meta.night.clone();
    let (document, out) = compute(&state, move || {
        let r = plan::replan_doc(&config, doc, change, &at).map_err(api_fields)?;
        plan::check(&r.problem, &r.plan)?;
        let changes = r
            .changes
            .iter()
            .map(|c| serde_json::from_value::<SlotChangeOut>(c.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AppError::Internal(e.into()))?;
        let out = Replanned {
            id: 0,
            version: 0,
            status: String::new(),
            from_slot: r.from_slot,
            objective: r.plan.objective,
            bound: r.plan.bound,
            gap: r.plan.gap,
            changes,
        };
        Ok((stored(night, &r.plan, r.doc)?, out))
    })
    .await?;
    let entry = who.audit(
        "plans.replan",
        format!("plan:{id}"),
        json!({
            "drop": body.drop, "join": body.join.as_ref().map(|j| &j.callsign), "at": body.at,
            "from_slot": out.from_slot, "changes": out.changes.len(), "version": meta.version + 1,
        }),
    );
    let by = who.user.name.clone();
    let version = meta.version;
    let new = state
        .db
        .run(move |s| s.replace_plan(id, version, &document, &by, &entry))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no plan {id}")))?;
    Ok(AppJson(Replanned {
        id,
        version: new.version,
        status: new.status.as_str().into(),
        ..out
    }))
}

/// The rota as CSV, one row per unit per slot (`firefly plan --csv`). Officers: published
/// plans only. Audited.
#[utoipa::path(
    get,
    path = "/api/v1/plans/{id}/rota.csv",
    tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "`callsign,slot,start_local,end_local,start_utc,activity,zone,zone_name,from`, one row per unit per slot", body = String, content_type = "text/csv"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A liaison, or an officer and the plan is a draft", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rota_csv(
    State(state): State<AppState>,
    who: Require<PlansRead>,
    AppPath(id): AppPath<i64>,
) -> Result<Response, AppError> {
    let (meta, doc) = load(&state, id).await?;
    may_read(&who, &meta, None)?;
    let loaded = Loaded::from_doc(&doc).map_err(AppError::Internal)?;
    let csv = plan::rota_csv(&loaded.rota()).map_err(AppError::Internal)?;
    audited(
        &state,
        who.audit(
            "plans.rota",
            format!("plan:{id}"),
            json!({"version": meta.version}),
        ),
    )
    .await?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        &format!("firefly-plan-{id}-{}.csv", meta.night),
        csv,
    ))
}

/// One unit's itinerary as iCalendar (`firefly plan --ics-dir`). Officers: their own unit,
/// published plans only. Audited.
#[utoipa::path(
    get,
    path = "/api/v1/plans/{id}/units/{callsign}/calendar.ics",
    tag = "plans",
    params(
        ("id" = i64, Path, description = "The plan's id"),
        ("callsign" = String, Path, description = "The unit's callsign (any case)"),
    ),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "RFC 5545: one event per run of the same activity, Europe/London times with their VTIMEZONE", body = String, content_type = "text/calendar"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A liaison, or an officer and another unit or a draft", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan, or no such unit in it", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn calendar(
    State(state): State<AppState>,
    who: Require<PlansRead>,
    AppPath((id, callsign)): AppPath<(i64, String)>,
) -> Result<Response, AppError> {
    let (meta, doc) = load(&state, id).await?;
    may_read(&who, &meta, Some(&callsign))?;
    let loaded = Loaded::from_doc(&doc).map_err(AppError::Internal)?;
    let unit = loaded
        .plan
        .callsigns
        .iter()
        .position(|c| c.eq_ignore_ascii_case(&callsign))
        .ok_or_else(|| AppError::NotFound(format!("plan {id} has no unit {callsign}")))?;
    let ics = crate::commands::ics::unit_calendar(&loaded.rota(), unit);
    let name = loaded.plan.callsigns[unit].clone();
    audited(
        &state,
        who.audit(
            "plans.calendar",
            format!("plan:{id}"),
            json!({"version": meta.version, "unit": name}),
        ),
    )
    .await?;
    Ok(attachment(
        "text/calendar; charset=utf-8",
        &format!("{name}.ics"),
        ics,
    ))
}

/// Planned against achieved visits for one zone.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ZoneDose {
    pub zone: String,
    pub name: String,
    /// Unit-slots planned in the zone (a visit is one slot: a Koper-curve stop).
    pub planned_visits: i64,
    pub planned_minutes: i64,
    /// Check-ins located in the zone.
    pub checkins: i64,
    /// Distinct (unit, slot) with a check-in in the zone.
    pub achieved_visits: i64,
    /// Of those, the ones where the unit was planned in this zone then.
    pub on_plan_visits: i64,
    /// `on_plan_visits / planned_visits`; absent when nothing was planned there.
    pub on_plan_share: Option<f64>,
}

/// A plan's dosage: per zone, planned visits against check-ins achieved.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dosage {
    pub plan_id: i64,
    /// The plan version whose assignments are counted as planned.
    pub version: i64,
    pub slot_minutes: i64,
    /// In the plan's zone order.
    pub zones: Vec<ZoneDose>,
    /// The plan's check-ins in none of its zones.
    pub checkins_outside_zones: i64,
}

/// Planned against achieved, per zone: the plan's visits against officers' check-ins.
/// Audited (check-ins are officers' locations).
#[utoipa::path(
    get,
    path = "/api/v1/plans/{id}/dosage",
    tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Per zone: planned visits, check-ins, achieved and on-plan visits", body = Dosage),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn dosage(
    State(state): State<AppState>,
    who: Require<PlanDosage>,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Dosage>, AppError> {
    let (meta, doc) = load(&state, id).await?;
    let (counts, outside) = state.db.run(move |s| s.plan_dosage(id)).await?;
    let slot_minutes = doc["params"]["slot_minutes"].as_i64().unwrap_or(15);
    let by_zone: HashMap<&str, _> = counts.iter().map(|c| (c.zone_id.as_str(), c)).collect();
    let zones = doc["zones"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|z| {
            let id = z["id"].as_str().unwrap_or_default();
            let c = by_zone.get(id);
            let planned = c.map_or(0, |c| c.planned_slots);
            let on_plan = c.map_or(0, |c| c.on_plan_slots);
            ZoneDose {
                zone: id.to_string(),
                name: z["name"].as_str().unwrap_or_default().to_string(),
                planned_visits: planned,
                planned_minutes: planned * slot_minutes,
                checkins: c.map_or(0, |c| c.checkins),
                achieved_visits: c.map_or(0, |c| c.achieved_slots),
                on_plan_visits: on_plan,
                on_plan_share: (planned > 0).then(|| on_plan as f64 / planned as f64),
            }
        })
        .collect();
    audited(
        &state,
        who.audit(
            "plans.dosage",
            format!("plan:{id}"),
            json!({"version": meta.version}),
        ),
    )
    .await?;
    Ok(AppJson(Dosage {
        plan_id: id,
        version: meta.version,
        slot_minutes,
        zones,
        checkins_outside_zones: outside,
    }))
}

// ---------------------------------------------------------------------------------------
// The officer's itinerary and check-ins.

/// `GET /api/v1/me/assignments` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AssignmentsQuery {
    /// The instant to answer for (RFC 3339; default: now).
    pub at: Option<String>,
}

/// A zone, briefly.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ZoneRef {
    pub id: String,
    pub name: String,
    /// WGS84 `[lon, lat]`.
    pub centroid: [f64; 2],
}

/// A run of slots with the same activity.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Leg {
    pub first_slot: i64,
    pub last_slot: i64,
    /// `zone`, `travel`, `break` or `off`.
    pub kind: String,
    /// The zone patrolled (`zone`).
    pub zone: Option<ZoneRef>,
    /// Walking from (`travel`); absent: the unit's station.
    pub from: Option<ZoneRef>,
    /// Walking to (`travel`); absent: the unit's station.
    pub to: Option<ZoneRef>,
    pub start_utc: String,
    pub end_utc: String,
    /// In the force's zone, RFC 3339 with the offset.
    pub start_local: String,
    pub end_local: String,
}

/// The plan an itinerary comes from.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanRef {
    pub id: i64,
    pub night: String,
    pub version: i64,
    pub start_utc: String,
    pub end_utc: String,
}

/// The officer's unit's itinerary.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Itinerary {
    pub unit: String,
    /// The instant answered for (UTC).
    pub at: String,
    /// The published plan covering `at` for the unit, else the next one; absent if none.
    pub plan: Option<PlanRef>,
    /// Where the unit starts and ends: `{name, lon, lat}`.
    #[schema(value_type = Option<Object>)]
    pub station: Option<Value>,
    /// The leg at `at` (may be `off`).
    pub now: Option<Leg>,
    /// The next leg that is not `off` after `now`.
    pub next: Option<Leg>,
    /// Every leg of the night that is not `off`.
    pub itinerary: Vec<Leg>,
}

fn zone_refs(doc: &Value) -> HashMap<String, ZoneRef> {
    doc["zones"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|z| {
            let id = z["id"].as_str()?.to_string();
            let c = &z["centroid"];
            Some((
                id.clone(),
                ZoneRef {
                    id,
                    name: z["name"].as_str().unwrap_or_default().to_string(),
                    centroid: [
                        c[0].as_f64().unwrap_or(f64::NAN),
                        c[1].as_f64().unwrap_or(f64::NAN),
                    ],
                },
            ))
        })
        .collect()
}

/// The unit's assignments as legs (runs of the same activity).
fn legs(
    rows: &[AssignmentRow],
    zones: &HashMap<String, ZoneRef>,
    tz: &jiff::tz::TimeZone,
) -> Vec<Leg> {
    let local = |t: &str| -> String {
        t.parse::<Timestamp>()
            .map(|t| {
                t.to_zoned(tz.clone())
                    .strftime("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let zone = |id: &Option<String>| id.as_ref().and_then(|id| zones.get(id)).cloned();
    let key = |r: &AssignmentRow| {
        (
            r.kind,
            r.zone_id.clone(),
            r.from_zone.clone(),
            r.to_zone.clone(),
        )
    };
    let mut out: Vec<Leg> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let mut j = i + 1;
        while j < rows.len() && key(&rows[j]) == key(&rows[i]) {
            j += 1;
        }
        let (first, last) = (&rows[i], &rows[j - 1]);
        out.push(Leg {
            first_slot: first.slot,
            last_slot: last.slot,
            kind: first.kind.to_string(),
            zone: zone(&first.zone_id),
            from: zone(&first.from_zone),
            to: zone(&first.to_zone),
            start_utc: first.start_utc.clone(),
            end_utc: last.end_utc.clone(),
            start_local: local(&first.start_utc),
            end_local: local(&last.end_utc),
        });
        i = j;
    }
    out
}

/// The time zone a plan document's local times are in.
fn plan_tz(doc: &Value, fallback: &jiff::tz::TimeZone) -> jiff::tz::TimeZone {
    doc["tz"]
        .as_str()
        .and_then(|name| jiff::tz::TimeZone::get(name).ok())
        .unwrap_or_else(|| fallback.clone())
}

/// The officer's own itinerary: the published plan covering now (or `at`) for their unit,
/// else the next one; where they are now, where next, and the whole night's legs, in local
/// and UTC times, with zone names and centres. Officers only (planners and admins read any
/// unit's itinerary through the plan, its rota CSV and calendars). Audited.
#[utoipa::path(
    get,
    path = "/api/v1/me/assignments",
    tag = "plans",
    params(AssignmentsQuery),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The itinerary; `plan` is absent when no published plan covers the time or follows it", body = Itinerary),
        (status = 400, description = "Unknown query parameter", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an officer, or an officer without a unit", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`at` is not an RFC 3339 instant", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_assignments(
    State(state): State<AppState>,
    who: OfficerUnit<OwnItinerary>,
    AppQuery(q): AppQuery<AssignmentsQuery>,
) -> Result<AppJson<Itinerary>, AppError> {
    let at = match &q.at {
        Some(t) => parse_instant("at", t)?,
        None => Timestamp::now(),
    };
    let at_text = utc_text(at);
    let unit = who.unit.clone();
    let (lookup_unit, lookup_at) = (unit.clone(), at_text.clone());
    let found = state
        .db
        .run(move |s| {
            let Some((meta, text)) = s.published_plan_for_unit(&lookup_unit, &lookup_at)? else {
                return Ok(None);
            };
            let rows = s.unit_assignments(meta.id, &lookup_unit)?;
            Ok(Some((meta, text, rows)))
        })
        .await?;
    let mut out = Itinerary {
        unit: unit.clone(),
        at: at_text.clone(),
        plan: None,
        station: None,
        now: None,
        next: None,
        itinerary: Vec::new(),
    };
    if let Some((meta, text, rows)) = found {
        let doc: Value = serde_json::from_str(&text).map_err(|e| AppError::Internal(e.into()))?;
        let all = legs(&rows, &zone_refs(&doc), &plan_tz(&doc, &state.config.tz));
        let now = all
            .iter()
            .position(|l| l.start_utc <= at_text && at_text < l.end_utc);
        let after = now.map_or(0, |i| i + 1);
        out.now = now.map(|i| all[i].clone());
        out.next = all[after..]
            .iter()
            .find(|l| l.kind != "off" && l.start_utc >= at_text)
            .cloned();
        out.station = doc["units"]
            .as_array()
            .and_then(|units| {
                units.iter().find(|u| {
                    u["callsign"]
                        .as_str()
                        .is_some_and(|c| c.eq_ignore_ascii_case(&unit))
                })
            })
            .map(|u| u["start_point"].clone());
        out.itinerary = all.into_iter().filter(|l| l.kind != "off").collect();
        out.plan = Some(PlanRef {
            id: meta.id,
            night: meta.night.clone(),
            version: meta.version,
            start_utc: meta.start_utc.clone(),
            end_utc: meta.end_utc.clone(),
        });
    }
    audited(
        &state,
        who.auth.audit(
            "itinerary.read",
            format!("unit:{unit}"),
            json!({"at": at_text, "plan": out.plan.as_ref().map(|p| p.id)}),
        ),
    )
    .await?;
    Ok(AppJson(out))
}

/// `POST /api/v1/checkins` body.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinRequest {
    /// WGS84 degrees.
    pub lon: f64,
    pub lat: f64,
    /// When the officer was there (RFC 3339; default: now). Not in the future.
    pub at: Option<String>,
}

/// A stored check-in, matched against the unit's published plan.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckinResult {
    pub id: i64,
    /// UTC.
    pub at: String,
    /// The published plan covering `at` for the officer's unit; absent if none.
    pub plan_id: Option<i64>,
    /// The plan's slot at `at`.
    pub slot: Option<i64>,
    /// The plan's zone the point is in (or within 25 m of); absent if none.
    pub zone: Option<String>,
    /// Where the unit was planned to be then (a zone id); absent if not in a zone.
    pub planned_zone: Option<String>,
    /// In the zone the unit was planned in at that slot.
    pub on_plan: bool,
    /// How `zone` was found: `inside`, `near` (within 25 m) or `none`.
    pub matched: String,
}

/// Projects a plan document's zone polygons (WGS84 MultiPolygons) into its metric CRS.
fn zone_shapes(doc: &Value, crs: &planner::Crs) -> Vec<(String, MultiPolygon<f64>)> {
    let ring = |v: &Value| -> Option<LineString<f64>> {
        let coords = v
            .as_array()?
            .iter()
            .map(|c| {
                let p = crs.project(c[0].as_f64()?, c[1].as_f64()?).ok()?;
                Some(Coord { x: p.x, y: p.y })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(LineString::new(coords))
    };
    doc["zones"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|z| {
            let id = z["id"].as_str()?.to_string();
            let polygons = z["polygon"]["coordinates"]
                .as_array()?
                .iter()
                .map(|p| {
                    let rings = p.as_array()?;
                    let exterior = ring(rings.first()?)?;
                    let interiors = rings[1..].iter().map(ring).collect::<Option<Vec<_>>>()?;
                    Some(Polygon::new(exterior, interiors))
                })
                .collect::<Option<Vec<_>>>()?;
            Some((id, MultiPolygon::new(polygons)))
        })
        .collect()
}

/// The plan's zone at (lon, lat): the zone containing the point, else the nearest within
/// [`CHECKIN_TOLERANCE_M`]; with how it was found.
fn locate(doc: &Value, lon: f64, lat: f64) -> Result<(Option<String>, &'static str), AppError> {
    let crs = plan::crs_of(doc).map_err(AppError::Internal)?;
    let Ok(p) = crs.project(lon, lat) else {
        return Ok((None, "none"));
    };
    let point = Point::new(p.x, p.y);
    let shapes = zone_shapes(doc, &crs);
    if let Some((id, _)) = shapes.iter().find(|(_, shape)| shape.contains(&point)) {
        return Ok((Some(id.clone()), "inside"));
    }
    let nearest = shapes
        .iter()
        .map(|(id, shape)| (id, Euclidean.distance(shape, &point)))
        .filter(|(_, d)| *d <= CHECKIN_TOLERANCE_M)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    Ok(match nearest {
        Some((id, _)) => (Some(id.clone()), "near"),
        None => (None, "none"),
    })
}

/// Checks in where the officer is: matched to a zone of their unit's published plan
/// covering the time (the zone containing the point, or within 25 m of it) and to the slot
/// then, and stored (append-only) with the zone the unit was planned in. Officers only.
/// Audited in the same transaction.
#[utoipa::path(
    post,
    path = "/api/v1/checkins",
    tag = "plans",
    request_body = CheckinRequest,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Stored; `on_plan` says whether the unit is where the plan put it", body = CheckinResult),
        (status = 400, description = "The body is not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an officer, or an officer without a unit", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Coordinates out of range, or `at` invalid or in the future", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn checkin(
    State(state): State<AppState>,
    who: OfficerUnit<CheckIns>,
    AppJson(body): AppJson<CheckinRequest>,
) -> Result<Response, AppError> {
    if !(-180.0..=180.0).contains(&body.lon) || !(-90.0..=90.0).contains(&body.lat) {
        return Err(AppError::Unprocessable(
            "lon must be -180 to 180 and lat -90 to 90 (WGS84 degrees)".into(),
        ));
    }
    let now = Timestamp::now();
    let at = match &body.at {
        Some(t) => parse_instant("at", t)?,
        None => now,
    };
    if at.as_second() > now.as_second() + CHECKIN_MAX_AHEAD_S {
        return Err(AppError::Unprocessable(format!(
            "at: {} is in the future",
            utc_text(at)
        )));
    }
    let at_text = utc_text(at);
    let unit = who.unit.clone();
    let user_id = who.auth.user.id;
    let entry = who.auth.audit(
        "checkins.create",
        "checkins",
        json!({"unit": unit, "at": at_text, "lon": body.lon, "lat": body.lat}),
    );
    let (lon, lat) = (body.lon, body.lat);
    let saved = state
        .db
        .run(move |s| {
            let mut c = NewCheckin {
                user_id,
                unit: unit.clone(),
                plan: None,
                slot: None,
                zone_id: None,
                planned_zone: None,
                on_plan: false,
                matched: "none",
                lon,
                lat,
                at: at_text.clone(),
            };
            let covering = s
                .published_plan_for_unit(&unit, &at_text)?
                .filter(|(m, _)| m.start_utc <= at_text && at_text < m.end_utc);
            let mut failure = None;
            if let Some((meta, text)) = covering {
                c.plan = Some((meta.id, meta.version));
                let rows = s.unit_assignments(meta.id, &unit)?;
                if let Some(r) = rows
                    .iter()
                    .find(|r| r.start_utc <= at_text && at_text < r.end_utc)
                {
                    c.slot = Some(r.slot);
                    c.planned_zone = r.zone_id.clone();
                }
                match serde_json::from_str::<Value>(&text)
                    .map_err(|e| AppError::Internal(e.into()))
                    .and_then(|doc| locate(&doc, lon, lat))
                {
                    Ok((zone, how)) => {
                        c.zone_id = zone;
                        c.matched = how;
                    }
                    Err(e) => failure = Some(e),
                }
                c.on_plan = c.zone_id.is_some() && c.zone_id == c.planned_zone;
            }
            if let Some(e) = failure {
                return Ok(Err(e));
            }
            let id = s.add_checkin(&c, &entry)?;
            Ok(Ok((id, c)))
        })
        .await??;
    let (id, c) = saved;
    Ok((
        StatusCode::CREATED,
        AppJson(CheckinResult {
            id,
            at: c.at,
            plan_id: c.plan.map(|p| p.0),
            slot: c.slot,
            zone: c.zone_id,
            planned_zone: c.planned_zone,
            on_plan: c.on_plan,
            matched: c.matched.into(),
        }),
    )
        .into_response())
}
