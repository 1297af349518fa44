//! A check on GeoJSON geometries that the `geojson` crate does not make.
//!
//! `geojson` 1.0, deserialised with serde (as `serde_json::from_value` does), reads `[0.0]`
//! or `[]` as a position, and its conversion to `geo` types then indexes the second number
//! and panics (georust/geojson#224). Anything that
//! converts a geometry read from input calls [`check_positions`] first.

use geojson::{Geometry, GeometryValue, Position};

/// Errs when a position anywhere in `g` has fewer than two numbers (longitude, latitude).
///
/// ```
/// use planner::import::geometry::check_positions;
/// let read = |s: &str| serde_json::from_str::<geojson::Geometry>(s).unwrap();
/// let ok = read(r#"{"type": "Polygon", "coordinates": [[[0, 50], [1, 50], [0, 51], [0, 50]]]}"#);
/// assert!(check_positions(&ok).is_ok());
/// let short = read(r#"{"type": "Polygon", "coordinates": [[[0, 50], [1]]]}"#);
/// assert!(check_positions(&short).is_err());
/// ```
pub fn check_positions(g: &Geometry) -> Result<(), String> {
    fn all<'a>(ps: impl IntoIterator<Item = &'a Position>) -> Result<(), String> {
        match ps.into_iter().find(|p| p.len() < 2) {
            None => Ok(()),
            Some(p) => Err(format!(
                "a position needs a longitude and a latitude, found {} number{}",
                p.len(),
                if p.len() == 1 { "" } else { "s" }
            )),
        }
    }
    match &g.value {
        GeometryValue::Point { coordinates } => all([coordinates]),
        GeometryValue::MultiPoint { coordinates } | GeometryValue::LineString { coordinates } => {
            all(coordinates)
        }
        GeometryValue::MultiLineString { coordinates } | GeometryValue::Polygon { coordinates } => {
            all(coordinates.iter().flatten())
        }
        GeometryValue::MultiPolygon { coordinates } => all(coordinates.iter().flatten().flatten()),
        GeometryValue::GeometryCollection { geometries } => {
            geometries.iter().try_for_each(check_positions)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_short_positions_are_errors_not_panics() {
        let mut caught = 0;
        for bad in [
            r#"{"type": "Point", "coordinates": []}"#,
            r#"{"type": "LineString", "coordinates": [[0, 50], [1]]}"#,
            r#"{"type": "Polygon", "coordinates": [[[0.0]]]}"#,
            r#"{"type": "Polygon", "coordinates": [[[0, 50], [1, 50], [0, 51], [0, 50]], [[]]]}"#,
            r#"{"type": "MultiPolygon", "coordinates": [[[[0, 50], [1, 50], [0, 51], [0, 50]]], [[[2]]]]}"#,
            r#"{"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1]}]}"#,
        ] {
            // Some short positions serde already refuses; the rest must be caught here.
            if let Ok(g) = serde_json::from_str::<Geometry>(bad) {
                caught += 1;
                assert!(check_positions(&g).is_err(), "{bad}");
            }
        }
        // The fuzz-found shapes get past serde: the check is not dead code.
        assert!(caught >= 2, "{caught}");
        let g: Geometry = serde_json::from_str(
            r#"{"type": "MultiPolygon", "coordinates": [[[[0, 50, 3], [1, 50], [0, 51], [0, 50]]], []]}"#,
        )
        .unwrap();
        assert!(check_positions(&g).is_ok());
        let geo: Result<geo::Geometry<f64>, _> = g.try_into();
        assert!(geo.is_ok());
    }
}
