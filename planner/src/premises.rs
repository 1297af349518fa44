//! Licensed premises: the pubs, bars and clubs whose staff Firefly trains, and around which
//! night-time violence concentrates.

use jiff::civil::Time;
use serde::{Deserialize, Serialize};

/// What kind of licensed venue this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PremisesKind {
    Pub,
    Bar,
    Nightclub,
    LateNightRefreshment,
    Other,
}

impl PremisesKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PremisesKind::Pub => "pub",
            PremisesKind::Bar => "bar",
            PremisesKind::Nightclub => "nightclub",
            PremisesKind::LateNightRefreshment => "late_night_refreshment",
            PremisesKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<PremisesKind> {
        Some(
            match s
                .trim()
                .to_ascii_lowercase()
                .replace([' ', '-'], "_")
                .as_str()
            {
                "pub" => PremisesKind::Pub,
                "bar" => PremisesKind::Bar,
                "nightclub" | "night_club" | "club" => PremisesKind::Nightclub,
                "late_night_refreshment" => PremisesKind::LateNightRefreshment,
                "other" => PremisesKind::Other,
                _ => return None,
            },
        )
    }
}

/// Closing time per weekday, Monday first; `None` where unknown. A closing time earlier
/// than the opening (e.g. 02:00) means the early hours of the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClosingTimes(pub [Option<Time>; 7]);

/// One licensed premises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Premises {
    /// Stable id across imports, e.g. `osm:node/21992993` or `register:arun:5816`.
    pub source_id: String,
    pub name: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub kind: PremisesKind,
    /// WGS84 degrees.
    pub lon: f64,
    pub lat: f64,
    /// The council's premises licence reference, where known.
    pub licence_ref: Option<String>,
    pub closing: ClosingTimes,
    /// Part of a Safe Space scheme (a place a vulnerable person can go for help).
    pub safe_space: bool,
    /// Local authority district, where the source says.
    pub district: Option<String>,
}
