//! The officer's own itinerary (`GET /api/v1/me/assignments`), from
//! [`crate::app::plan::itinerary`].

use super::*;
pub use crate::app::plan::itinerary::{Leg, ZoneRef};
use crate::app::plan::itinerary::{legs, plan_tz, zone_refs};

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
        (status = 400, description = "Unknown query parameter", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an officer, or an officer without a unit", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`at` is not an RFC 3339 instant", body = crate::server::error::Problem, content_type = "application/problem+json"),
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
