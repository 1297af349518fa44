//! Check-ins (`POST /api/v1/checkins`): matched to the unit's published plan
//! ([`crate::app::plan::checkin`]) and stored append-only with their audit entry.

use super::*;

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
        (status = 400, description = "The body is not JSON", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an officer, or an officer without a unit", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Coordinates out of range, or `at` invalid or in the future", body = crate::server::error::Problem, content_type = "application/problem+json"),
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
        // The point itself stays in the check-in row (target `checkin:{id}`): the log
        // refers to it, so retention can delete the location and keep the record of access.
        json!({"unit": unit, "at": at_text}),
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
                    .and_then(|doc| {
                        crate::app::plan::checkin::locate(&doc, lon, lat)
                            .map_err(AppError::Internal)
                    }) {
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
