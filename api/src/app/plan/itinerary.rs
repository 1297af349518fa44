//! The officer's itinerary from a stored plan: the unit's assignment rows as legs (runs of
//! the same activity) with zone names and centres, in local and UTC times.

use crate::storage::AssignmentRow;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

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

/// The plan document's zones by id.
pub fn zone_refs(doc: &Value) -> HashMap<String, ZoneRef> {
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
pub fn legs(
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
pub fn plan_tz(doc: &Value, fallback: &jiff::tz::TimeZone) -> jiff::tz::TimeZone {
    doc["tz"]
        .as_str()
        .and_then(|name| jiff::tz::TimeZone::get(name).ok())
        .unwrap_or_else(|| fallback.clone())
}
