//! Firefly's domain core: the records a night-time-economy patrol planner works with, the
//! projection from WGS84 into a metric grid, the spatial index, and the validators that turn
//! published files into records.
//!
//! This crate takes plain values and returns plain values. It never opens a file, a socket or
//! a database: the `api` crate owns every edge. That keeps each algorithm testable and
//! benchmarkable on its own.

pub mod area;
pub mod backtest;
pub mod cancel;
pub mod category;
pub mod crs;
pub mod export;
pub mod harm;
pub mod hotspots;
pub mod impact;
pub mod import;
pub mod incident;
pub mod index;
pub mod premises;
pub mod rota;
pub mod time;
pub mod training;
pub mod unit;
pub mod venue_risk;
pub mod window;
pub mod zones;

pub use category::Category;
pub use crs::{Crs, CrsError, Projected};
pub use incident::{Incident, IncidentPoint};
pub use premises::{Premises, PremisesKind};
pub use time::OccurredAt;
pub use training::TrainingRecord;
pub use unit::Unit;
