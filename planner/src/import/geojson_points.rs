//! Incidents as GeoJSON Point features (RFC 7946, WGS84, longitude first).
//!
//! Properties use the force CSV's names: `id` (or the feature's own `id`), `occurred_at`,
//! `category`, and optionally `location`, `area_code`, `area_name`. Errors name the line
//! where the offending feature starts, so a user can find it in an editor.

use super::force_csv::parse_occurred;
use super::text::{TextKind, check_text, optional_line};
use super::{Import, RowError, check_lonlat};
use crate::category::Category;
use crate::incident::Incident;
use crate::time::DstPolicy;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::HashMap;

pub const SOURCE: &str = "geojson";

#[derive(Deserialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    features: Vec<&'a RawValue>,
}

/// 1-based line of byte `offset` in `text`.
pub fn line_at(text: &str, offset: usize) -> u64 {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

/// Byte offset of a borrowed slice within the text it was borrowed from.
pub fn offset_in(text: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

/// Splits a FeatureCollection into its raw features with their starting lines, or one
/// error saying why the document is not a FeatureCollection.
pub fn features<'a>(file: &str, text: &'a str) -> Result<Vec<(u64, &'a RawValue)>, RowError> {
    let whole = |line: u64, reason: String| RowError {
        file: file.to_string(),
        line,
        field: "document".into(),
        reason,
    };
    let fc: Collection<'a> = serde_json::from_str(text).map_err(|e| {
        whole(
            e.line() as u64,
            format!("not a GeoJSON FeatureCollection: {e}"),
        )
    })?;
    if fc.kind != "FeatureCollection" {
        return Err(whole(
            1,
            format!("type is {:?}, expected \"FeatureCollection\"", fc.kind),
        ));
    }
    Ok(fc
        .features
        .into_iter()
        .map(|f| (line_at(text, offset_in(text, f.get())), f))
        .collect())
}

/// Reads the lon/lat of a Point feature, naming what is wrong.
pub fn point_of(feature: &Value) -> Result<(f64, f64), (String, String)> {
    let err = |f: &str, r: String| (f.to_string(), r);
    let geom = feature
        .get("geometry")
        .filter(|g| !g.is_null())
        .ok_or_else(|| err("geometry", "missing geometry".into()))?;
    let kind = geom.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "Point" {
        return Err(err("geometry.type", format!("{kind:?} is not a Point")));
    }
    let coords = geom
        .get("coordinates")
        .and_then(Value::as_array)
        .filter(|c| c.len() >= 2)
        .ok_or_else(|| {
            err(
                "geometry.coordinates",
                "expected [longitude, latitude]".into(),
            )
        })?;
    let lon = coords[0].as_f64().ok_or_else(|| {
        err(
            "geometry.coordinates[0]",
            format!("{} is not a number", coords[0]),
        )
    })?;
    let lat = coords[1].as_f64().ok_or_else(|| {
        err(
            "geometry.coordinates[1]",
            format!("{} is not a number", coords[1]),
        )
    })?;
    check_lonlat(lon, lat).map_err(|e| {
        let index = if e.field == "latitude" { 1 } else { 0 };
        err(&format!("geometry.coordinates[{index}]"), e.reason)
    })?;
    Ok((lon, lat))
}

/// A property as text (strings as-is, numbers printed), `None` when absent or null.
pub fn text_property(feature: &Value, name: &str) -> Option<String> {
    match feature.get("properties")?.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Reads incidents from a GeoJSON FeatureCollection. Invalid UTF-8 is rejected by the
/// caller's `&str`; see [`read_bytes`].
pub fn read(file: &str, text: &str, tz: &TimeZone) -> Import<Incident> {
    let mut out = Import::default();
    let features = match features(file, text) {
        Ok(f) => f,
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for (line, raw) in features {
        out.rows += 1;
        let error = |field: &str, reason: String| RowError {
            file: file.to_string(),
            line,
            field: field.to_string(),
            reason,
        };
        // Text people will read: trimmed, `None` when empty, no control characters.
        let shown = |field: &str, value: Option<String>| -> Result<Option<String>, RowError> {
            optional_line(value.as_deref().unwrap_or(""))
                .map_err(|r| error(&format!("properties.{field}"), r))
        };
        let result = (|| {
            let feature: Value =
                serde_json::from_str(raw.get()).map_err(|e| error("feature", e.to_string()))?;
            let id = text_property(&feature, "id")
                .or_else(|| match feature.get("id") {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                })
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| error("properties.id", "empty required field".into()))?;
            check_text(id.trim(), TextKind::Line).map_err(|r| error("properties.id", r))?;
            let occurred_text = text_property(&feature, "occurred_at")
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| error("properties.occurred_at", "empty required field".into()))?;
            let occurred = parse_occurred(&occurred_text, tz, DstPolicy::Reject)
                .map_err(|e| error("properties.occurred_at", e.to_string()))?;
            let category_raw = text_property(&feature, "category")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| error("properties.category", "empty required field".into()))?;
            check_text(&category_raw, TextKind::Line)
                .map_err(|r| error("properties.category", r))?;
            let (lon, lat) = point_of(&feature).map_err(|(f, r)| error(&f, r))?;
            let location = shown("location", text_property(&feature, "location"))?;
            let area_code = shown("area_code", text_property(&feature, "area_code"))?;
            let area_name = shown("area_name", text_property(&feature, "area_name"))?;
            let source_id = format!("{SOURCE}:{}", id.trim());
            if let Some(first) = first_line.get(&source_id) {
                return Err(error(
                    "properties.id",
                    format!("duplicate id (first at line {first})"),
                ));
            }
            first_line.insert(source_id.clone(), line);
            Ok(Incident {
                source_id,
                source: SOURCE.to_string(),
                occurred,
                lon,
                lat,
                category: Category::from_free_text(&category_raw),
                category_raw,
                location,
                area_code,
                area_name,
            })
        })();
        match result {
            Ok(i) => out.accept(line, i),
            Err(e) => out.errors.push(e),
        }
    }
    out
}

/// Like [`read`], for bytes that may not be UTF-8.
pub fn read_bytes(file: &str, bytes: &[u8], tz: &TimeZone) -> Import<Incident> {
    match std::str::from_utf8(bytes) {
        Ok(text) => read(file, text, tz),
        Err(e) => {
            let mut out = Import::default();
            let line = line_at(
                &String::from_utf8_lossy(&bytes[..e.valid_up_to()]),
                e.valid_up_to(),
            );
            out.errors.push(RowError {
                file: file.to_string(),
                line,
                field: "document".into(),
                reason: format!("not valid UTF-8 (byte {})", e.valid_up_to() + 1),
            });
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::london;

    #[test]
    fn reads_points_and_names_lines() {
        let text = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "id": 7, "geometry": {"type": "Point", "coordinates": [-0.416, 51.879]},
   "properties": {"occurred_at": "2024-07-05T23:30:00+01:00", "category": "robbery"}},
  {"type": "Feature", "geometry": {"type": "Point", "coordinates": [51.879, -0.416]},
   "properties": {"id": "b", "occurred_at": "2024-07-05T23:30:00+01:00", "category": "robbery"}},
  {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0,1],[1,2]]},
   "properties": {"id": "c", "occurred_at": "2024-07", "category": "robbery"}},
  {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.416, 51.879]},
   "properties": {"id": "d", "occurred_at": "2024-07-05", "category": "robbery"}}
]}"#;
        let r = read("p.geojson", text, &london());
        assert_eq!(r.rows, 4);
        assert_eq!(r.records.len(), 1);
        assert_eq!(r.records[0].source_id, "geojson:7");
        let got: Vec<(u64, &str)> = r
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (4, "geometry.coordinates[1]"),
                (6, "geometry.type"),
                (8, "properties.occurred_at")
            ]
        );
    }

    #[test]
    fn broken_documents_are_one_error() {
        let r = read(
            "p.geojson",
            "{\"type\": \"FeatureCollection\",\n \"features\": [}",
            &london(),
        );
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].line, 2);
        let r = read(
            "p.geojson",
            r#"{"type": "Feature", "features": []}"#,
            &london(),
        );
        assert!(
            r.errors[0]
                .reason
                .contains("expected \"FeatureCollection\"")
        );
        let r = read_bytes("p.geojson", b"{\"type\":\n\"Feat\xffure\"}", &london());
        assert_eq!(
            (r.errors[0].line, r.errors[0].reason.contains("UTF-8")),
            (2, true)
        );
    }
}
