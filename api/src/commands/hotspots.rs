//! `firefly hotspots`: translates the flags into a [`HotspotRequest`], scores, and writes
//! GeoJSON or CSV (the contract's properties).

use crate::app::Failure;
use crate::app::hotspots::{self, FilterRequest, HotspotRequest, MethodParams};
use crate::app::validation;
use crate::config::Config;
use crate::storage::Store;
use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use planner::hotspots::Method;
use std::io::Write;
use std::path::PathBuf;

/// Filters shared by `hotspots`, `backtest` and `zones`.
#[derive(Args, Debug, Clone)]
pub struct FilterArgs {
    /// Cell size in metres.
    #[arg(long, default_value_t = planner::hotspots::DEFAULT_CELL_M)]
    pub cell: f64,
    /// `weekend-nights` (Fri and Sat 18:00-06:00 local), `all`, or `DAYS@HH:MM-HH:MM[;...]`.
    #[arg(long, default_value = "weekend-nights")]
    pub window: String,
    /// Busy-period calendar: one `YYYY-MM-DD[,label]` per line; those nights count like
    /// weekend nights.
    #[arg(long)]
    pub calendar: Option<PathBuf>,
    /// First local date (YYYY-MM-DD or YYYY-MM).
    #[arg(long)]
    pub from: Option<String>,
    /// Last local date, inclusive (YYYY-MM-DD or YYYY-MM).
    #[arg(long)]
    pub to: Option<String>,
    /// Categories to score (repeatable, or comma-separated); `all` for every category.
    /// Default: the night-time-economy offences.
    #[arg(long = "category")]
    pub categories: Vec<String>,
    /// Study area as W,S,E,N in degrees.
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// Study area as GeoJSON polygons (cells whose centre lies inside).
    #[arg(long)]
    pub boundary: Option<PathBuf>,
}

impl FilterArgs {
    pub fn to_request(&self) -> FilterRequest {
        FilterRequest {
            cell: self.cell,
            window: self.window.clone(),
            calendar: self.calendar.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            categories: self.categories.clone(),
            bbox: self.bbox.clone(),
            boundary: self.boundary.clone(),
        }
    }

    /// The filters, checked.
    pub fn to_filters(&self) -> anyhow::Result<crate::app::analysis::Filters> {
        self.to_request().to_filters()
    }
}

/// Method parameters shared by `hotspots` and `backtest`.
#[derive(Args, Debug, Clone)]
pub struct MethodArgs {
    /// KDE bandwidth h in metres.
    #[arg(long, default_value_t = planner::hotspots::DEFAULT_BANDWIDTH_M)]
    pub bandwidth: f64,
    /// Gi* neighbourhood distance D in metres.
    #[arg(long, default_value_t = planner::hotspots::DEFAULT_DISTANCE_M)]
    pub distance: f64,
    /// Recency half-life in days.
    #[arg(long, default_value_t = planner::hotspots::DEFAULT_HALF_LIFE_DAYS)]
    pub half_life: f64,
}

impl MethodArgs {
    pub fn to_params(&self) -> MethodParams {
        MethodParams {
            bandwidth: self.bandwidth,
            distance: self.distance,
            half_life: self.half_life,
        }
    }
}

/// Parses `--method`.
pub fn parse_method(text: &str) -> Result<Method, Failure> {
    text.parse()
        .map_err(|e| Failure::Invalid(anyhow!("--method: {e}")))
}

#[derive(Args)]
pub struct HotspotArgs {
    #[arg(long, default_value = "kde")]
    pub method: String,
    #[command(flatten)]
    pub method_params: MethodArgs,
    /// Ages are measured back from this local date (default: the latest incident).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Harm table CSV (`category,weight`); default: the built-in CCHI-style table.
    #[arg(long)]
    pub harm: Option<PathBuf>,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Keep cells with zero score.
    #[arg(long)]
    pub all_cells: bool,
    /// Skip the validation on held-out periods that the answer otherwise carries
    /// (`firefly.validation`: PAI and hit rate at 1 % and 5 %, beside naive and ceiling).
    #[arg(long)]
    pub no_validation: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Geojson)]
    pub format: OutputFormat,
    /// Output file (default: stdout).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Geojson,
    Csv,
}

impl HotspotArgs {
    pub fn to_request(&self) -> Result<HotspotRequest, Failure> {
        Ok(HotspotRequest {
            method: parse_method(&self.method)?,
            params: self.method_params.to_params(),
            as_of: self.as_of.clone(),
            harm: self.harm.clone(),
            filters: self.filters.to_request(),
            all_cells: self.all_cells,
        })
    }
}

pub fn run(config: &Config, args: HotspotArgs) -> Result<(), Failure> {
    let req = args.to_request()?;
    // Checked before the database is opened, so a typo costs nothing.
    req.filters.to_filters().map_err(Failure::Invalid)?;
    let store = Store::open(&config.db)?;
    let data = crate::app::dataset::Dataset::load(&store, config)?;
    let mut result = hotspots::compute(config, &data, &req, &mut |prepared| {
        for w in &prepared.warnings {
            eprintln!("firefly: warning: {w}");
        }
        Ok(())
    })?;
    if !args.no_validation {
        result.validation = Some(validation::of(&result));
    }
    let write = |w: &mut dyn Write| -> anyhow::Result<()> {
        match args.format {
            OutputFormat::Geojson => {
                hotspots::write_geojson(w, &result, &hotspots::GeoJsonExtras::default())?;
                w.write_all(b"\n")?;
            }
            OutputFormat::Csv => w.write_all(hotspots::csv(&result)?.as_bytes())?,
        }
        w.flush()?;
        Ok(())
    };
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            write(&mut std::io::BufWriter::with_capacity(1 << 16, file))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => match write(&mut std::io::BufWriter::new(std::io::stdout().lock())) {
            // `firefly hotspots | head` is fine: the reader has what it wanted.
            Err(e)
                if e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => {}
            other => other.context("writing to stdout")?,
        },
    }
    let scored = &result.scored;
    eprintln!("{}", hotspots::selection_report(&result.prepared));
    eprintln!(
        "scored {} incidents ({} month-only, place only) on {} cells of {} m with {}; {} cells written",
        scored.n_incidents,
        scored.n_untimed,
        scored.n_cells,
        result.filters.cell,
        req.method.as_str(),
        scored.cells.len()
    );
    if let Some(v) = &result.validation {
        match v["summary"].as_str() {
            Some(summary) => eprintln!("validation: {summary}"),
            None => eprintln!(
                "validation: {}",
                v["reason"].as_str().unwrap_or("not available")
            ),
        }
    }
    Ok(())
}
