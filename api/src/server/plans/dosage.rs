//! A plan's dosage: planned visits against the check-ins achieved, per zone.

use super::*;

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
        (status = 401, description = "No valid session", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner or admin", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = crate::server::error::Problem, content_type = "application/problem+json"),
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
