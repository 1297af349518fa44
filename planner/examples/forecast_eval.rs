//! Rolling monthly evaluation of every forecasting method (issue 15), re-runnable:
//!
//! ```text
//! cargo run --release -p planner --example forecast_eval -- [bound|bedfordshire|chicago|all]
//! ```
//!
//! `bound` (issue 15, second half): how much of the ceiling any forecast could reach on
//! Bedfordshire's months, from Poisson models of each cell's monthly counts (seed fixed,
//! deterministic), and the best blend of the ensemble's components in hindsight; see the
//! comments above `fn bound` and `docs/forecasts.md`.
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
    if which == "bound" || which == "all" {
        bound();
    }
    if which == "bedfordshire" || which == "all" {
        bedfordshire();
    }
    if which == "chicago" || which == "all" {
        chicago();
    }
}

/// Bedfordshire's 12 police.uk months, projected, and the 100 m grid inside the districts.
pub fn bedfordshire_data() -> (Grid, Vec<ScoringPoint>) {
    let crs = Crs::bng();
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
    (grid, all)
}

fn bedfordshire() {
    let tz = london();
    let (grid, all) = bedfordshire_data();
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
    let list = |name: &str| -> Option<Vec<f64>> {
        let v = std::env::var(name).ok()?;
        Some(
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect(),
        )
    };
    if let Some(v) = list("ENSEMBLE_HALF_LIVES") {
        params.ensemble.half_lives = v;
    }
    if let Some(v) = list("ENSEMBLE_BANDWIDTHS") {
        params.ensemble.bandwidths = v;
    }
    if let Some(v) = std::env::var("ENSEMBLE_MAX_INNER_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        params.ensemble.max_inner_cuts = v;
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
    let per_cut: Vec<String> = b
        .periods
        .iter()
        .filter_map(|p| pai("ensemble", p.cut))
        .map(|v| format!("{v:.2}"))
        .collect();
    println!(
        "\nPAI 1 % means: ensemble {e:.3}, naive {n:.3}, ceiling {c:.3}; ensemble per cut [{}]",
        per_cut.join(", ")
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

// The bound: how much of the ceiling can any forecast reach on Bedfordshire's months?
//
// Each cell's incidents in a month are modelled as Poisson around a rate that does not change
// from month to month. Three models of the rates from all 12 months (test months included:
// this is a bound, not a forecast):
//
// - `plug-in`: each cell's 12-month mean. The means are the rates plus Poisson noise, so they
//   are more spread out than the rates: this flatters the oracle.
// - `npmle`: the rates are drawn, in every replicate, from their posterior given the cell's
//   12-month total under a mixing distribution G of the rates fitted to all cells' totals by
//   nonparametric maximum likelihood (EM on a fixed grid of rates). The drawn rates have the
//   spread the data support, no more.
// - `npmle x monthly Gamma`: as `npmle`, each cell's rate multiplied in each month by an
//   independent Gamma(kappa, 1 / kappa) draw (kappa by moments): the months' observed
//   over-dispersion, as noise no forecast can predict.
//
// For each model, replicate years of 12 Poisson months are drawn (seed fixed), and the same
// figures as on the observed months are computed on each of the 9 test months (2023-08 to
// 2024-04 = months 3 to 11): the ceiling (the test month's own counts), naive (the month
// before), history (the sum of every earlier month: under a rate distribution shared by all
// cells this is the Bayes forecast, up to ties) and the oracle (the true rates), all at 1 % of
// the area, ties by cell index as in the backtest. Two more rows rank the observed test months
// by counts no forecast has (all 12 months; the 11 other months, past and future), and
// `hindsight` gives the best blend of the ensemble's own components with the weights chosen
// on the test months themselves.

/// Months of Bedfordshire data, and the index of the first test month (2023-08).
pub const MONTHS: usize = 12;
pub const FIRST_TEST: usize = 3;
/// Replicate years per model, and the seed.
const BOUND_REPLICATES: usize = 40;
const BOUND_SEED: u64 = 15;

fn bound() {
    use rand::SeedableRng;
    let (grid, all) = bedfordshire_data();
    let cells: Vec<usize> = grid.inside_cells().collect();
    let k = backtest::cells_for_coverage(1.0, cells.len());
    let share = k as f64 / cells.len() as f64;
    println!(
        "# Bound: Poisson months around fixed rates, Bedfordshire 2023-05..2024-04, {} cells, \
         1 % = {k} cells, test months 2023-08..2024-04, {BOUND_REPLICATES} replicate years per \
         model, seed {BOUND_SEED}",
        cells.len()
    );
    let nte: Vec<ScoringPoint> = all
        .iter()
        .filter(|p| p.category.is_night_time_economy())
        .copied()
        .collect();
    for (label, points) in [("all categories", &all), ("night-time economy", &nte)] {
        let first = YearMonth {
            year: 2023,
            month: 5,
        };
        let counts = monthly_counts(&grid, &cells, points, first);
        let totals: Vec<u32> = (0..cells.len())
            .map(|i| counts.iter().map(|m| m[i]).sum())
            .collect();
        println!("\n## {label}: {} incidents\n", totals.iter().sum::<u32>());
        println!(
            "month-to-month dispersion (variance / mean of a cell's 12 monthly counts, pooled \
             over cells with a mean of at least 1, 2 and 5 a month; 1 = Poisson): {}",
            [1.0, 2.0, 5.0]
                .iter()
                .map(|&m| format!("{m}: {:.2}", dispersion(&counts, m)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "\n| model | ceiling hit 1 % | naive | history | oracle | oracle / ceiling | oracle / \
             naive | history / ceiling |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        let observed = figures(&counts, None, k);
        print_row("observed", &observed, share);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(BOUND_SEED);
        let plug: Vec<f64> = totals
            .iter()
            .map(|&t| f64::from(t) / MONTHS as f64)
            .collect();
        let sim = simulate(&mut rng, k, None, |_| plug.clone());
        print_row("plug-in", &sim, share);
        let support = rate_support(&totals);
        let g = npmle(&totals, &support, 2000);
        let post = Posterior::new(&totals, &support, &g);
        let sim = simulate(&mut rng, k, None, |rng| {
            post.draw(rng, &totals)
                .into_iter()
                .map(|t| t / MONTHS as f64)
                .collect()
        });
        print_row("npmle", &sim, share);
        // Month-to-month noise on top: rate x Gamma(kappa, 1 / kappa), kappa by moments.
        let kappa = 1.0 / extra_variance(&counts);
        let sim = simulate(&mut rng, k, Some(kappa), |rng| {
            post.draw(rng, &totals)
                .into_iter()
                .map(|t| t / MONTHS as f64)
                .collect()
        });
        print_row(
            &format!("npmle x monthly Gamma (kappa {kappa:.2})"),
            &sim,
            share,
        );
        // Rankings of the observed test months by counts the forecast cannot have: all 12
        // months (the test month included), and the 11 others (past and future).
        let mut in_sample = Figures::default();
        let mut others = Figures::default();
        let mut buf = Vec::new();
        let all12: Vec<f64> = totals.iter().map(|&c| f64::from(c)).collect();
        for test in &counts[FIRST_TEST..MONTHS] {
            let rest: Vec<f64> = totals
                .iter()
                .zip(test)
                .map(|(&a, &c)| f64::from(a - c))
                .collect();
            in_sample.oracle += hit_at(&all12, test, k, &mut buf);
            others.oracle += hit_at(&rest, test, k, &mut buf);
        }
        let cuts = (MONTHS - FIRST_TEST) as f64;
        for (name, f) in [
            ("observed, ranked by all 12 months", in_sample),
            ("observed, ranked by the 11 other months", others),
        ] {
            let f = Figures {
                oracle: f.oracle / cuts,
                ..observed
            };
            print_row(name, &f, share);
        }
        let mass: Vec<String> = [0.0, 1.0, 12.0, 60.0]
            .iter()
            .map(|&t| {
                let w: f64 = support
                    .iter()
                    .zip(&g)
                    .filter(|(s, _)| **s > t)
                    .map(|(_, w)| w)
                    .sum();
                format!("P(12-month rate > {t}) = {w:.4}")
            })
            .collect();
        println!("\nnpmle G: {}", mass.join(", "));
        let (names, w, best, start) = hindsight(&grid, points, &cells, &counts, k, first);
        let blend: Vec<String> = names
            .iter()
            .zip(&w)
            .filter(|(_, w)| **w > 0.0)
            .map(|(n, w)| format!("{n} {w:.3}"))
            .collect();
        println!(
            "\nbest blend of the ensemble's components in hindsight (weights chosen on the test \
             months themselves): hit 1 % {:.2} % (PAI {:.2}), default blend {:.2} % (PAI {:.2}); \
             weights {}",
            100.0 * best,
            best / share,
            100.0 * start,
            start / share,
            blend.join(", ")
        );
    }
}

/// The blend of the ensemble's own components (default parameters, built at each test month's
/// first instant from the months before it, as in the backtest) whose weights maximise the
/// mean hit rate at 1 % over the test months themselves: not a forecast, an upper limit for
/// any weights the ensemble's fit could choose. The same coordinate search on the simplex as
/// the fit, from the default blend. Returns the component names, the weights, their mean hit
/// rate and the default blend's. To keep it fast only the cells among the best `4 k` of some
/// component are ranked (the hit rate's denominator is every test incident).
fn hindsight(
    grid: &Grid,
    points: &[ScoringPoint],
    cells: &[usize],
    counts: &[Vec<u32>],
    k: usize,
    first: YearMonth,
) -> (Vec<String>, Vec<f64>, f64, f64) {
    use planner::hotspots::{ensemble, weights};
    let tz = london();
    let base = i32::from(first.year) * 12 + i32::from(first.month) - 1;
    let month_of = |p: &ScoringPoint| match p.occurred {
        planner::time::OccurredAt::Month(ym) => {
            i32::from(ym.year) * 12 + i32::from(ym.month) - 1 - base
        }
        planner::time::OccurredAt::Exact(_) => i32::MAX,
    };
    let mut names = Vec::new();
    let mut start = Vec::new();
    // Per test month: (component values, row-major per candidate cell; test counts; total).
    let mut cuts: Vec<(Vec<f64>, Vec<u32>, f64)> = Vec::new();
    for (t, month) in counts.iter().enumerate().take(MONTHS).skip(FIRST_TEST) {
        let m = base + t as i32;
        let date = jiff::civil::date((m / 12) as i16, (m % 12 + 1) as i8, 1);
        let as_of = date.to_zoned(tz.clone()).unwrap().timestamp();
        let params = ScoringParams::new(as_of, tz.clone());
        let train: Vec<ScoringPoint> = points
            .iter()
            .filter(|p| month_of(p) < t as i32)
            .copied()
            .collect();
        let w = weights::weigh(grid, &train, &params);
        names = params.ensemble.components();
        start = params.ensemble.default_weights();
        let comps: Vec<Vec<f64>> = (0..names.len())
            .map(|c| {
                let mut unit = vec![0.0; names.len()];
                unit[c] = 1.0;
                let dense = ensemble::blend(grid, &w.points, &params, &unit);
                cells.iter().map(|&i| dense[i]).collect()
            })
            .collect();
        let mut wanted = vec![false; cells.len()];
        let mut buf = Vec::new();
        for c in &comps {
            buf.clear();
            buf.extend(c.iter().enumerate().map(|(i, &v)| (v, i)));
            let top = (4 * k).min(buf.len());
            buf.select_nth_unstable_by(top - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(v, i) in &buf[..top] {
                wanted[i] |= v > 0.0;
            }
        }
        let keep: Vec<usize> = (0..cells.len()).filter(|&i| wanted[i]).collect();
        let feats: Vec<f64> = keep
            .iter()
            .flat_map(|&i| comps.iter().map(move |c| c[i]))
            .collect();
        let test: Vec<u32> = keep.iter().map(|&i| month[i]).collect();
        let total = f64::from(month.iter().sum::<u32>());
        cuts.push((feats, test, total));
    }
    let m = names.len();
    let mut buf = Vec::new();
    let mut mean_hit = |w: &[f64]| -> f64 {
        let mut sum = 0.0;
        for (feats, test, total) in &cuts {
            let score: Vec<f64> = feats
                .chunks_exact(m)
                .map(|row| row.iter().zip(w).map(|(a, b)| a * b).sum())
                .collect();
            let caught = f64::from(test.iter().sum::<u32>());
            if caught > 0.0 {
                sum += hit_at(&score, test, k, &mut buf) * caught / total;
            }
        }
        sum / cuts.len() as f64
    };
    let default = mean_hit(&start);
    let (w, best) = planner::hotspots::ensemble::search(start, default, &mut mean_hit);
    (names, w, best, default)
}

/// Mean hit rates at 1 % over the test months: ceiling, naive, history, oracle (NaN without
/// rates).
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    ceiling: f64,
    naive: f64,
    history: f64,
    oracle: f64,
}

fn print_row(name: &str, f: &Figures, share: f64) {
    let pct = |h: f64| format!("{:.1} % (PAI {:.1})", 100.0 * h, h / share);
    let oracle = if f.oracle.is_nan() {
        "-".to_string()
    } else {
        pct(f.oracle)
    };
    let ratio = |a: f64, b: f64| {
        if a.is_nan() {
            "-".to_string()
        } else {
            format!("{:.3}", a / b)
        }
    };
    println!(
        "| {name} | {} | {} | {} | {oracle} | {} | {} | {:.3} |",
        pct(f.ceiling),
        pct(f.naive),
        pct(f.history),
        ratio(f.oracle, f.ceiling),
        ratio(f.oracle, f.naive),
        f.history / f.ceiling
    );
}

/// The figures of one year of months (`counts[m][i]`), with the true rates when known.
fn figures(counts: &[Vec<u32>], rates: Option<&[f64]>, k: usize) -> Figures {
    let n = counts[0].len();
    let mut history = vec![0.0; n];
    for m in &counts[..FIRST_TEST] {
        for (h, &c) in history.iter_mut().zip(m) {
            *h += f64::from(c);
        }
    }
    let mut f = Figures::default();
    let mut buf = Vec::new();
    for t in FIRST_TEST..MONTHS {
        let test = &counts[t];
        let own: Vec<f64> = test.iter().map(|&c| f64::from(c)).collect();
        let last: Vec<f64> = counts[t - 1].iter().map(|&c| f64::from(c)).collect();
        f.ceiling += hit_at(&own, test, k, &mut buf);
        f.naive += hit_at(&last, test, k, &mut buf);
        f.history += hit_at(&history, test, k, &mut buf);
        f.oracle += rates.map_or(f64::NAN, |r| hit_at(r, test, k, &mut buf));
        for (h, &c) in history.iter_mut().zip(test) {
            *h += f64::from(c);
        }
    }
    let cuts = (MONTHS - FIRST_TEST) as f64;
    Figures {
        ceiling: f.ceiling / cuts,
        naive: f.naive / cuts,
        history: f.history / cuts,
        oracle: f.oracle / cuts,
    }
}

/// The mean figures over replicate years of Poisson months around `rates(rng)` (drawn anew
/// for each year). With `kappa`, each cell's monthly rate is also multiplied by an
/// independent Gamma draw of mean 1 and variance `1 / kappa`.
fn simulate(
    rng: &mut rand_chacha::ChaCha8Rng,
    k: usize,
    kappa: Option<f64>,
    mut rates: impl FnMut(&mut rand_chacha::ChaCha8Rng) -> Vec<f64>,
) -> Figures {
    let mut sum = Figures::default();
    for _ in 0..BOUND_REPLICATES {
        let r = rates(rng);
        let counts: Vec<Vec<u32>> = (0..MONTHS)
            .map(|_| {
                r.iter()
                    .map(|&l| match kappa {
                        None => poisson(rng, l),
                        Some(_) if l == 0.0 => 0,
                        Some(kappa) => {
                            let g = gamma(rng, kappa) / kappa;
                            poisson(rng, l * g)
                        }
                    })
                    .collect()
            })
            .collect();
        let f = figures(&counts, Some(&r), k);
        sum.ceiling += f.ceiling;
        sum.naive += f.naive;
        sum.history += f.history;
        sum.oracle += f.oracle;
    }
    let n = BOUND_REPLICATES as f64;
    Figures {
        ceiling: sum.ceiling / n,
        naive: sum.naive / n,
        history: sum.history / n,
        oracle: sum.oracle / n,
    }
}

/// The moment estimate of `1 / kappa` in `Var = mu + mu^2 / kappa` over all cells:
/// `(sum s^2 - sum xbar) / sum (xbar^2 - s^2 / months)`, with `s^2` each cell's sample
/// variance over the months and `xbar` its mean (`E xbar^2 = mu^2 + Var / months`).
pub fn extra_variance(counts: &[Vec<u32>]) -> f64 {
    let months = counts.len() as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..counts[0].len() {
        let xs: Vec<f64> = counts.iter().map(|m| f64::from(m[i])).collect();
        let mu = xs.iter().sum::<f64>() / months;
        let s2 = xs.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (months - 1.0);
        num += s2 - mu;
        den += mu * mu - s2 / months;
    }
    num / den
}

/// A Gamma(`shape`, 1) draw (Marsaglia and Tsang 2000; shapes below 1 boosted by
/// `U^(1 / shape)`).
pub fn gamma(rng: &mut impl rand::Rng, shape: f64) -> f64 {
    use rand::RngExt;
    if shape < 1.0 {
        let u: f64 = rng.random();
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        // A standard normal by Box-Muller.
        let (u1, u2): (f64, f64) = (rng.random(), rng.random());
        let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let v = (1.0 + c * z).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = rng.random();
        if u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// Incidents per month (from `first`) per study-area cell (in the order of `cells`).
pub fn monthly_counts(
    grid: &Grid,
    cells: &[usize],
    points: &[ScoringPoint],
    first: YearMonth,
) -> Vec<Vec<u32>> {
    let mut pos = vec![usize::MAX; grid.len()];
    for (p, &i) in cells.iter().enumerate() {
        pos[i] = p;
    }
    let mut counts = vec![vec![0u32; cells.len()]; MONTHS];
    let base = i32::from(first.year) * 12 + i32::from(first.month);
    for p in points {
        let planner::time::OccurredAt::Month(ym) = p.occurred else {
            continue;
        };
        let m = i32::from(ym.year) * 12 + i32::from(ym.month) - base;
        if let (Ok(m), Some(i)) = (usize::try_from(m), grid.locate(p.x, p.y))
            && m < MONTHS
        {
            counts[m][pos[i]] += 1;
        }
    }
    counts
}

/// Pooled variance / mean of the monthly counts over cells whose mean is at least `min_mean`.
fn dispersion(counts: &[Vec<u32>], min_mean: f64) -> f64 {
    let months = counts.len() as f64;
    let (mut var, mut mean) = (0.0, 0.0);
    for i in 0..counts[0].len() {
        let xs: Vec<f64> = counts.iter().map(|m| f64::from(m[i])).collect();
        let mu = xs.iter().sum::<f64>() / months;
        if mu >= min_mean {
            var += xs.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (months - 1.0);
            mean += mu;
        }
    }
    var / mean
}

/// The share of `test` incidents in the top `k` cells by `score` (ties by position).
pub fn hit_at(score: &[f64], test: &[u32], k: usize, buf: &mut Vec<(f64, u32)>) -> f64 {
    let total: u32 = test.iter().sum();
    if total == 0 {
        return f64::NAN;
    }
    buf.clear();
    buf.extend(score.iter().enumerate().map(|(i, &s)| (s, i as u32)));
    let k = k.min(buf.len());
    if k < buf.len() {
        buf.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    }
    let hits: u32 = buf[..k].iter().map(|&(_, i)| test[i as usize]).sum();
    f64::from(hits) / f64::from(total)
}

/// A Poisson draw of mean `lambda` (Knuth's product of uniforms, in pieces of mean <= 30 so
/// that `exp(-piece)` stays far from underflow; a sum of Poisson draws is Poisson).
pub fn poisson(rng: &mut impl rand::Rng, lambda: f64) -> u32 {
    use rand::RngExt;
    let mut n = 0;
    let mut rest = lambda;
    while rest > 0.0 {
        let piece = rest.min(30.0);
        rest -= piece;
        let floor = (-piece).exp();
        let mut p: f64 = rng.random();
        while p > floor {
            n += 1;
            p *= rng.random::<f64>();
        }
    }
    n
}

/// The grid of 12-month rates the mixing distribution lives on: 0, then 300 rates spaced
/// geometrically from 0.01 to 1.5 x the largest total.
pub fn rate_support(totals: &[u32]) -> Vec<f64> {
    let top = 1.5 * f64::from(totals.iter().copied().max().unwrap_or(1).max(1));
    let (lo, n) = (0.01f64, 300);
    let mut s = vec![0.0];
    s.extend((0..n).map(|j| lo * (top / lo).powf(j as f64 / (n - 1) as f64)));
    s
}

/// Poisson probability of `s` at mean `mean`.
pub fn poisson_pmf(s: u32, mean: f64) -> f64 {
    if mean == 0.0 {
        return if s == 0 { 1.0 } else { 0.0 };
    }
    let log_fact: f64 = (2..=s).map(|j| f64::from(j).ln()).sum();
    (f64::from(s) * mean.ln() - mean - log_fact).exp()
}

/// The nonparametric maximum-likelihood mixing distribution (weights on `support`) of Poisson
/// observations `totals`: `iters` EM steps from equal weights.
pub fn npmle(totals: &[u32], support: &[f64], iters: usize) -> Vec<f64> {
    let (values, freq) = tally(totals);
    let lik: Vec<Vec<f64>> = values
        .iter()
        .map(|&s| support.iter().map(|&t| poisson_pmf(s, t)).collect())
        .collect();
    let n = totals.len() as f64;
    let mut w = vec![1.0 / support.len() as f64; support.len()];
    let mut acc = vec![0.0; support.len()];
    for _ in 0..iters {
        acc.iter_mut().for_each(|a| *a = 0.0);
        for (row, &f) in lik.iter().zip(&freq) {
            let d: f64 = row.iter().zip(&w).map(|(l, w)| l * w).sum();
            if d > 0.0 {
                for ((a, l), w) in acc.iter_mut().zip(row).zip(&w) {
                    *a += f * l * w / d;
                }
            }
        }
        for (w, a) in w.iter_mut().zip(&acc) {
            *w = a / n;
        }
    }
    w
}

/// Distinct values (ascending) and how often each occurs.
fn tally(totals: &[u32]) -> (Vec<u32>, Vec<f64>) {
    let mut sorted = totals.to_vec();
    sorted.sort_unstable();
    let (mut values, mut freq) = (Vec::new(), Vec::new());
    for s in sorted {
        if values.last() == Some(&s) {
            *freq.last_mut().unwrap() += 1.0;
        } else {
            values.push(s);
            freq.push(1.0);
        }
    }
    (values, freq)
}

/// The posterior of a cell's 12-month rate given its total, under the mixing distribution.
pub struct Posterior {
    support: Vec<f64>,
    /// Per distinct total: the posterior's cumulative distribution over `support`.
    cdf: std::collections::HashMap<u32, Vec<f64>>,
}

impl Posterior {
    pub fn new(totals: &[u32], support: &[f64], g: &[f64]) -> Posterior {
        let (values, _) = tally(totals);
        let cdf = values
            .into_iter()
            .map(|s| {
                let mut c: Vec<f64> = support
                    .iter()
                    .zip(g)
                    .map(|(&t, &w)| w * poisson_pmf(s, t))
                    .collect();
                let mut run = 0.0;
                for v in &mut c {
                    run += *v;
                    *v = run;
                }
                c.iter_mut().for_each(|v| *v /= run);
                (s, c)
            })
            .collect();
        Posterior {
            support: support.to_vec(),
            cdf,
        }
    }

    /// The posterior cumulative distribution of a total `s`.
    pub fn cdf(&self, s: u32) -> &[f64] {
        &self.cdf[&s]
    }

    /// One rate per cell, drawn from its posterior.
    pub fn draw(&self, rng: &mut impl rand::Rng, totals: &[u32]) -> Vec<f64> {
        use rand::RngExt;
        totals
            .iter()
            .map(|s| {
                let c = &self.cdf[s];
                let u: f64 = rng.random();
                let j = c.partition_point(|&v| v < u).min(c.len() - 1);
                self.support[j]
            })
            .collect()
    }
}
