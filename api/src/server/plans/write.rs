//! Writing plans: create (the optimiser of `firefly plan`, on a blocking thread), publish,
//! and re-plan (`firefly replan`'s code); each one transaction with its audit entry.

use super::*;

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
        (status = 400, description = "The body is not JSON", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner or admin", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, roster rows (each named), options, or no zones in the data", body = crate::server::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    who: Require<PlansWrite>,
    AppJson(body): AppJson<PlanRequest>,
) -> Result<Response, AppError> {
    let night = crate::app::analysis::parse_date(&body.night, false)
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
    let zones = zone_request(&ZoneQuery {
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
    let req = plan::PlanRequest {
        night,
        units,
        roster_name: "units".into(),
        zones,
        settings,
    };
    let seed = req.settings.seed;
    let version = state.versions.get(&state.db).await?.data;
    let data = state.datasets.get(&state, version).await?;
    let premises = state.db.run(|s| s.premises()).await?;
    let config = state.config.clone();
    let night_text = night.to_string();
    let (document, created, n_units) = compute(&state, move || {
        let mut warnings = Vec::new();
        let zones = req.zones.clone();
        let planned = plan::make(
            &config,
            &data,
            premises,
            &req,
            &mut guard(&mut warnings, |p| crate::app::zones::work(&zones, p)),
        )
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

/// Publishes a draft: officers then see it (their own unit's itinerary). Audited.
#[utoipa::path(
    post,
    path = "/api/v1/plans/{id}/publish",
    tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Published", body = PlanInfo),
        (status = 401, description = "No valid session", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner or admin", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already published", body = crate::server::error::Problem, content_type = "application/problem+json"),
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
        (status = 400, description = "The body is not JSON", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner or admin", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Re-planned by someone else meanwhile", body = crate::server::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not exactly one of `drop` and `join`, an unknown callsign, an invalid unit or time", body = crate::server::error::Problem, content_type = "application/problem+json"),
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
