//! Matching a check-in to a plan's zones: the zone containing the point, else the nearest
//! within [`CHECKIN_TOLERANCE_M`].

use geo::{Contains, Coord, Distance, Euclidean, LineString, MultiPolygon, Point, Polygon};
use serde_json::Value;

/// A check-in this close to a zone (metres) but outside it still counts for the zone: GPS
/// on a phone in a street is rarely better than this.
pub const CHECKIN_TOLERANCE_M: f64 = 25.0;

/// Projects a plan document's zone polygons (WGS84 MultiPolygons) into its metric CRS.
fn zone_shapes(doc: &Value, crs: &planner::Crs) -> Vec<(String, MultiPolygon<f64>)> {
    let ring = |v: &Value| -> Option<LineString<f64>> {
        let coords = v
            .as_array()?
            .iter()
            .map(|c| {
                let p = crs.project(c[0].as_f64()?, c[1].as_f64()?).ok()?;
                Some(Coord { x: p.x, y: p.y })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(LineString::new(coords))
    };
    doc["zones"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|z| {
            let id = z["id"].as_str()?.to_string();
            let polygons = z["polygon"]["coordinates"]
                .as_array()?
                .iter()
                .map(|p| {
                    let rings = p.as_array()?;
                    let exterior = ring(rings.first()?)?;
                    let interiors = rings[1..].iter().map(ring).collect::<Option<Vec<_>>>()?;
                    Some(Polygon::new(exterior, interiors))
                })
                .collect::<Option<Vec<_>>>()?;
            Some((id, MultiPolygon::new(polygons)))
        })
        .collect()
}

/// The plan's zone at (lon, lat): the zone containing the point, else the nearest within
/// [`CHECKIN_TOLERANCE_M`]; with how it was found.
pub fn locate(doc: &Value, lon: f64, lat: f64) -> anyhow::Result<(Option<String>, &'static str)> {
    let crs = super::crs_of(doc)?;
    let Ok(p) = crs.project(lon, lat) else {
        return Ok((None, "none"));
    };
    let point = Point::new(p.x, p.y);
    let shapes = zone_shapes(doc, &crs);
    if let Some((id, _)) = shapes.iter().find(|(_, shape)| shape.contains(&point)) {
        return Ok((Some(id.clone()), "inside"));
    }
    let nearest = shapes
        .iter()
        .map(|(id, shape)| (id, Euclidean.distance(shape, &point)))
        .filter(|(_, d)| *d <= CHECKIN_TOLERANCE_M)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    Ok(match nearest {
        Some((id, _)) => (Some(id.clone()), "near"),
        None => (None, "none"),
    })
}
