//! Backtests on the real public data in `data/`: Bedfordshire police.uk (month-only, so
//! place-only) and Chicago 2019 aggravated assaults (timed, weekend nights).
//!
//! The asserted properties can fail: every method x coverage has a result, hit rates are
//! shares, the ceiling bounds every method, and on Chicago's concentrated violence some
//! method beats a PAI of 2 at 5 % of the area in every period. The PAI tables are printed
//! (`-- --nocapture`) for the README; the release CLI produces the published figures.
//!
//! Reading the Bedfordshire figures: police.uk moves every incident to one of a fixed set of
//! anonymising snap points, so a month's incidents sit in a few thousand cells and the
//! ceiling catches all of them in 0.5 % of the area. PAIs there are far higher than on exact
//! locations; compare methods with each other, the naive baseline and the ceiling, not with
//! published PAIs from other data.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use jiff::civil::Date;
use jiff::tz::TimeZone;
use planner::area::Areas;
use planner::backtest::{
    Backtest, BacktestMethod, BacktestSpec, CEILING, evaluate, monthly_periods, rolling,
};
use planner::crs::{Crs, CrsKind};
use planner::hotspots::grid::Grid;
use planner::hotspots::{ScoringParams, ScoringPoint};
use planner::import::{police_uk, us_open_data};
use planner::time::{YearMonth, london};
use planner::window::WindowSpec;
use planner::{Incident, OccurredAt};
use std::path::PathBuf;
use std::time::Instant;

const COVERAGES: [f64; 5] = [0.5, 1.0, 2.0, 5.0, 10.0];

fn data(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data")).join(path)
}

/// Night-time-economy incidents (the scoring default), projected; unprojectable ones dropped.
fn project(incidents: &[Incident], crs: &Crs) -> Vec<ScoringPoint> {
    incidents
        .iter()
        .filter(|i| i.category.is_night_time_economy())
        .filter_map(|i| {
            let p = crs.project(i.lon, i.lat).ok()?;
            Some(ScoringPoint {
                x: p.x,
                y: p.y,
                category: i.category,
                occurred: i.occurred,
            })
        })
        .collect()
}

/// The properties every backtest must have.
fn check(b: &Backtest, n_periods: usize) {
    let n_methods = BacktestMethod::ALL.len() + 1;
    assert_eq!(b.periods.len(), n_periods);
    assert_eq!(b.results.len(), n_periods * n_methods * COVERAGES.len());
    for p in &b.periods {
        assert!(p.test_incidents > 100, "{p:?}");
        for m in BacktestMethod::ALL
            .iter()
            .map(|m| m.as_str())
            .chain([CEILING])
        {
            for c in COVERAGES {
                let rows: Vec<_> = b
                    .results
                    .iter()
                    .filter(|r| r.cut == p.cut && r.method == m && r.coverage == c)
                    .collect();
                assert_eq!(rows.len(), 1, "{} {m} {c}", p.cut);
            }
        }
    }
    for r in &b.results {
        let hit = r.hit_rate.unwrap();
        let pai = r.pai.unwrap();
        assert!((0.0..=1.0).contains(&hit), "{r:?}");
        assert!(pai >= 0.0 && pai.is_finite(), "{r:?}");
        assert!(r.area_share <= r.coverage / 100.0 + 1.0 / b.params.n_cells as f64);
        let ceiling = b
            .results
            .iter()
            .find(|c| c.method == CEILING && c.cut == r.cut && c.coverage == r.coverage)
            .unwrap();
        assert!(ceiling.pai.unwrap() >= pai - 1e-12, "{r:?} vs {ceiling:?}");
        assert!(ceiling.hits >= r.hits);
    }
    // A wider map never catches fewer incidents.
    for p in &b.periods {
        for m in b.params.methods.iter().map(String::as_str).chain([CEILING]) {
            let hits: Vec<usize> = COVERAGES
                .iter()
                .map(|c| {
                    b.results
                        .iter()
                        .find(|r| r.cut == p.cut && r.method == m && r.coverage == *c)
                        .unwrap()
                        .hits
                })
                .collect();
            assert!(hits.windows(2).all(|w| w[0] <= w[1]), "{m} {hits:?}");
        }
    }
}

fn pai(b: &Backtest, cut: Date, method: &str, coverage: f64) -> f64 {
    b.results
        .iter()
        .find(|r| r.cut == cut && r.method == method && r.coverage == coverage)
        .and_then(|r| r.pai)
        .unwrap()
}

#[test]
fn bedfordshire_police_uk_place_only() {
    let started = Instant::now();
    let mut files: Vec<PathBuf> = std::fs::read_dir(data("police-uk/bedfordshire/street"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 12);
    let mut incidents = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let r = police_uk::read(&name, &std::fs::read(path).unwrap()[..]);
        assert!(r.is_clean(), "{name}");
        incidents.extend(r.records);
    }
    let crs = Crs::bng();
    let points = project(&incidents, &crs);
    assert!(
        points
            .iter()
            .all(|p| matches!(p.occurred, OccurredAt::Month(_)))
    );
    let text = std::fs::read_to_string(data("boundaries/bedfordshire_lad20.geojson")).unwrap();
    let boundary = Areas::from_geojson(&text, &["lad20nm"], &["lad20cd"])
        .unwrap()
        .projected(&crs)
        .unwrap();
    let grid = Grid::from_boundary(50.0, &boundary).unwrap();

    let params = ScoringParams::new("2024-02-01T00:00:00Z".parse().unwrap(), london());
    let mut spec = BacktestSpec::new(WindowSpec::weekend_nights());
    spec.train_days = 270;
    spec.coverages = COVERAGES.to_vec();
    // February, March and April 2024, each a whole month (police.uk gives only months).
    let periods = monthly_periods(
        YearMonth {
            year: 2024,
            month: 2,
        },
        3,
    );
    let b = evaluate(&points, &grid, &params, &spec, &periods).unwrap();
    eprintln!(
        "Bedfordshire police.uk, NTE categories, place-only; {} cells of 50 m inside the \
         three districts; train 270 days; {} incidents given ({:.1} s debug)\n{}",
        grid.n_inside(),
        points.len(),
        started.elapsed().as_secs_f64(),
        b.to_table()
    );
    check(&b, 3);
    for p in &b.periods {
        // Month-only data: every test incident is place-only, no month straddles a cut on
        // the 1st, and the month the 270-day train span starts in is only partly inside.
        assert_eq!(p.test_place_only, p.test_incidents);
        assert_eq!(p.train_place_only, p.train_incidents);
        assert_eq!(p.place_only_straddling_cut, 0);
        assert!(p.place_only_partial > 0);
        // Bedfordshire's NTE harm is concentrated in Luton and Bedford town centres.
        assert!(pai(&b, p.cut, "count", 1.0) > 5.0);
    }
}

#[test]
fn chicago_2019_weekend_nights() {
    let started = Instant::now();
    let file = "us/chicago_aggravated_assaults_2019.csv";
    let r = us_open_data::read(
        file,
        std::fs::File::open(data(file)).unwrap(),
        us_open_data::UsSource::Chicago,
    );
    assert!(r.is_clean());
    assert_eq!(r.records.len(), 15_328);
    let mut lons: Vec<f64> = r.records.iter().map(|i| i.lon).collect();
    let mut lats: Vec<f64> = r.records.iter().map(|i| i.lat).collect();
    lons.sort_by(f64::total_cmp);
    lats.sort_by(f64::total_cmp);
    let kind = CrsKind::auto_for(lons[lons.len() / 2], lats[lats.len() / 2]);
    assert_eq!(
        kind,
        CrsKind::Utm {
            zone: 16,
            north: true
        }
    );
    let crs = Crs::new(kind);
    let points = project(&r.records, &crs);
    assert_eq!(points.len(), 15_328);
    // Study area: the bounding box of the points. Guard against a stray geocode stretching
    // it: Chicago is about 30 km x 40 km.
    let grid = Grid::from_points(50.0, points.iter().map(|p| (p.x, p.y))).unwrap();
    let (w, h) = (grid.ncols() as f64 * 50.0, grid.nrows() as f64 * 50.0);
    assert!(w < 40_000.0 && h < 50_000.0, "{w} x {h} m");

    let tz = TimeZone::get("America/Chicago").unwrap();
    let params = ScoringParams::new("2019-10-01T05:00:00Z".parse().unwrap(), tz);
    let mut spec = BacktestSpec::new(WindowSpec::weekend_nights());
    spec.train_days = 270;
    spec.coverages = COVERAGES.to_vec();
    let first: Date = "2019-10-01".parse().unwrap();
    let b = rolling(&points, &grid, &params, &spec, first, 28, 3).unwrap();
    eprintln!(
        "Chicago 2019 aggravated assaults, weekend nights (Fri/Sat 18:00-06:00 America/Chicago); \
         bbox of the points, {} cells of 50 m; train 270 days, test 28 days ({:.1} s debug)\n{}",
        grid.n_inside(),
        started.elapsed().as_secs_f64(),
        b.to_table()
    );
    check(&b, 3);
    for p in &b.periods {
        assert_eq!(p.test_place_only, 0);
        let best = BacktestMethod::ALL
            .iter()
            .map(|m| pai(&b, p.cut, m.as_str(), 5.0))
            .fold(0.0, f64::max);
        assert!(best > 2.0, "{}: best PAI at 5 % is {best}", p.cut);
    }
    // The DST change (3 November 2019, inside the night of Saturday 2 November) falls in
    // the second period; its 13-hour night is one night of the test.
    assert_eq!(b.periods[1].cut.to_string(), "2019-10-29");
}
