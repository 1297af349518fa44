//! `firefly zones`: translates the flags into a [`ZoneRequest`] and writes the patrol zones
//! (walkable clusters of hot cells, named after their venues) as WGS84 GeoJSON. The `plan`
//! command takes the same zone flags.

use super::hotspots::{FilterArgs, MethodArgs};
use crate::app::Failure;
use crate::app::zones::{self, Built, ZoneMethod, ZoneRequest};
use crate::config::Config;
use crate::storage::Store;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

/// How zones are formed; shared by `zones` and `plan`.
#[derive(Args, Debug, Clone)]
pub struct ZoneArgs {
    /// Scoring method whose hot cells form the zones: `auto` (the one of kde and ensemble
    /// that validates best on the latest held-out periods), or count, kde, gistar,
    /// prospective, ensemble.
    #[arg(long, default_value = "auto")]
    pub method: String,
    #[command(flatten)]
    pub method_params: MethodArgs,
    /// Share of the study area's cells that count as hot, percent.
    #[arg(long, default_value_t = 100.0 * planner::zones::DEFAULT_HOT_SHARE)]
    pub hot_percent: f64,
    /// Walkable size: no point of a zone further than this from its centre, metres.
    #[arg(long, default_value_t = planner::zones::DEFAULT_MAX_RADIUS_M)]
    pub max_radius: f64,
    /// Keep at most this many zones, highest risk first.
    #[arg(long, default_value_t = planner::zones::DEFAULT_MAX_ZONES)]
    pub max_zones: usize,
    #[command(flatten)]
    pub filters: FilterArgs,
}

#[derive(Args)]
pub struct ZonesCmd {
    #[command(flatten)]
    pub zone: ZoneArgs,
    /// Output file (default: stdout).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

impl ZoneArgs {
    /// The request, with the method and filters checked.
    pub fn to_request(&self) -> Result<ZoneRequest, Failure> {
        let req = ZoneRequest {
            method: self
                .method
                .parse::<ZoneMethod>()
                .map_err(|e| Failure::Invalid(anyhow::anyhow!("--method: {e}")))?,
            params: self.method_params.to_params(),
            hot_percent: self.hot_percent,
            max_radius: self.max_radius,
            max_zones: self.max_zones,
            filters: self.filters.to_request(),
        };
        req.filters.to_filters().map_err(Failure::Invalid)?;
        Ok(req)
    }
}

/// Loads incidents and premises, scores, and forms the zones.
pub fn build(config: &Config, args: &ZoneArgs) -> Result<Built, Failure> {
    let req = args.to_request()?;
    let store = Store::open(&config.db)?;
    let data = crate::app::dataset::Dataset::load(&store, config)?;
    let premises = store.premises()?;
    zones::build_from(config, &data, premises, &req, &mut |prepared| {
        for w in &prepared.warnings {
            eprintln!("firefly: warning: {w}");
        }
        eprintln!("{}", crate::app::hotspots::selection_report(prepared));
        Ok(())
    })
    .inspect(|built| {
        if let Some(choice) = &built.choice {
            eprintln!("method auto: {}", choice.reason);
        }
    })
}

pub fn run(config: &Config, args: ZonesCmd) -> Result<(), Failure> {
    let built = build(config, &args.zone)?;
    let mut body = serde_json::to_string(&zones::geojson(&built)).context("serialising zones")?;
    body.push('\n');
    match &args.output {
        Some(path) => std::fs::write(path, body)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{body}"),
    }
    eprintln!(
        "{} zones from {} hot cells ({} clusters; {} more zones beyond --max-zones)",
        built.zones.zones.len(),
        built.zones.n_hot_cells,
        built.zones.n_clusters,
        built.zones.capped.pieces
    );
    Ok(())
}
