//! Patrol units: one officer or a pair, known by callsign only (no personal names).

use jiff::civil::Time;
use serde::{Deserialize, Serialize};

/// A patrol unit available for a night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub callsign: String,
    /// 1 (single officer) or 2 (a pair).
    pub size: u8,
    /// Local shift start and end; an end earlier than the start runs past midnight.
    pub shift_start: Time,
    pub shift_end: Time,
    /// Where the unit starts and ends (a station), WGS84.
    pub start_lon: f64,
    pub start_lat: f64,
    /// Name of the start point, e.g. "Luton police station".
    pub start_name: Option<String>,
    /// Meal break length in minutes (default 45).
    pub break_minutes: u32,
    pub skills: Vec<String>,
}
