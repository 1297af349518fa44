//! `firefly backtest`: fit before a cut date, test on the windowed nights after it, and
//! report hit rate and PAI per method and coverage, beside the ceiling and the naive
//! baseline, as a table or as the contract's JSON.

use super::hotspots::{FilterArgs, MethodArgs};
use crate::app::Failure;
use crate::app::analysis;
use crate::config::Config;
use crate::storage::Store;
use anyhow::{Context, anyhow};
use clap::Args;
use planner::OccurredAt;
use planner::backtest::{self, BacktestMethod, BacktestSpec, Period};
use planner::hotspots::ScoringParams;
use planner::time::YearMonth;

#[derive(Args)]
pub struct BacktestArgs {
    /// The first test day (local date); training uses the days before it.
    #[arg(long)]
    pub cut: String,
    /// Training span before each cut, days.
    #[arg(long, default_value_t = backtest::DEFAULT_TRAIN_DAYS)]
    pub train_days: u32,
    /// Test span after each cut, days (for month-only data: whole months, see --periods).
    #[arg(long, default_value_t = backtest::DEFAULT_TEST_DAYS)]
    pub test_days: u32,
    /// Consecutive test periods (rolling cuts), reported with mean and spread.
    #[arg(long, default_value_t = 1)]
    pub periods: usize,
    /// Methods to compare: count,kde,gistar,prospective,naive.
    #[arg(long, default_value = "count,kde,gistar,prospective,naive")]
    pub methods: String,
    /// Coverage levels, percent of the study area.
    #[arg(long, default_value = "0.5,1,2,5")]
    pub coverage: String,
    #[command(flatten)]
    pub method_params: MethodArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Print the contract's JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

fn parse_list<T>(
    text: &str,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> anyhow::Result<Vec<T>> {
    text.split(',')
        .map(|s| parse(s.trim()).ok_or_else(|| anyhow!("{what}: {s:?} is not valid")))
        .collect()
}

pub fn run(config: &Config, args: BacktestArgs) -> Result<(), Failure> {
    let invalid = Failure::Invalid;
    let cut = analysis::parse_date(&args.cut, false)
        .context("--cut")
        .map_err(invalid)?;
    let methods = parse_list(&args.methods, "--methods", |s| {
        s.parse::<BacktestMethod>().ok()
    })
    .map_err(invalid)?;
    let coverages =
        parse_list(&args.coverage, "--coverage", |s| s.parse::<f64>().ok()).map_err(invalid)?;
    if args.periods == 0 {
        return Err(invalid(anyhow!("--periods must be at least 1")));
    }
    let filters = args.filters.to_filters().map_err(invalid)?;
    let store = Store::open(&config.db)?;
    let data = crate::app::dataset::Dataset::load(&store, config)?;
    let prepared = analysis::prepare(config, &data, &filters).map_err(invalid)?;
    for w in &prepared.warnings {
        eprintln!("firefly: warning: {w}");
    }
    eprintln!("{}", crate::app::hotspots::selection_report(&prepared));
    let mut params = ScoringParams::new(jiff::Timestamp::now(), config.tz.clone());
    args.method_params.to_params().apply(&mut params);
    let spec = BacktestSpec {
        window: filters.window.clone(),
        train_days: args.train_days,
        methods,
        coverages,
    };
    // Month-only data (police.uk) can only be tested on whole months.
    let month_only = !prepared.points.is_empty()
        && prepared
            .points
            .iter()
            .all(|p| matches!(p.occurred, OccurredAt::Month(_)));
    let periods: Vec<Period> = if month_only {
        if cut.day() != 1 {
            return Err(invalid(anyhow!(
                "the data has only months (police.uk): --cut must be the first day of a month, e.g. {}",
                cut.first_of_month()
            )));
        }
        eprintln!(
            "month-only data: testing on {} whole month(s) from {cut}",
            args.periods
        );
        backtest::monthly_periods(
            YearMonth {
                year: cut.year(),
                month: cut.month(),
            },
            args.periods,
        )
    } else {
        (0..args.periods)
            .map(|k| {
                let days = (k as u32 * args.test_days) as i32;
                cut.checked_add(jiff::Span::new().days(days))
                    .map(|cut| Period {
                        cut,
                        test_days: args.test_days,
                    })
                    .map_err(|e| anyhow!("--cut plus {days} days: {e}"))
            })
            .collect::<anyhow::Result<_>>()
            .map_err(invalid)?
    };
    let result = backtest::evaluate(
        &prepared.points,
        prepared.grid().map_err(invalid)?,
        &params,
        &spec,
        &periods,
    )
    .map_err(|e| invalid(anyhow!("{e}")))?;
    if result.results.iter().all(|r| r.test_incidents == 0) {
        eprintln!(
            "firefly: warning: no test incidents after {cut}: check --cut, --test-days and --window against the data"
        );
    }
    if args.json {
        // The study area goes with the parameters: PAI's area share is a share of it.
        let mut value = serde_json::to_value(&result).context("serialising the backtest")?;
        if let Some(params) = value.get_mut("params").and_then(|p| p.as_object_mut()) {
            params.insert("area".into(), prepared.area_info.to_json());
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&value).context("serialising the backtest")?
        );
    } else {
        print!("{}", result.to_table());
    }
    Ok(())
}
