//! Named areas: the force boundary and its districts, read from GeoJSON polygons.
//!
//! Used to say which district an incident is in, to clip data to the force area (police.uk
//! files carry a few incidents recorded far outside it), and as the study area of a grid.

use crate::crs::{Crs, CrsError};
use geo::{Contains, Coord, LineString, MultiPolygon, Point, Polygon};
use geojson::GeoJson;

/// One named polygon area in WGS84.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub name: String,
    pub code: Option<String>,
    pub shape: MultiPolygon<f64>,
}

/// Why an area file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AreaError {
    #[error("not valid GeoJSON: {0}")]
    Json(String),
    #[error("feature {index}: {reason}")]
    Feature { index: usize, reason: String },
    #[error("no polygon features")]
    Empty,
}

/// A set of areas, e.g. the districts of a force.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Areas {
    pub areas: Vec<Area>,
}

impl Areas {
    /// Reads Polygon/MultiPolygon features; the name comes from the first of `name_keys`
    /// present in the properties (e.g. `lad20nm`, `LAD22NM`, `name`).
    pub fn from_geojson(
        text: &str,
        name_keys: &[&str],
        code_keys: &[&str],
    ) -> Result<Areas, AreaError> {
        let gj: GeoJson = text
            .parse()
            .map_err(|e: geojson::Error| AreaError::Json(e.to_string()))?;
        let features = match gj {
            GeoJson::FeatureCollection(fc) => fc.features,
            GeoJson::Feature(f) => vec![f],
            GeoJson::Geometry(g) => vec![geojson::Feature {
                geometry: Some(g),
                ..Default::default()
            }],
        };
        let mut areas = Vec::new();
        for (index, f) in features.into_iter().enumerate() {
            let prop = |keys: &[&str]| {
                keys.iter()
                    .find_map(|k| f.property(k).and_then(|v| v.as_str()).map(str::to_string))
            };
            let name = prop(name_keys).unwrap_or_else(|| format!("area {}", index + 1));
            let code = prop(code_keys);
            let Some(geometry) = f.geometry.clone() else {
                return Err(AreaError::Feature {
                    index,
                    reason: "no geometry".into(),
                });
            };
            // `geojson` panics converting a position with fewer than two numbers.
            crate::import::geometry::check_positions(&geometry)
                .map_err(|reason| AreaError::Feature { index, reason })?;
            let geom: geo::Geometry<f64> =
                geometry
                    .try_into()
                    .map_err(|e: geojson::Error| AreaError::Feature {
                        index,
                        reason: e.to_string(),
                    })?;
            let shape = match geom {
                geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
                geo::Geometry::MultiPolygon(m) => m,
                other => {
                    return Err(AreaError::Feature {
                        index,
                        reason: format!("{} is not a polygon", geometry_name(&other)),
                    });
                }
            };
            areas.push(Area { name, code, shape });
        }
        if areas.is_empty() {
            return Err(AreaError::Empty);
        }
        Ok(Areas { areas })
    }

    /// The first area containing the WGS84 point.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<&Area> {
        let p = Point::new(lon, lat);
        self.areas.iter().find(|a| a.shape.contains(&p))
    }

    /// All areas as one multipolygon (the force boundary).
    pub fn union_shape(&self) -> MultiPolygon<f64> {
        MultiPolygon(
            self.areas
                .iter()
                .flat_map(|a| a.shape.0.iter().cloned())
                .collect(),
        )
    }

    /// The shape of all areas in the metric CRS (for study areas and grids).
    pub fn projected(&self, crs: &Crs) -> Result<MultiPolygon<f64>, CrsError> {
        let ring = |ls: &LineString<f64>| -> Result<LineString<f64>, CrsError> {
            ls.0.iter()
                .map(|c| crs.project(c.x, c.y).map(|p| Coord { x: p.x, y: p.y }))
                .collect::<Result<Vec<_>, _>>()
                .map(LineString)
        };
        let polys = self
            .union_shape()
            .0
            .iter()
            .map(|p| {
                let interiors = p
                    .interiors()
                    .iter()
                    .map(ring)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Polygon::new(ring(p.exterior())?, interiors))
            })
            .collect::<Result<Vec<_>, CrsError>>()?;
        Ok(MultiPolygon(polys))
    }
}

fn geometry_name(g: &geo::Geometry<f64>) -> &'static str {
    match g {
        geo::Geometry::Point(_) => "Point",
        geo::Geometry::MultiPoint(_) => "MultiPoint",
        geo::Geometry::LineString(_) | geo::Geometry::Line(_) => "LineString",
        geo::Geometry::MultiLineString(_) => "MultiLineString",
        _ => "this geometry",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEDS: &str = include_str!("../../data/boundaries/bedfordshire_lad20.geojson");

    #[test]
    fn bedfordshire_districts_locate_town_centres() {
        let areas = Areas::from_geojson(BEDS, &["lad20nm"], &["lad20cd"]).unwrap();
        assert_eq!(areas.areas.len(), 3);
        let name = |lon, lat| areas.locate(lon, lat).map(|a| a.name.as_str());
        assert_eq!(name(-0.4167, 51.8787), Some("Luton"));
        assert_eq!(name(-0.4662, 52.1362), Some("Bedford"));
        assert_eq!(name(-0.5215, 51.8862), Some("Central Bedfordshire")); // Dunstable
        assert_eq!(name(-0.2413, 51.5969), None); // Barnet, outside the force
    }

    #[test]
    fn rejects_non_polygons() {
        let pt = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[0,1]}}]}"#;
        assert!(matches!(
            Areas::from_geojson(pt, &["name"], &[]),
            Err(AreaError::Feature { index: 0, .. })
        ));
        assert!(matches!(
            Areas::from_geojson("{", &["name"], &[]),
            Err(AreaError::Json(_))
        ));
    }
}
