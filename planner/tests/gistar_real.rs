//! Gi* on a real grid: police.uk incidents over Luton, inside the real district boundary,
//! against the textbook formula of DESIGN.md evaluated naively here, cell by cell.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use planner::area::Areas;
use planner::crs::Crs;
use planner::hotspots::grid::Grid;
use planner::hotspots::{ScoringParams, ScoringPoint, gistar, weights};
use planner::import::police_uk;
use std::path::PathBuf;

fn data(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data")).join(path)
}

#[test]
fn gi_star_matches_the_textbook_formula_on_luton() {
    let crs = Crs::bng();
    let mut points = Vec::new();
    for month in ["2023-12", "2024-01", "2024-02"] {
        let path = data(&format!(
            "police-uk/bedfordshire/street/{month}-bedfordshire-street.csv"
        ));
        let r = police_uk::read("f", &std::fs::read(path).unwrap()[..]);
        for i in r
            .records
            .iter()
            .filter(|i| i.category.is_night_time_economy())
        {
            if let Ok(p) = crs.project(i.lon, i.lat) {
                points.push(ScoringPoint {
                    x: p.x,
                    y: p.y,
                    category: i.category,
                    occurred: i.occurred,
                });
            }
        }
    }
    let text = std::fs::read_to_string(data("boundaries/bedfordshire_lad20.geojson")).unwrap();
    let mut luton = Areas::from_geojson(&text, &["lad20nm"], &[]).unwrap();
    luton.areas.retain(|a| a.name == "Luton");
    // 100 m cells over Luton: a few thousand cells, most of them with real incidents near.
    let grid = Grid::from_boundary(100.0, &luton.projected(&crs).unwrap()).unwrap();
    let n_inside = grid.n_inside();
    assert!(n_inside > 3_000, "{n_inside} cells");
    let params = ScoringParams::new(
        "2024-03-01T00:00:00Z".parse().unwrap(),
        planner::time::london(),
    );
    let weighed = weights::weigh(&grid, &points, &params);
    let x = weights::cell_totals(&grid, &weighed.points).weight;
    assert!(
        weighed.points.len() > 3_000,
        "{} incidents",
        weighed.points.len()
    );

    for distance in [150.0, 300.0] {
        let field = gistar::gi_star(&grid, &x, distance);
        // DESIGN.md: n cells of the study area, mean X, S = sqrt(sum x^2 / n - X^2),
        // Gi* = (sum_j w_ij x_j - X sum_j w_ij) / (S sqrt((n sum_j w_ij^2 - (sum_j w_ij)^2) / (n - 1))).
        let inside: Vec<usize> = (0..grid.len()).filter(|&i| grid.is_inside(i)).collect();
        let n = inside.len() as f64;
        let mean = inside.iter().map(|&i| x[i]).sum::<f64>() / n;
        let s = (inside.iter().map(|&i| x[i] * x[i]).sum::<f64>() / n - mean * mean).sqrt();
        let mut checked = 0;
        for &i in inside.iter().step_by(7) {
            let (xi, yi) = grid.centre(i);
            let (mut wx, mut w) = (0.0, 0.0);
            for &j in &inside {
                let (xj, yj) = grid.centre(j);
                if ((xi - xj).powi(2) + (yi - yj).powi(2)).sqrt() <= distance {
                    wx += x[j];
                    w += 1.0;
                }
            }
            let z = (wx - mean * w) / (s * ((n * w - w * w) / (n - 1.0)).sqrt());
            assert!(
                (field.z[i] - z).abs() < 1e-9,
                "cell {}: {} vs {z}",
                grid.id(i),
                field.z[i]
            );
            checked += 1;
        }
        assert!(checked > 400);
        assert!(
            field.z.iter().any(|&z| z > 10.0),
            "real NTE data has strong hot spots"
        );
    }
}
