//! The request and answer bodies of the plan endpoints (their OpenAPI schemas).

use super::*;

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
