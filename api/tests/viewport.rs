//! A map viewport (a hotspot request with a bbox) keeps as points only the incidents near
//! its box, so that a viewport over national data does not score millions of incidents.
//! These tests check that this changes nothing in the answer: every cell's count, weight
//! and score, `n_outside`, the default `as_of` and the CRS are those of the same request
//! scored with every selected incident, on three real police.uk months of Bedfordshire.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use api::app::analysis;
use api::app::dataset::Dataset;
use api::app::hotspots::{self, FilterRequest, HotspotRequest, MethodParams};
use api::config::{Config, Overrides};
use planner::hotspots::Method;

fn config() -> Config {
    Config::load(
        None,
        Overrides {
            db: Some(std::path::PathBuf::from("unused.db").into()),
            tz: Some("Europe/London".into()),
            ..Default::default()
        },
    )
    .unwrap()
}

fn bedfordshire(months: &[&str]) -> Vec<planner::Incident> {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/police-uk/bedfordshire/street"
    );
    months
        .iter()
        .flat_map(|m| {
            let name = format!("{m}-bedfordshire-street.csv");
            let file = std::fs::File::open(format!("{root}/{name}")).unwrap();
            let read = planner::import::police_uk::read(&name, file);
            assert!(read.errors.is_empty(), "{name}: {:?}", read.errors);
            read.records
        })
        .collect()
}

fn request(method: Method, bbox: Option<&str>, all_cells: bool) -> HotspotRequest {
    HotspotRequest {
        method,
        params: MethodParams::default(),
        as_of: None,
        harm: None,
        filters: FilterRequest {
            cell: 100.0,
            window: "all".into(),
            categories: vec!["all".into()],
            bbox: bbox.map(str::to_string),
            ..FilterRequest::default()
        },
        all_cells,
    }
}

/// Central Luton, about 3.5 x 2.2 km.
const LUTON: &str = "-0.44,51.87,-0.39,51.89";

#[test]
fn a_viewport_scores_only_its_neighbourhood_and_answers_the_same() {
    let config = config();
    let incidents = bedfordshire(&["2023-05", "2023-06", "2023-07"]);
    let data = Dataset::of_incidents(config.crs, &config.tz, &incidents);
    for method in [
        Method::Count,
        Method::Kde,
        Method::GiStar,
        Method::Prospective,
        Method::Ensemble,
    ] {
        for all_cells in [false, true] {
            let req = request(method, Some(LUTON), all_cells);
            let got = hotspots::compute(&config, &data, &req, &mut |_| Ok(())).unwrap();
            // The same request with every selected incident as a point.
            let filters = req.filters.to_filters().unwrap();
            assert_eq!(filters.points_near_bbox, None);
            let whole = analysis::prepare(&config, &data, &filters).unwrap();
            let params = hotspots::params(&config, &whole, &req).unwrap();
            let want =
                planner::hotspots::score_area(method, &whole.area, &whole.points, &params).unwrap();

            let p = &got.prepared;
            assert_eq!(p.selected, whole.points.len(), "{method:?}");
            assert!(
                p.beyond_bbox() > 3 * p.points.len(),
                "{method:?}: only {} of {} incidents should be near Luton's centre",
                p.points.len(),
                p.selected
            );
            assert_eq!(p.points.len() + p.beyond_bbox(), p.selected);
            assert_eq!(
                got.params.as_of, params.as_of,
                "{method:?}: as_of is the data's"
            );
            assert_eq!(got.scored.n_incidents, want.n_incidents, "{method:?}");
            assert!(want.n_incidents > 500, "{method:?}: {}", want.n_incidents);
            assert_eq!(
                got.scored.n_outside + p.beyond_bbox(),
                want.n_outside,
                "{method:?}"
            );
            assert_eq!(got.scored.cells.len(), want.cells.len(), "{method:?}");
            for (a, b) in got.scored.cells.iter().zip(&want.cells) {
                assert_eq!(
                    (a.col, a.row, a.count),
                    (b.col, b.row, b.count),
                    "{method:?}"
                );
                assert_eq!(a.weight.to_bits(), b.weight.to_bits(), "{method:?}");
                assert_eq!(a.score.to_bits(), b.score.to_bits(), "{method:?}");
            }
            // The GeoJSON reports every incident that is not in the area as outside.
            let json: serde_json::Value = serde_json::from_slice(
                &hotspots::geojson_bytes(&got, &Default::default()).unwrap(),
            )
            .unwrap();
            assert_eq!(
                json["firefly"]["n_outside"].as_u64(),
                Some(want.n_outside as u64)
            );
        }
    }
}

#[test]
fn the_crs_and_the_default_as_of_are_the_datas_whatever_the_selection() {
    let config = config();
    let incidents = bedfordshire(&["2023-05", "2023-06"]);
    let data = Dataset::of_incidents(config.crs, &config.tz, &incidents);
    let whole = hotspots::compute(
        &config,
        &data,
        &request(Method::Kde, None, false),
        &mut |_| Ok(()),
    )
    .unwrap();
    let mut only_robbery = request(Method::Kde, Some(LUTON), false);
    only_robbery.filters.categories = vec!["robbery".into()];
    only_robbery.filters.to = Some("2023-05".into());
    let part = hotspots::compute(&config, &data, &only_robbery, &mut |_| Ok(())).unwrap();
    assert_eq!(
        part.prepared.crs.kind().epsg(),
        whole.prepared.crs.kind().epsg()
    );
    assert_eq!(whole.prepared.crs.kind().epsg(), 27700);
    // `to` ends the selection in May: the default as_of is the end of May (local
    // midnight, BST), not of the data.
    assert_eq!(part.params.as_of.to_string(), "2023-05-31T23:00:00Z");
    assert_eq!(whole.params.as_of.to_string(), "2023-06-30T23:00:00Z");
    assert!(part.prepared.excluded_category > 0 && part.prepared.excluded_dates > 0);
}
