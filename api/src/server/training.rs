//! `GET|POST /api/v1/premises/{id}/training` and `GET /api/v1/premises/{id}/impact`, for
//! liaison officers and admins.
//!
//! Training records name trainers, so they are personal data: every read and every write
//! is audited, in the same transaction as the read or write, before anything is answered.
//! Planners and officers see a venue's training *status* in `GET /api/v1/premises`, not the
//! records.
//!
//! The impact figures are `planner::impact::training_impact` (its docs define every number):
//! incidents attributed to the venue (nearest premises within the radius, as `firefly
//! venues`) in equal windows before and after its first training, beside untrained venues
//! in the same district and untrained venues with a similar count before, as counts.

use super::auth::Require;
use super::error::{AppError, AppJson, AppPath, AppQuery};
use super::incidents::unprocessable;
use super::policy::{TrainingImpact, TrainingRecords};
use super::premises::{FICTIONAL_LABEL, today};
use super::state::AppState;
use crate::app::analysis::Categories;
use crate::storage::StoredTraining;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use planner::TrainingRecord;
use planner::hotspots::ScoringPoint;
use planner::impact::{Granularity, ImpactVenue, training_impact};
use planner::training::{DEFAULT_REFRESHER_MONTHS, TrainingStatus, training_status};
use planner::venue_risk::{DEFAULT_RADIUS_M, Venue};
use planner::window::{Selection, WindowSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Radii accepted for impact figures, metres.
pub const RADIUS_RANGE: std::ops::RangeInclusive<f64> = 1.0..=500.0;
/// Below this many incidents in the two windows, the answer warns about small numbers.
pub const SMALL_COUNT: u32 = 20;

/// The premises a training answer is about.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PremisesRef {
    pub id: i64,
    pub source_id: String,
    pub name: String,
    pub district: Option<String>,
}

/// A venue's training records.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrainingList {
    pub premises: PremisesRef,
    /// `never_trained`, `trained`, `due_soon` or `overdue` (refresher after 12 months).
    #[schema(value_type = String)]
    pub training_status: TrainingStatus,
    pub last_trained: Option<String>,
    pub refresher_due: Option<String>,
    /// Some record is fictional demo data.
    pub fictional: bool,
    pub label: Option<String>,
    /// Oldest first, with who added each and when.
    pub records: Vec<StoredTraining>,
}

/// A training record to add.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTraining {
    /// `YYYY-MM-DD` or `DD/MM/YYYY`; not in the future.
    pub date: String,
    pub course: String,
    /// Staff trained: 0 or more.
    pub staff_trained: i64,
    pub trainer: Option<String>,
    pub notes: Option<String>,
    /// Fictional demo data (default false).
    pub fictional: Option<bool>,
}

/// Options of the impact figures.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImpactQuery {
    /// Comma-separated categories, or `all`; default: the night-time-economy offences.
    pub category: Option<String>,
    /// Hours counted: `all` (default), `weekend-nights`, or `DAYS@HH:MM-HH:MM[;...]`.
    /// Month-only incidents count whatever the window (they have no hour).
    pub window: Option<String>,
    /// Attribution radius in metres (default 50; 1 to 500).
    pub radius: Option<f64>,
}

async fn find(state: &AppState, key: String) -> Result<(i64, planner::Premises), AppError> {
    let lookup = key.clone();
    state
        .db
        .run(move |s| s.premises_by_key(&lookup))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no premises with id {key:?}")))
}

fn reference(id: i64, p: &planner::Premises) -> PremisesRef {
    PremisesRef {
        id,
        source_id: p.source_id.clone(),
        name: p.name.clone(),
        district: p.district.clone(),
    }
}

/// A venue's training records, with who added each and when.
#[utoipa::path(
    get,
    path = "/api/v1/premises/{id}/training",
    tag = "training",
    params(("id" = String, Path, description = "Database id or source id (percent-encoded)")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The records, oldest first, and the status. Audited.", body = TrainingList),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a liaison officer or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such premises", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    who: Require<TrainingRecords>,
    AppPath(key): AppPath<String>,
) -> Result<AppJson<TrainingList>, AppError> {
    let (id, p) = find(&state, key).await?;
    let entry = who.audit("training.read", format!("premises:{id}"), json!({}));
    let records = state.db.run(move |s| s.training_of(id, &entry)).await?;
    let plain: Vec<TrainingRecord> = records
        .iter()
        .filter_map(|r| {
            Some(TrainingRecord {
                premises_id: p.source_id.clone(),
                date: r.date.parse().ok()?,
                course: r.course.clone(),
                staff_trained: r.staff_trained,
                trainer: r.trainer.clone(),
                notes: r.notes.clone(),
            })
        })
        .collect();
    let latest = plain.iter().max_by_key(|r| r.date);
    let fictional = records.iter().any(|r| r.fictional);
    Ok(AppJson(TrainingList {
        premises: reference(id, &p),
        training_status: training_status(&plain, today(&state), DEFAULT_REFRESHER_MONTHS),
        last_trained: latest.map(|r| r.date.to_string()),
        refresher_due: latest.map(|r| r.refresher_due(DEFAULT_REFRESHER_MONTHS).to_string()),
        fictional,
        label: fictional.then(|| FICTIONAL_LABEL.to_string()),
        records,
    }))
}

/// Adds one training record.
#[utoipa::path(
    post,
    path = "/api/v1/premises/{id}/training",
    tag = "training",
    params(("id" = String, Path, description = "Database id or source id (percent-encoded)")),
    request_body = NewTraining,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Added. Audited.", body = StoredTraining),
        (status = 200, description = "An identical record (date, course, trainer) was already stored: that one. Audited.", body = StoredTraining),
        (status = 400, description = "The body is not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a liaison officer or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such premises", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or invalid field, named in `detail`", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    who: Require<TrainingRecords>,
    AppPath(key): AppPath<String>,
    AppJson(body): AppJson<NewTraining>,
) -> Result<Response, AppError> {
    let mut record = checked_record(
        &state,
        "",
        &body.date,
        &body.course,
        body.staff_trained,
        body.trainer.as_deref(),
        body.notes.as_deref(),
    )?;
    let fictional = body.fictional.unwrap_or(false);
    let (id, p) = find(&state, key).await?;
    record.premises_id = p.source_id.clone();
    let date = record.date;
    let entry = who.audit(
        "training.create",
        format!("premises:{id}"),
        json!({"date": date.to_string(), "course": record.course, "fictional": fictional}),
    );
    let (stored, added) = state
        .db
        .run(move |s| s.add_training(id, &record, fictional, &entry))
        .await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, AppJson(stored)).into_response())
}

/// Checks the fields of a training record as `POST .../training` and `PATCH` receive them.
fn checked_record(
    state: &AppState,
    premises_source_id: &str,
    date: &str,
    course: &str,
    staff_trained: i64,
    trainer: Option<&str>,
    notes: Option<&str>,
) -> Result<TrainingRecord, AppError> {
    let date = planner::import::training::parse_date(date)
        .map_err(|r| AppError::Unprocessable(format!("date: {r}")))?;
    let today = today(state);
    if date > today {
        return Err(AppError::Unprocessable(format!(
            "date: {date} is in the future (today is {today})"
        )));
    }
    let course = course.trim().to_string();
    if course.is_empty() || course.chars().count() > 200 {
        return Err(AppError::Unprocessable(
            "course: must be 1 to 200 characters".into(),
        ));
    }
    let staff_trained = u32::try_from(staff_trained)
        .ok()
        .filter(|n| *n <= 100_000)
        .ok_or_else(|| {
            AppError::Unprocessable(format!(
                "staff_trained: {} is not a whole number from 0 to 100,000",
                staff_trained
            ))
        })?;
    let text = |field: &str, v: Option<&str>| -> Result<Option<String>, AppError> {
        match v.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) if t.chars().count() > 2_000 => Err(AppError::Unprocessable(format!(
                "{field}: must be at most 2,000 characters"
            ))),
            other => Ok(other.map(str::to_string)),
        }
    };
    let trainer = text("trainer", trainer)?.unwrap_or_default();
    let notes = text("notes", notes)?;
    Ok(TrainingRecord {
        premises_id: premises_source_id.to_string(),
        date,
        course,
        staff_trained,
        trainer,
        notes,
    })
}

/// A correction of a training record (the fields given replace the stored ones), or its
/// withdrawal; either way with a reason.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingChanges {
    pub date: Option<String>,
    pub course: Option<String>,
    pub staff_trained: Option<i64>,
    pub trainer: Option<String>,
    pub notes: Option<String>,
    /// `true` withdraws the record (no other field may be given).
    pub withdrawn: Option<bool>,
    /// Why (required; 1 to 500 characters): kept in the record's history.
    pub reason: String,
}

/// The record before and after the change (`after` is null when withdrawn).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrainingChanged {
    pub before: StoredTraining,
    pub after: Option<StoredTraining>,
}

/// Corrects or withdraws a training record, keeping the record before in its history.
#[utoipa::path(
    patch,
    path = "/api/v1/premises/{id}/training/{record}",
    tag = "training",
    params(
        ("id" = String, Path, description = "Database id or source id (percent-encoded)"),
        ("record" = i64, Path, description = "The training record's id"),
    ),
    request_body = TrainingChanges,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Corrected or withdrawn; the record before is kept in `training_history`. Audited.", body = TrainingChanged),
        (status = 400, description = "The body is not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a liaison officer or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such premises or record", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The correction clashes with another record (date, course, trainer)", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or invalid field, named in `detail`", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change(
    State(state): State<AppState>,
    who: Require<TrainingRecords>,
    AppPath((key, record_id)): AppPath<(String, i64)>,
    AppJson(body): AppJson<TrainingChanges>,
) -> Result<AppJson<TrainingChanged>, AppError> {
    let reason = body.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::Unprocessable(
            "reason: say why, in 1 to 500 characters".into(),
        ));
    }
    let withdraw = body.withdrawn == Some(true);
    let edits = body.date.is_some()
        || body.course.is_some()
        || body.staff_trained.is_some()
        || body.trainer.is_some()
        || body.notes.is_some();
    if withdraw == edits {
        return Err(AppError::Unprocessable(
            "give either \"withdrawn\": true or the fields to correct".into(),
        ));
    }
    let (id, p) = find(&state, key).await?;
    let new = if withdraw {
        None
    } else {
        let stored = state
            .db
            .run(move |s| s.training_record(id, record_id))
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no training record {record_id} here")))?;
        let notes = body.notes.as_deref().or(stored.notes.as_deref());
        Some(checked_record(
            &state,
            &p.source_id,
            body.date.as_deref().unwrap_or(&stored.date),
            body.course.as_deref().unwrap_or(&stored.course),
            body.staff_trained
                .unwrap_or(i64::from(stored.staff_trained)),
            Some(body.trainer.as_deref().unwrap_or(&stored.trainer)),
            notes,
        )?)
    };
    let action = if withdraw {
        "training.withdraw"
    } else {
        "training.correct"
    };
    let entry = who.audit(action, format!("premises:{id}"), json!({"reason": reason}));
    let changed = state
        .db
        .run(move |s| s.change_training(id, record_id, new.as_ref(), &reason, &entry))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no training record {record_id} here")))?;
    Ok(AppJson(TrainingChanged {
        before: changed.0,
        after: changed.1,
    }))
}

/// Incidents at a venue before and after its first training, beside untrained venues.
#[utoipa::path(
    get,
    path = "/api/v1/premises/{id}/impact",
    tag = "training",
    params(
        ("id" = String, Path, description = "Database id or source id (percent-encoded)"),
        ImpactQuery,
    ),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "`trained` false with a `detail` when the venue was never trained; else `trained_on`, `windows` (equal before and after: days, or whole months for month-only data with the training month left out; null when there is no data on one side), `venue` `{before, after, p_value}`, `comparisons` (untrained venues in the same district; untrained venues with a similar before count: `venues`, `before`, `after`) and `notes`. Counts, not only rates. Audited.", body = Object),
        (status = 400, description = "Unknown query parameter", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a liaison officer or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such premises", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameter values", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn impact(
    State(state): State<AppState>,
    who: Require<TrainingImpact>,
    AppPath(key): AppPath<String>,
    AppQuery(q): AppQuery<ImpactQuery>,
) -> Result<AppJson<Value>, AppError> {
    let categories =
        Categories::from_args(q.category.as_slice()).map_err(|e| unprocessable("category", e))?;
    let window_text = q.window.clone().unwrap_or_else(|| "all".into());
    let window: WindowSpec = window_text
        .parse()
        .map_err(|e: planner::window::WindowError| unprocessable("window", e.into()))?;
    let radius = q.radius.unwrap_or(DEFAULT_RADIUS_M);
    if !RADIUS_RANGE.contains(&radius) {
        return Err(AppError::Unprocessable(format!(
            "radius must be between {} and {} metres",
            RADIUS_RANGE.start(),
            RADIUS_RANGE.end()
        )));
    }
    let (target_id, target) = find(&state, key).await?;
    let (premises, first, history) = state
        .db
        .run(|s| {
            Ok((
                s.premises_with_ids()?,
                s.first_training_dates()?,
                s.training_with_flags()?,
            ))
        })
        .await?;
    let version = state.versions.get(&state.db).await?.data;
    let data = state.datasets.get(&state, version).await?;
    let tz = state.config.tz.clone();
    let target_source = target.source_id.clone();
    // Under the analyses' compute permits (one heavy computation per core at once).
    let computed = super::analysis::under_compute(&state, move || {
        let crs = data.crs();
        let points: Vec<ScoringPoint> = data
            .rows()
            .filter(|(i, [x, _], _)| {
                categories.includes(i.category)
                    && window.select(&i.occurred, &tz) != Selection::Outside
                    && !x.is_nan()
            })
            .map(|(i, [x, y], _)| ScoringPoint {
                x,
                y,
                category: i.category,
                occurred: i.occurred,
            })
            .collect();
        let venues: Vec<(i64, ImpactVenue)> = premises
            .iter()
            .filter_map(|(id, p)| {
                let q = crs.project(p.lon, p.lat).ok()?;
                Some((
                    *id,
                    ImpactVenue {
                        venue: Venue {
                            id: p.source_id.clone(),
                            x: q.x,
                            y: q.y,
                        },
                        district: p.district.clone(),
                        first_trained: first.get(id).and_then(|d| d.parse().ok()),
                    },
                ))
            })
            .collect();
        let target = venues.iter().position(|(id, _)| *id == target_id);
        let plain: Vec<ImpactVenue> = venues.into_iter().map(|(_, v)| v).collect();
        let result = match target {
            Some(t) => training_impact(&plain, t, &points, radius, &tz)
                .map_err(|e| AppError::Unprocessable(e.to_string())),
            None => Err(AppError::Unprocessable(
                "the premises' coordinates cannot be projected".into(),
            )),
        };
        (result, points.len())
    })
    .await?;
    let (result, n_points) = computed;
    let result = result?;
    // The first record (oldest; the one the windows are centred on) decides the label.
    let fictional = history
        .get(&target_source)
        .and_then(|records| records.first())
        .is_some_and(|(_, f)| *f);
    let method = json!({
        "radius_m": radius,
        "categories": Categories::from_args(q.category.as_slice()).map(|c| c.describe()).unwrap_or_default(),
        "window": window_text,
        "incidents_considered": n_points,
        "attribution": "each incident goes to the nearest premises within the radius",
    });
    let premises_ref = reference(target_id, &target);
    let body = match result {
        None => json!({
            "premises": premises_ref,
            "trained": false,
            "detail": format!("{} has never been trained: there is no before and after to compare.", target.name),
            "method": method,
        }),
        Some(r) => {
            let mut notes: Vec<String> = Vec::new();
            let detail;
            match &r.windows {
                None => {
                    detail = format!(
                        "{} was first trained on {}, but the incident data ({} to {}) does not cover both sides of that date: there is nothing to compare.",
                        target.name,
                        r.trained_on,
                        r.data_from
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "none".into()),
                        r.data_to
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "none".into()),
                    );
                }
                Some(w) => {
                    let unit = match w.granularity {
                        Granularity::Day => "days",
                        Granularity::Month => "months",
                    };
                    detail = format!(
                        "{} incidents in the {} {unit} before training, {} in the {} {unit} after.",
                        r.venue.before, w.length, r.venue.after, w.length
                    );
                    let n = r.venue.before + r.venue.after;
                    if n < SMALL_COUNT {
                        notes.push(format!(
                            "Only {n} incidents in the two windows: counts this small change a lot by chance. Read the counts, not percentages."
                        ));
                    }
                    if let Some(p) = r.p_value {
                        notes.push(format!(
                            "p = {p:.3}: with no change at all, a split at least this uneven happens {:.0} % of the time (two-sided exact binomial test).",
                            p * 100.0
                        ));
                    }
                    if w.granularity == Granularity::Month {
                        notes.push(format!(
                            "The incident data gives months only, so the windows are whole months and the training month ({}) is in neither.",
                            w.excluded_month.clone().unwrap_or_default()
                        ));
                    }
                }
            }
            notes.push(
                "Venues are often trained after a bad spell, which tends to ease by itself: compare the venue's change with the untrained venues beside it before crediting the training.".into(),
            );
            if fictional {
                notes.push(format!("The training date rests on {FICTIONAL_LABEL}."));
            }
            let windows = r.windows.as_ref().map(|w| {
                json!({
                    "granularity": w.granularity,
                    "length": w.length,
                    "unit": match w.granularity { Granularity::Day => "days", Granularity::Month => "months" },
                    "before": {"from": w.before_from.to_string(), "to": w.before_to.to_string()},
                    "after": {"from": w.after_from.to_string(), "to": w.after_to.to_string()},
                    "excluded_month": w.excluded_month,
                    "limited_by": w.limited_by,
                })
            });
            let comparisons: Vec<Value> = r
                .comparisons
                .iter()
                .map(|c| {
                    let per = |n: u32| (c.venues > 0).then(|| f64::from(n) / f64::from(c.venues));
                    json!({
                        "rule": c.rule, "venues": c.venues, "before": c.before, "after": c.after,
                        "per_venue_before": per(c.before), "per_venue_after": per(c.after),
                    })
                })
                .collect();
            json!({
                "premises": premises_ref,
                "trained": true,
                "trained_on": r.trained_on.to_string(),
                "training_fictional": fictional,
                "training_label": fictional.then_some(FICTIONAL_LABEL),
                "data": {"from": r.data_from.map(|d| d.to_string()), "to": r.data_to.map(|d| d.to_string())},
                "windows": windows,
                "venue": {
                    "before": r.venue.before,
                    "after": r.venue.after,
                    "change": i64::from(r.venue.after) - i64::from(r.venue.before),
                    "p_value": r.p_value,
                },
                "comparisons": comparisons,
                "detail": detail,
                "notes": notes,
                "method": method,
            })
        }
    };
    let entry = who.audit(
        "premises.impact",
        format!("premises:{target_id}"),
        json!({"category": q.category, "window": q.window, "radius": radius}),
    );
    state.audit.append(&state.db, entry).await?;
    Ok(AppJson(body))
}
