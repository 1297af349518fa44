//! An incident: one recorded offence or anti-social-behaviour report at a place and time.

use crate::category::Category;
use crate::time::OccurredAt;
use serde::{Deserialize, Serialize};

/// One incident as imported. Incident points are victims' locations: only planners may
/// see them, and every read is audited (DESIGN.md, Storage and API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Stable id within the whole database, e.g. `police-uk:4b94…` or
    /// `police-uk:asb:2023-05:9f3c…#2`. Re-importing a row yields the same id, so
    /// imports are idempotent.
    pub source_id: String,
    /// Which feed it came from: `police-uk`, `force-csv`, `geojson`, `chicago`, …
    pub source: String,
    pub occurred: OccurredAt,
    /// WGS84 degrees.
    pub lon: f64,
    pub lat: f64,
    /// The offence as the source named it (kept verbatim).
    pub category_raw: String,
    pub category: Category,
    /// Free-text location ("On or near Park Street"), if given.
    pub location: Option<String>,
    /// Small-area code and name (police.uk LSOA), if given.
    pub area_code: Option<String>,
    pub area_name: Option<String>,
}

/// What the analyses read of an incident: where, what and when, none of its text. Six
/// million of these fit in 240 MB where the full [`Incident`]s take gigabytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IncidentPoint {
    /// WGS84 degrees.
    pub lon: f64,
    pub lat: f64,
    pub category: Category,
    pub occurred: OccurredAt,
}

impl From<&Incident> for IncidentPoint {
    fn from(i: &Incident) -> IncidentPoint {
        IncidentPoint {
            lon: i.lon,
            lat: i.lat,
            category: i.category,
            occurred: i.occurred,
        }
    }
}
