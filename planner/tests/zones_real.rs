//! Patrol zones on real public data: a year of Bedfordshire police.uk incidents
//! (night-time-economy categories, KDE with the default 100 m bandwidth on 50 m cells inside
//! the three districts' boundary) and the OpenStreetMap pubs of January 2022, ranked by
//! venue risk.
//!
//! The asserted properties can fail: there are zones in Luton's and Bedford's town centres,
//! every zone keeps every cell corner within 300 m of its centre (checked corner by corner
//! here, not with the planner's own `reach`), the polygons are valid, disjoint and as large
//! as their cells, zones are named after real pubs, and police.uk's month-only data gives
//! prior-derived (labelled) hourly risk. The zone list is printed (`-- --nocapture`).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use geo::{Area, BooleanOps, Distance, Euclidean, Point, Validation};
use planner::area::Areas;
use planner::crs::Crs;
use planner::hotspots::grid::Grid;
use planner::hotspots::profile::ProfileSource;
use planner::hotspots::{Method, ScoringParams, ScoringPoint, method_scores, weights};
use planner::import::{police_uk, premises};
use planner::time::london;
use planner::venue_risk::{Venue, VenueRiskParams, venue_risk};
use planner::zones::{NameSource, ZoneInput, ZoneParams, ZoneVenue, zones};
use std::path::PathBuf;

fn data(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data")).join(path)
}

#[test]
fn bedfordshire_zones_sit_in_the_town_centres_and_are_walkable() {
    let crs = Crs::bng();
    let tz = london();

    // A year of police.uk street crime, night-time-economy categories.
    let mut points = Vec::new();
    let dir = data("police-uk/bedfordshire/street");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 12, "{files:?}");
    for f in &files {
        let import = police_uk::read("f", &std::fs::read(f).unwrap()[..]);
        for i in import
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

    // The three districts as the study area.
    let text = std::fs::read_to_string(data("boundaries/bedfordshire_lad20.geojson")).unwrap();
    let districts = Areas::from_geojson(&text, &["lad20nm"], &[]).unwrap();
    let grid = Grid::from_boundary(50.0, &districts.projected(&crs).unwrap()).unwrap();

    // KDE scores (the default method) and the weighed points.
    let params = ScoringParams::new("2024-05-01T00:00:00Z".parse().unwrap(), tz.clone());
    let weighed = weights::weigh(&grid, &points, &params);
    let totals = weights::cell_totals(&grid, &weighed.points);
    let scores = method_scores(Method::Kde, &grid, &weighed, &totals, &params).unwrap();
    assert!(weighed.points.len() > 20_000, "{}", weighed.points.len());

    // The OSM pubs, ranked by venue risk on the same incidents.
    let pubs = premises::read_osm_geojson(
        "pubs",
        &std::fs::read(data("premises/bedfordshire_pubs_osm_2022-01.geojson")).unwrap(),
    );
    assert!(pubs.is_clean());
    let projected: Vec<(usize, f64, f64)> = pubs
        .records
        .iter()
        .enumerate()
        .filter_map(|(k, p)| crs.project(p.lon, p.lat).ok().map(|q| (k, q.x, q.y)))
        .collect();
    let venues_for_risk: Vec<Venue> = projected
        .iter()
        .map(|&(k, x, y)| Venue {
            id: pubs.records[k].source_id.clone(),
            x,
            y,
        })
        .collect();
    let risk = venue_risk(&venues_for_risk, &points, &VenueRiskParams::default()).unwrap();
    let mut venues: Vec<ZoneVenue> = projected
        .iter()
        .map(|&(k, x, y)| ZoneVenue {
            id: pubs.records[k].source_id.clone(),
            name: pubs.records[k].name.clone(),
            x,
            y,
            rank: None,
            harm: None,
        })
        .collect();
    for r in &risk.venues {
        venues[r.index].rank = Some(r.rank);
        venues[r.index].harm = Some(r.harm);
    }

    let input = ZoneInput {
        grid: &grid,
        scores: &scores.score,
        points: &weighed.points,
        tz: &tz,
        venues: &venues,
    };
    let zone_params = ZoneParams::default();
    let set = zones(&input, &zone_params).unwrap();

    // The list, for the lead.
    eprintln!(
        "{} hot cells (top 2 % of {} study-area cells, cut {:.3e}), {} clusters, {} split; \
         dropped {} fragments ({} cells); {} zones beyond the cap ({} cells)",
        set.n_hot_cells,
        grid.n_inside(),
        set.cut.unwrap_or(0.0),
        set.n_clusters,
        set.n_split,
        set.dropped.pieces,
        set.dropped.cells,
        set.capped.pieces,
        set.capped.cells
    );
    eprintln!(
        "{:<4} {:<34} {:<20} {:>5} {:>6} {:>9} {:>9} {:>6} {:>6} {:<11} profile",
        "id", "name", "district", "cells", "reach", "lon", "lat", "share%", "venues", "top cell"
    );
    let grand: f64 = set.zones.iter().map(|z| z.total).sum();
    for z in &set.zones {
        let (lon, lat) = crs.unproject(z.centroid.x, z.centroid.y).unwrap();
        let district = districts
            .locate(lon, lat)
            .map_or("-", |a| a.name.as_str())
            .to_string();
        eprintln!(
            "{:<4} {:<34} {:<20} {:>5} {:>5.0}m {:>9.5} {:>9.5} {:>6.2} {:>6} {:<11} {}",
            z.id,
            z.name,
            district,
            z.cells.len(),
            z.reach_m,
            lon,
            lat,
            100.0 * z.total / grand,
            z.venues.len(),
            z.top_cell,
            match z.profile_source {
                ProfileSource::Prior => "prior".to_string(),
                ProfileSource::Observed { incidents } => format!("{incidents} timed"),
            }
        );
    }

    assert!(!set.zones.is_empty());
    assert!(set.zones.len() <= 30);

    // Every zone is walkable: each corner of each cell within 300 m of the centroid.
    for z in &set.zones {
        for &i in &z.cells {
            for c in grid.cell_polygon(i).exterior().coords() {
                let d = ((c.x - z.centroid.x).powi(2) + (c.y - z.centroid.y).powi(2)).sqrt();
                assert!(
                    d <= 300.0 + 1e-9,
                    "{} ({}): corner at {d:.1} m",
                    z.id,
                    z.name
                );
            }
        }
        assert!(z.polygon.is_valid(), "{}", z.id);
        let area = z.cells.len() as f64 * 2_500.0;
        assert!((z.polygon.unsigned_area() - area).abs() < 1e-3, "{}", z.id);
    }
    for (a, za) in set.zones.iter().enumerate() {
        for zb in &set.zones[a + 1..] {
            assert!(za.polygon.intersection(&zb.polygon).unsigned_area() < 1e-6);
        }
    }

    // Zones in both town centres: Luton (George Street / Bute Street) and Bedford (High
    // Street / Silver Street), each within 300 m of the point.
    let near = |lon: f64, lat: f64| {
        let p = crs.project(lon, lat).unwrap();
        let pt = Point::new(p.x, p.y);
        set.zones
            .iter()
            .filter(|z| Euclidean.distance(&pt, &z.polygon) <= 300.0)
            .collect::<Vec<_>>()
    };
    let luton = near(-0.4165, 51.8800);
    let bedford = near(-0.4665, 52.1360);
    assert!(!luton.is_empty(), "no zone in Luton town centre");
    assert!(!bedford.is_empty(), "no zone in Bedford town centre");

    // Names come from real pubs: each town centre has a zone named after a pub in or
    // beside it, and every venue-derived name is that venue's real name.
    let named = |zs: &[&planner::zones::Zone]| {
        zs.iter()
            .any(|z| matches!(z.name_source, NameSource::Venue { .. }))
    };
    assert!(named(&luton), "no Luton town-centre zone named after a pub");
    assert!(
        named(&bedford),
        "no Bedford town-centre zone named after a pub"
    );
    for z in &set.zones {
        match &z.name_source {
            NameSource::Venue { id } => {
                let pub_ = pubs.records.iter().find(|p| &p.source_id == id).unwrap();
                assert!(
                    z.name.starts_with(pub_.name.trim()),
                    "{} vs {}",
                    z.name,
                    pub_.name
                );
            }
            NameSource::NearVenue { id, .. } => {
                let pub_ = pubs.records.iter().find(|p| &p.source_id == id).unwrap();
                assert!(z.name.starts_with(&format!("near {}", pub_.name.trim())));
            }
            NameSource::Cell { id } => assert!(z.name.contains(id.as_str())),
        }
    }
    let names: std::collections::HashSet<&str> =
        set.zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(names.len(), set.zones.len(), "names are unique");

    // police.uk gives months only: every zone's hourly risk is the labelled prior.
    assert!(
        set.zones
            .iter()
            .all(|z| z.profile_source == ProfileSource::Prior)
    );

    // Deterministic on real data too.
    assert_eq!(zones(&input, &zone_params).unwrap(), set);
}
