//! Scoring at force scale: 1,000,000 fixed-seed incidents (clustered around night-time
//! streets, plus a uniform background) on a 50 m grid over 40 km x 40 km (640,000 cells).
//!
//! Targets (DESIGN.md / issue "Hotspot scoring"): KDE under 1 s on 2 cores.
//! Run with `cargo bench -p planner --bench scoring`.

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use planner::hotspots::grid::Grid;
use planner::hotspots::weights::{Weighed, cell_totals, weigh};
use planner::hotspots::{Method, ScoringParams, ScoringPoint, gistar, kde, prospective, score};
use planner::{Category, OccurredAt};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Duration;

const N: usize = 1_000_000;
const SIDE_M: f64 = 40_000.0;
const X0: f64 = 490_000.0;
const Y0: f64 = 210_000.0;

/// 60 % of incidents within a few hundred metres of 40 night-time centres, 40 % uniform.
/// Times spread over the year before `as_of`; if `recent_days` is given, over that many days.
fn incidents(seed: u64, as_of: Timestamp, recent_days: Option<f64>) -> Vec<ScoringPoint> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<(f64, f64, f64)> = (0..40)
        .map(|_| {
            (
                X0 + rng.random_range(2_000.0..SIDE_M - 2_000.0),
                Y0 + rng.random_range(2_000.0..SIDE_M - 2_000.0),
                rng.random_range(60.0..400.0),
            )
        })
        .collect();
    let categories = [
        Category::ViolenceAndSexual,
        Category::AntiSocialBehaviour,
        Category::PublicOrder,
        Category::TheftFromPerson,
        Category::Robbery,
        Category::PossessionOfWeapons,
    ];
    let span_days = recent_days.unwrap_or(365.0);
    (0..N)
        .map(|_| {
            let (x, y) = if rng.random_bool(0.6) {
                let (cx, cy, sd) = centres[rng.random_range(0..centres.len())];
                // Box-Muller.
                let u1: f64 = rng.random_range(f64::EPSILON..1.0);
                let u2: f64 = rng.random();
                let r = sd * (-2.0 * u1.ln()).sqrt();
                let a = std::f64::consts::TAU * u2;
                (cx + r * a.cos(), cy + r * a.sin())
            } else {
                (
                    X0 + rng.random_range(0.0..SIDE_M),
                    Y0 + rng.random_range(0.0..SIDE_M),
                )
            };
            let age_s = (rng.random_range(0.0..span_days) * 86_400.0) as i64;
            let when = Timestamp::from_second(as_of.as_second() - age_s).unwrap_or(as_of);
            ScoringPoint {
                x,
                y,
                category: categories[rng.random_range(0..categories.len())],
                occurred: OccurredAt::Exact(when),
            }
        })
        .collect()
}

struct Setup {
    grid: Grid,
    params: ScoringParams,
    points: Vec<ScoringPoint>,
    weighed: Weighed,
    recent: Weighed,
}

fn setup() -> Setup {
    let as_of = Timestamp::from_second(1_719_792_000).unwrap_or(Timestamp::UNIX_EPOCH); // 2024-07-01
    let params = ScoringParams::new(as_of, TimeZone::UTC);
    let grid = Grid::from_bbox(50.0, X0, Y0, X0 + SIDE_M - 1.0, Y0 + SIDE_M - 1.0)
        .expect("a 40 km grid is valid");
    assert_eq!(grid.n_inside(), 640_000);
    let points = incidents(2024, as_of, None);
    let weighed = weigh(&grid, &points, &params);
    let recent = weigh(&grid, &incidents(2025, as_of, Some(56.0)), &params);
    Setup {
        grid,
        params,
        points,
        weighed,
        recent,
    }
}

fn scoring(c: &mut Criterion) {
    let s = setup();
    let totals = cell_totals(&s.grid, &s.weighed.points);
    let mut g = c.benchmark_group("scoring_1m_incidents_640k_cells");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.bench_function("weigh", |b| {
        b.iter(|| weigh(&s.grid, black_box(&s.points), &s.params))
    });
    g.bench_function("kde_h200", |b| {
        b.iter(|| kde::kde(&s.grid, black_box(&s.weighed.points), 200.0))
    });
    g.bench_function("gistar_d200", |b| {
        b.iter(|| gistar::gi_star(&s.grid, black_box(&totals.weight), 200.0))
    });
    g.bench_function("prospective_year_of_data", |b| {
        b.iter(|| {
            prospective::prospective(&s.grid, black_box(&s.weighed.points), &s.params.near_repeat)
        })
    });
    g.bench_function("prospective_all_within_8_weeks", |b| {
        b.iter(|| {
            prospective::prospective(&s.grid, black_box(&s.recent.points), &s.params.near_repeat)
        })
    });
    g.bench_function("score_kde_end_to_end", |b| {
        b.iter(|| score(Method::Kde, &s.grid, black_box(&s.points), &s.params))
    });
    g.finish();
}

criterion_group!(benches, scoring);
criterion_main!(benches);
