//! Reading plans: the list, one plan, its rota CSV and a unit's calendar, each audited
//! and each through [`may_read`].

use super::*;

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
        (status = 401, description = "No valid session", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A liaison, or an officer asking for drafts", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown status or a malformed date", body = crate::server::error::Problem, content_type = "application/problem+json"),
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

/// The stored plan JSON (the contract's shape, as `firefly plan -o` writes it), with a
/// `stored` member: id, status, version, who made and published it. Officers: published
/// plans only, with only their own unit's `callsigns`, `assignments` and `units`. Audited.
#[utoipa::path(
    get,
    path = "/api/v1/plans/{id}",
    tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The plan JSON: `params`, `zones`, `units`, `slots`, `assignments`, `objective`, `bound`, `gap`, `problem`, and `stored` (PlanInfo)", body = Object),
        (status = 401, description = "No valid session", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A liaison, or an officer and the plan is a draft", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = crate::server::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn one(
    State(state): State<AppState>,
    who: Require<PlansRead>,
    AppPath(id): AppPath<i64>,
) -> Result<Response, AppError> {
    let (meta, mut doc) = load(&state, id).await?;
    may_read(&who, &meta, None)?;
    let unit = visible_unit(&who)?;
    if let Some(unit) = &unit {
        only_unit(&mut doc, unit);
    }
    audited(
        &state,
        who.audit(
            "plans.read",
            format!("plan:{id}"),
            json!({"version": meta.version, "status": meta.status.as_str(), "unit": unit}),
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

/// The rota as CSV, one row per unit per slot (`firefly plan --csv`). Officers: published
/// plans only, their own unit's rows only. Audited.
#[utoipa::path(
    get,
    path = "/api/v1/plans/{id}/rota.csv",
    tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "`callsign,slot,start_local,end_local,start_utc,activity,zone,zone_name,from`, one row per unit per slot", body = String, content_type = "text/csv"),
        (status = 401, description = "No valid session", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A liaison, or an officer and the plan is a draft", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = crate::server::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rota_csv(
    State(state): State<AppState>,
    who: Require<PlansRead>,
    AppPath(id): AppPath<i64>,
) -> Result<Response, AppError> {
    let (meta, doc) = load(&state, id).await?;
    may_read(&who, &meta, None)?;
    let unit = visible_unit(&who)?;
    let loaded = Loaded::from_doc(&doc).map_err(AppError::Internal)?;
    let mut csv = plan::rota_csv(&loaded.rota()).map_err(AppError::Internal)?;
    if let Some(unit) = &unit {
        csv = only_unit_rows(&csv, unit)?;
    }
    audited(
        &state,
        who.audit(
            "plans.rota",
            format!("plan:{id}"),
            json!({"version": meta.version, "unit": unit}),
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
        (status = 401, description = "No valid session", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A liaison, or an officer and another unit or a draft", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan, or no such unit in it", body = crate::server::error::Problem, content_type = "application/problem+json"),
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
    let ics = crate::app::ics::unit_calendar(&loaded.rota(), unit);
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
