//! The validation every hotspot answer carries (issue 15): how the answer's method did on
//! the most recent periods it had not seen (PAI and hit rate at 1 % and 5 % of the study
//! area, mean and spread over the periods), beside the naive baseline (last period's counts)
//! and the ceiling (the test period's own counts). A planner reads a hotspot map against
//! these numbers, not against how convincing it looks.
//!
//! The evaluation is `planner::backtest::validate`: each held-out period is scored from the
//! year before it only, exactly as `firefly backtest` does. It is computed on the answer's own
//! selection (filters, window, cell, study area), so the CLI's figures are those of the area
//! asked for. The server validates over the study area without the viewport's bbox (a
//! viewport is where the map looks, not what the forecast is for) and caches the block per
//! request and data version.

use super::Failure;
use super::analysis::{self, Prepared};
use super::hotspots::{self, HotspotRequest, Hotspots};
use crate::config::Config;
use planner::backtest::{Measures, Validation, ValidationSpec};
use planner::hotspots::{Method, ScoringParams};
use planner::window::WindowSpec;
use serde_json::{Value, json};

/// The validation block of `h`'s answer: the evaluation with a one-line `summary`, or
/// `{"available": false, "reason"}` when the data hold no period to test on.
pub fn of(h: &Hotspots) -> Value {
    evaluate(&h.prepared, &h.params, h.scored.method, &h.filters.window)
}

fn evaluate(
    prepared: &Prepared,
    params: &ScoringParams,
    method: Method,
    window: &WindowSpec,
) -> Value {
    let spec = ValidationSpec::new(window.clone());
    // Backtests score the dense grid of the study area (built once, on first use).
    let grid = match prepared.grid() {
        Ok(grid) => grid,
        Err(e) => return json!({"available": false, "reason": format!("{e:#}")}),
    };
    match planner::backtest::validate(&prepared.points, grid, params, method, &spec) {
        Ok(v) => block(&v),
        Err(e) => unavailable(&e.to_string()),
    }
}

/// The validation block of the answer `req` asks for, computed on its own (the server's
/// path: one block serves every viewport of the same request): the selection is prepared,
/// not scored, since only the held-out periods are. `on_prepared` may refuse the selection
/// (too much work); any failure becomes an unavailable block naming it, never a failed
/// answer.
pub fn for_request(
    config: &Config,
    data: &super::dataset::Dataset,
    req: &HotspotRequest,
    on_prepared: &mut dyn FnMut(&Prepared) -> Result<(), Failure>,
) -> Value {
    let prepared = (|| {
        let filters = req.filters.to_filters().map_err(Failure::Invalid)?;
        let prepared = analysis::prepare(config, data, &filters).map_err(Failure::Invalid)?;
        on_prepared(&prepared)?;
        let params = hotspots::params(config, &prepared, req).map_err(Failure::Invalid)?;
        Ok::<_, Failure>((prepared, params, filters))
    })();
    match prepared {
        Ok((prepared, params, filters)) => {
            evaluate(&prepared, &params, req.method, &filters.window)
        }
        Err(e) => json!({"available": false, "reason": e.to_string()}),
    }
}

/// Scorings a validation block costs: one per held-out period.
pub const PERIODS: f64 = planner::backtest::DEFAULT_VALIDATION_PERIODS as f64;

/// Held-out periods plus the answer itself: how many scorings an answer with its
/// validation costs, against one without.
pub const SCORINGS: f64 = PERIODS + 1.0;

fn unavailable(reason: &str) -> Value {
    json!({
        "available": false,
        "reason": format!("no held-out period to validate on: {reason} (the data need at least two months, or two test periods of timed incidents)"),
    })
}

fn block(v: &Validation) -> Value {
    let mut value = serde_json::to_value(v).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("available".into(), Value::Bool(true));
        map.insert("summary".into(), Value::String(summary(v)));
    }
    value
}

/// "PAI at 1 %: 63.8 ± 1.9 over 6 held-out months (naive 57.6, ceiling 82.0)".
pub fn summary(v: &Validation) -> String {
    let unit = match (v.unit, v.periods.len()) {
        ("month", 1) => "month",
        ("month", _) => "months",
        (_, 1) => "period",
        _ => "periods",
    };
    let pai = |m: &Measures| match m.pai {
        Some(s) => match s.sd {
            Some(sd) => format!("{:.1} ± {:.1}", s.mean, sd),
            None => format!("{:.1}", s.mean),
        },
        None => "n/a".into(),
    };
    let Some(row) = v.rows.iter().find(|r| r.coverage == 1.0).or(v.rows.first()) else {
        return format!("{}: no coverage level evaluated", v.method);
    };
    format!(
        "{} PAI at {} %: {} over {} held-out {unit} (naive {}, ceiling {})",
        v.method,
        row.coverage,
        pai(&row.method),
        v.periods.len(),
        pai(&row.naive),
        pai(&row.ceiling),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use planner::backtest::{Stats, ValidationRow};

    fn measures(mean: f64, sd: Option<f64>) -> Measures {
        let s = Stats {
            n: 2,
            mean,
            sd,
            min: mean,
            max: mean,
        };
        Measures {
            pai: Some(s),
            hit_rate: Some(s),
        }
    }

    #[test]
    fn the_summary_names_method_coverage_spread_and_references() {
        let v = Validation {
            method: "ensemble".into(),
            unit: "month",
            periods: vec![],
            train_days: 365,
            window: "all".into(),
            rows: vec![
                ValidationRow {
                    coverage: 5.0,
                    method: measures(19.0, Some(0.5)),
                    naive: measures(14.0, None),
                    ceiling: measures(20.0, None),
                },
                ValidationRow {
                    coverage: 1.0,
                    method: measures(63.84, Some(1.94)),
                    naive: measures(57.6, Some(1.3)),
                    ceiling: measures(82.0, None),
                },
            ],
            ensemble_fits: vec![],
        };
        assert_eq!(
            summary(&v),
            "ensemble PAI at 1 %: 63.8 ± 1.9 over 0 held-out months (naive 57.6 ± 1.3, ceiling 82.0)"
        );
        let b = block(&v);
        assert_eq!(b["available"], true);
        assert_eq!(b["rows"][1]["method"]["pai"]["mean"], 63.84);
    }
}
