//! Cancellation reaches the long computations: with a tripped token in scope, scoring (dense
//! and sparse), backtests and zones stop with a `Cancelled` error and never return a partial
//! answer; without one, the same calls succeed.

use jiff::tz::TimeZone;
use planner::backtest::{BacktestError, BacktestSpec, backtest};
use planner::cancel::{Cancel, scope};
use planner::hotspots::area::CellArea;
use planner::hotspots::grid::Grid;
use planner::hotspots::sparse::score_area;
use planner::hotspots::{Method, ScoringError, ScoringParams, ScoringPoint, score};
use planner::window::WindowSpec;
use planner::{Category, OccurredAt};

fn points() -> Vec<ScoringPoint> {
    (0..200)
        .map(|i| ScoringPoint {
            x: 1_000.0 + f64::from(i % 20) * 37.0,
            y: 1_000.0 + f64::from(i / 20) * 41.0,
            category: Category::Violence,
            occurred: OccurredAt::Exact(
                format!("2024-01-{:02}T22:00:00Z", 1 + i % 28)
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
        })
        .collect()
}

fn params() -> ScoringParams {
    ScoringParams::new(
        "2024-02-01T00:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
        TimeZone::UTC,
    )
}

fn tripped() -> Cancel {
    let token = Cancel::new();
    token.cancel();
    token
}

#[test]
fn scoring_stops_when_cancelled_and_runs_otherwise() {
    let grid = Grid::from_bbox(50.0, 0.0, 0.0, 3_000.0, 3_000.0).unwrap_or_else(|e| panic!("{e}"));
    let area = CellArea::from_bbox(50.0, 0.0, 0.0, 3_000.0, 3_000.0);
    let (pts, p) = (points(), params());
    for method in [
        Method::Count,
        Method::Kde,
        Method::GiStar,
        Method::Prospective,
    ] {
        assert!(score(method, &grid, &pts, &p).is_ok(), "{method:?}");
        assert!(score_area(method, &area, &pts, &p).is_ok(), "{method:?}");
        let dense = scope(&tripped(), || score(method, &grid, &pts, &p));
        assert!(
            matches!(dense, Err(ScoringError::Cancelled(_))),
            "{method:?}"
        );
        let sparse = scope(&tripped(), || score_area(method, &area, &pts, &p));
        assert!(
            matches!(sparse, Err(ScoringError::Cancelled(_))),
            "{method:?}"
        );
    }
    // An untripped token in scope changes nothing.
    let live = Cancel::new();
    let a = scope(&live, || score(Method::Kde, &grid, &pts, &p)).map(|s| s.cells.len());
    let b = score(Method::Kde, &grid, &pts, &p).map(|s| s.cells.len());
    assert_eq!(a.ok(), b.ok());
}

#[test]
fn a_backtest_stops_when_cancelled() {
    let grid = Grid::from_bbox(50.0, 0.0, 0.0, 3_000.0, 3_000.0).unwrap_or_else(|e| panic!("{e}"));
    let (pts, p) = (points(), params());
    let spec = BacktestSpec::new(WindowSpec::all());
    let cut = "2024-01-15".parse().unwrap_or_else(|e| panic!("{e}"));
    assert!(backtest(&pts, &grid, &p, &spec, cut, 7).is_ok());
    let stopped = scope(&tripped(), || backtest(&pts, &grid, &p, &spec, cut, 7));
    assert!(
        matches!(
            stopped,
            Err(BacktestError::Scoring(ScoringError::Cancelled(_)))
        ),
        "{stopped:?}"
    );
}
