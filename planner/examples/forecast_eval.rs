//! Rolling monthly evaluation of every forecasting method (issue 15), re-runnable:
//!
//! ```text
//! cargo run --release -p planner --example forecast_eval -- [bedfordshire|chicago|all]
//! ```
//!
//! Bedfordshire: the 12 months of police.uk street crime in `data/police-uk/bedfordshire`
//! (read with planner's police.uk importer), 100 m cells inside the three districts
//! (`data/boundaries/bedfordshire_lad20.geojson`). For every month with at least 3 months
//! before it, train on all earlier months and test on that month: 9 cuts (2023-08 to
//! 2024-04). Categories: all, and the night-time-economy default; windows `all` and
//! `weekend-nights` (police.uk months have no hour, so they count for place in both: the
//! figures must agree, which the run checks).
//!
//! Chicago: the 2019 aggravated assaults (exact times, America/Chicago, UTM 16N), 100 m cells
//! over the incidents' bounding box, the same monthly cuts (2019-04 to 2019-12), windows
//! `all` and `weekend-nights`.
//!
//! Printed per method (naive, count, kde, gistar, prospective, ensemble) and the ceiling:
//! mean ± sample sd over the cuts of PAI and hit rate at 1 % and 5 %; the fitted ensemble
//! blends; the target check (ensemble PAI at 1 % >= 1.2 x naive and >= 85 % of the
//! ceiling, averaged over the cuts); and the time of `backtest::validate` for the ensemble.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use planner::area::Areas;
use planner::backtest::{
    self, Backtest, BacktestMethod, BacktestSpec, Period, ValidationSpec, monthly_periods,
};
use planner::crs::{Crs, CrsKind};
use planner::hotspots::grid::Grid;
use planner::hotspots::{Method, ScoringParams, ScoringPoint};
use planner::import::{police_uk, us_open_data};
use planner::time::{YearMonth, london};
use planner::window::WindowSpec;
use std::path::PathBuf;
use std::time::Instant;

fn data(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data")).join(path)
}

const METHODS: [BacktestMethod; 6] = [
    BacktestMethod::Naive,
    BacktestMethod::Score(Method::Count),
    BacktestMethod::Score(Method::Kde),
    BacktestMethod::Score(Method::GiStar),
    BacktestMethod::Score(Method::Prospective),
    BacktestMethod::Score(Method::Ensemble),
];

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if which == "bedfordshire" || which == "all" {
        bedfordshire();
    }
    if which == "chicago" || which == "all" {
        chicago();
    }
}

fn bedfordshire() {
    let crs = Crs::bng();
    let tz = london();
    let mut all = Vec::new();
    let dir = data("police-uk/bedfordshire/street");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 12);
    for f in &files {
        let import = police_uk::read("f", &std::fs::read(f).unwrap()[..]);
        for i in &import.records {
            if let Ok(p) = crs.project(i.lon, i.lat) {
                all.push(ScoringPoint {
                    x: p.x,
                    y: p.y,
                    category: i.category,
                    occurred: i.occurred,
                });
            }
        }
    }
    let text = std::fs::read_to_string(data("boundaries/bedfordshire_lad20.geojson")).unwrap();
    let districts = Areas::from_geojson(&text, &["lad20nm"], &[]).unwrap();
    let grid = Grid::from_boundary(100.0, &districts.projected(&crs).unwrap()).unwrap();
    let nte: Vec<ScoringPoint> = all
        .iter()
        .filter(|p| p.category.is_night_time_economy())
        .copied()
        .collect();
    // 2023-05 .. 2024-04: test 2023-08 .. 2024-04, each trained on every earlier month.
    let periods = monthly_periods(
        YearMonth {
            year: 2023,
            month: 8,
        },
        9,
    );
    println!(
        "# Bedfordshire police.uk, 12 months 2023-05..2024-04, 100 m cells inside the three \
         districts ({} cells), 9 monthly cuts 2023-08..2024-04, training on all earlier months",
        grid.n_inside()
    );
    for (label, points) in [("all categories", &all), ("night-time economy", &nte)] {
        let mut first: Option<Backtest> = None;
        for window in [WindowSpec::all(), WindowSpec::weekend_nights()] {
            let b = run(label, &grid, points, &tz, &window, &periods);
            match &first {
                None => first = Some(b),
                Some(a) => assert_eq!(
                    a.results, b.results,
                    "month-only data must score alike in every window"
                ),
            }
        }
        time_validation(label, &grid, points, &tz);
    }
}

fn chicago() {
    let tz = jiff::tz::TimeZone::get("America/Chicago").unwrap();
    let bytes = std::fs::read(data("us/chicago_aggravated_assaults_2019.csv")).unwrap();
    let import = us_open_data::read("chicago", &bytes[..], us_open_data::UsSource::Chicago);
    let first = &import.records[0];
    let crs = Crs::new(CrsKind::auto_for(first.lon, first.lat));
    let points: Vec<ScoringPoint> = import
        .records
        .iter()
        .filter_map(|i| {
            let p = crs.project(i.lon, i.lat).ok()?;
            Some(ScoringPoint {
                x: p.x,
                y: p.y,
                category: i.category,
                occurred: i.occurred,
            })
        })
        .collect();
    let grid = Grid::from_points(100.0, points.iter().map(|p| (p.x, p.y))).unwrap();
    let periods = monthly_periods(
        YearMonth {
            year: 2019,
            month: 4,
        },
        9,
    );
    println!(
        "# Chicago 2019 aggravated assaults ({} incidents, exact times), 100 m cells over their \
         bounding box ({} cells), 9 monthly cuts 2019-04..2019-12, training on all earlier months",
        points.len(),
        grid.n_inside()
    );
    for window in [WindowSpec::all(), WindowSpec::weekend_nights()] {
        run("aggravated assault", &grid, &points, &tz, &window, &periods);
    }
    time_validation("aggravated assault", &grid, &points, &tz);
}

fn run(
    label: &str,
    grid: &Grid,
    points: &[ScoringPoint],
    tz: &jiff::tz::TimeZone,
    window: &WindowSpec,
    periods: &[Period],
) -> Backtest {
    let mut params = ScoringParams::new(jiff::Timestamp::now(), tz.clone());
    // For experiments: the weight of the 5 % hit rate in the ensemble's fit objective.
    if let Some(w) = std::env::var("ENSEMBLE_SECONDARY_WEIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        params.ensemble.secondary_weight = w;
    }
    let spec = BacktestSpec {
        window: window.clone(),
        // Every earlier month: the data hold at most a year before the last cut.
        train_days: 366,
        methods: METHODS.to_vec(),
        coverages: vec![1.0, 5.0],
    };
    let t = Instant::now();
    let b = backtest::evaluate(points, grid, &params, &spec, periods).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let tests: Vec<usize> = b.periods.iter().map(|p| p.test_incidents).collect();
    println!("\n## {label}, window {window} ({secs:.1} s; test incidents per cut {tests:?})\n");
    println!("| method | PAI 1 % | hit 1 % | PAI 5 % | hit 5 % |");
    println!("|---|---|---|---|---|");
    let cell = |name: &str, cov: f64, pai: bool| -> String {
        let r = b
            .summary
            .iter()
            .find(|r| r.method == name && r.coverage == cov)
            .unwrap();
        let st = if pai { r.pai } else { r.hit_rate };
        let Some(st) = st else { return "-".into() };
        let scale = if pai { 1.0 } else { 100.0 };
        format!(
            "{:.1} ± {:.1}",
            st.mean * scale,
            st.sd.unwrap_or(0.0) * scale
        )
    };
    for name in [
        "naive",
        "count",
        "kde",
        "gistar",
        "prospective",
        "ensemble",
        "ceiling",
    ] {
        println!(
            "| {name} | {} | {} % | {} | {} % |",
            cell(name, 1.0, true),
            cell(name, 1.0, false),
            cell(name, 5.0, true),
            cell(name, 5.0, false)
        );
    }
    // Target: ensemble PAI at 1 % >= 1.2 x naive and >= 85 % of the ceiling, averaged.
    let pai = |name: &str, cut| {
        b.results
            .iter()
            .find(|r| r.method == name && r.coverage == 1.0 && r.cut == cut)
            .and_then(|r| r.pai)
    };
    let (mut vs_naive, mut vs_ceiling) = (Vec::new(), Vec::new());
    for p in &b.periods {
        if let (Some(e), Some(n), Some(c)) = (
            pai("ensemble", p.cut),
            pai("naive", p.cut),
            pai("ceiling", p.cut),
        ) {
            vs_naive.push(e / n);
            vs_ceiling.push(e / c);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let m = |name: &str| {
        b.summary
            .iter()
            .find(|r| r.method == name && r.coverage == 1.0)
            .and_then(|r| r.pai)
            .map_or(f64::NAN, |s| s.mean)
    };
    let (e, n, c) = (m("ensemble"), m("naive"), m("ceiling"));
    let beats = |v: &[f64], bar: f64| v.iter().filter(|x| **x >= bar).count();
    println!(
        "\ntarget (PAI 1 %): ensemble / naive = {:.3} (ratio of means; mean of per-cut ratios \
         {:.3}, {}/{} cuts >= 1.2) -> {}; ensemble / ceiling = {:.3} (mean of ratios {:.3}, \
         {}/{} cuts >= 0.85) -> {}",
        e / n,
        mean(&vs_naive),
        beats(&vs_naive, 1.2),
        vs_naive.len(),
        if e >= 1.2 * n { "met" } else { "NOT met" },
        e / c,
        mean(&vs_ceiling),
        beats(&vs_ceiling, 0.85),
        vs_ceiling.len(),
        if e >= 0.85 * c { "met" } else { "NOT met" },
    );
    println!("\nensemble blends (fitted inside each training span):\n");
    for f in &b.ensemble_fits {
        let w: Vec<String> = f
            .fit
            .components
            .iter()
            .zip(&f.fit.weights)
            .filter(|(_, w)| **w > 0.0)
            .map(|(c, w)| format!("{c} {w:.3}"))
            .collect();
        println!(
            "- {}: {} ({} inner cuts{})",
            f.cut,
            w.join(", "),
            f.fit.inner_cuts,
            if f.fit.fitted { "" } else { ", default blend" }
        );
    }
    b
}

fn time_validation(label: &str, grid: &Grid, points: &[ScoringPoint], tz: &jiff::tz::TimeZone) {
    let params = ScoringParams::new(jiff::Timestamp::now(), tz.clone());
    for method in [Method::Ensemble, Method::Kde] {
        let spec = ValidationSpec::new(WindowSpec::weekend_nights());
        let t = Instant::now();
        let v = backtest::validate(points, grid, &params, method, &spec).unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "\nvalidate({label}, {method}): {secs:.2} s over {} periods",
            v.periods.len()
        );
        println!("{}", serde_json::to_string(&v).unwrap());
    }
}
