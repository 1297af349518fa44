//! Licensed premises from OpenStreetMap (GeoJSON, or the `mlj/uk-pub-names` TSV or CSV) and from
//! council premises-licence registers (Arun, Worthing and Adur, as geocoded by
//! `psychty/alc_licences`).
//!
//! Firefly needs a point for every venue (to attribute nearby incidents to it) and a stable
//! id (so that re-importing the same file adds nothing). The choices this module makes, and
//! why:
//!
//! * **Ids.** OSM: `osm:<type>/<id>`, e.g. `osm:node/21992993`. A bare numeric `osm_id`
//!   (the West Sussex extract, from osmdata's `osm_points` layer, which holds nodes only) is
//!   read as a node when the feature is a Point; a bare id on a polygon is an error, since it
//!   could be a way or a relation. Registers: `register:<council>:<licence reference>`, e.g.
//!   `register:arun:5816`, `register:worthing:LN/301300095`.
//! * **Duplicates.** A premises licence covers one premises, so a register listing the same
//!   licence number twice (Arun does, for 9 licences; every repeat has the same
//!   coordinates) lists the same venue twice: the first row is kept and each repeat is a
//!   documented skip. A repeat at a different place is an error. A repeated OSM id is an
//!   error (OSM ids are unique).
//! * **Skips** (documented, not errors): register rows with `NA` coordinates ("no
//!   coordinates (not geocoded)"), and licences that no longer exist ("licence
//!   surrendered", "licence lapsed", "licence revoked", "licence expired"): a venue with no
//!   licence is not a licensed premises. A suspended licence is kept (the venue is still
//!   there and the licence can be reinstated).
//! * **Kinds.** OSM: from `amenity` (pub, bar, nightclub; anything else is `other`).
//!   Registers say only whether alcohol is sold on or off the premises and whether there is
//!   late-night refreshment, which does not tell a pub from a restaurant: every register
//!   row is `other`, except Adur's rows flagged "Late Night Refresh", which are
//!   `late_night_refreshment`. The mlj CSV holds only `amenity=pub`, so its rows are pubs.
//! * **Names.** OSM features without a `name` tag (5 of 260 in West Sussex: an unnamed bar
//!   inside a bowling alley, a nightclub, ...) are real venues: they take `brand` if
//!   tagged, otherwise "Unnamed bar" and the like. A register row with an empty trading
//!   name takes the first part of its address when that is a name (`THE SHIP INN, Aldwick
//!   Street, ...`), and is an error otherwise.
//! * **Coordinates** are required. The raw Arun register, which has none, fails with one
//!   header error saying so, instead of skipping all 475 rows.
//! * **Opening hours.** [`closing_times`] reads the common subset of OSM `opening_hours`;
//!   anything else leaves the closing times unknown, never an error.

use super::text::{TextKind, check_text};
use super::{
    Import, Parsed, Row, RowError, check_lonlat, non_empty, open_csv, parse_lonlat, parse_rows,
};
use crate::premises::{ClosingTimes, Premises, PremisesKind};
use jiff::civil::Time;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::Read;

/// Reads an OSM GeoJSON FeatureCollection of pubs, bars and nightclubs.
///
/// Properties read: `osm_id` (`node/<id>`, `way/<id>`, `relation/<id>`, or a bare number
/// for a Point, read as a node; the feature's `id` or `@id` if there is no `osm_id`),
/// `name`, `amenity`, `addr:*` or `addr.*`, `opening_hours`, and the district from
/// `lad20nm` / `LAD22NM` (any `LADyyNM`). Geometry: a Point, or the centroid of a Polygon
/// or MultiPolygon. Each error names the line where its feature starts.
///
/// ```
/// use planner::import::premises::read_osm_geojson;
/// let json = br#"{"type": "FeatureCollection", "features": [
///   {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.4685366, 52.1377304]},
///    "properties": {"name": "Bar Citrus", "osm_id": "node/21992993", "amenity": "pub",
///                   "lad20nm": "Bedford"}}]}"#;
/// let import = read_osm_geojson("pubs.geojson", json);
/// assert!(import.is_clean());
/// assert_eq!(import.records[0].source_id, "osm:node/21992993");
/// ```
pub fn read_osm_geojson(file: &str, input: &[u8]) -> Import<Premises> {
    let mut out = Import::default();
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let collection: Collection<'_> = match serde_json::from_slice(input) {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(RowError {
                file: file.to_string(),
                line: e.line().max(1) as u64,
                field: "json".into(),
                reason: format!("invalid GeoJSON: {e}"),
            });
            return out;
        }
    };
    if collection.kind != "FeatureCollection" {
        out.errors.push(RowError {
            file: file.to_string(),
            line: 1,
            field: "type".into(),
            reason: format!(
                "expected a GeoJSON FeatureCollection, found type {:?}",
                collection.kind
            ),
        });
        return out;
    }
    let mut lines = LineCounter::new(input);
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (i, raw) in collection.features.iter().enumerate() {
        out.rows += 1;
        let offset = (raw.get().as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
        let line = lines.line_at(offset);
        let err = |field: &str, reason: String| RowError {
            file: file.to_string(),
            line,
            field: format!(
                "features[{i}]{}{field}",
                if field.is_empty() { "" } else { "." }
            ),
            reason,
        };
        match osm_feature(raw.get(), &err) {
            Ok(p) => {
                if let Some(first) = seen.get(&p.source_id) {
                    out.errors.push(err(
                        "properties.osm_id",
                        format!(
                            "duplicate OSM id {} (first seen at line {first})",
                            p.source_id
                        ),
                    ));
                } else {
                    seen.insert(p.source_id.clone(), line);
                    out.accept(line, p);
                }
            }
            Err(e) => out.errors.push(e),
        }
    }
    out
}

#[derive(Deserialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    features: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct FeatureIn {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<Value>,
    geometry: Option<Value>,
    properties: Option<Map<String, Value>>,
}

/// Line numbers from byte offsets, counting forward (features come in file order).
struct LineCounter<'a> {
    input: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(input: &'a [u8]) -> Self {
        LineCounter {
            input,
            offset: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.input.len());
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let newlines = self.input[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line += newlines as u64;
        self.offset = offset;
        self.line
    }
}

fn osm_feature(raw: &str, err: &dyn Fn(&str, String) -> RowError) -> Result<Premises, RowError> {
    let f: FeatureIn =
        serde_json::from_str(raw).map_err(|e| err("", format!("not a GeoJSON Feature: {e}")))?;
    if let Some(kind) = &f.kind
        && kind != "Feature"
    {
        return Err(err("type", format!("expected a Feature, found {kind:?}")));
    }
    let props = f.properties.unwrap_or_default();
    let (lon, lat, point) = feature_location(f.geometry.as_ref(), err)?;
    let id_text = text_prop(&props, &["osm_id", "@id"])
        .or_else(|| f.id.as_ref().and_then(value_text))
        .ok_or_else(|| {
            err(
                "properties.osm_id",
                "missing OSM id (osm_id, @id or the feature's id)".into(),
            )
        })?;
    let osm_type = text_prop(&props, &["osm_type", "@type"]);
    let id = osm_ref(&id_text, osm_type.as_deref(), point)
        .map_err(|reason| err("properties.osm_id", reason))?;
    let kind = match text_prop(&props, &["amenity"]).as_deref() {
        Some("pub") => PremisesKind::Pub,
        Some("bar") => PremisesKind::Bar,
        Some("nightclub") => PremisesKind::Nightclub,
        _ => PremisesKind::Other,
    };
    let name = shown_prop(&props, &["name", "brand"], err)?.unwrap_or_else(|| {
        let kind = match kind {
            PremisesKind::Other => "venue",
            k => k.as_str(),
        };
        format!("Unnamed {kind}")
    });
    let closing = text_prop(&props, &["opening_hours"])
        .and_then(|h| closing_times(&h))
        .unwrap_or_default();
    let district = match props.iter().find(|(k, _)| is_lad_name_key(k)) {
        Some((k, _)) => shown_prop(&props, &[k.as_str()], err)?,
        None => None,
    };
    // Every address part osm_address may use.
    for key in ADDR_KEYS {
        shown_prop(
            &props,
            &[&format!("addr:{key}"), &format!("addr.{key}")],
            err,
        )?;
    }
    Ok(Premises {
        source_id: format!("osm:{id}"),
        name,
        address: osm_address(&props),
        postcode: addr(&props, "postcode"),
        kind,
        lon,
        lat,
        licence_ref: None,
        closing,
        safe_space: false,
        district,
    })
}

/// `(lon, lat, is_point)` of a feature: a Point, or a polygon's centroid.
fn feature_location(
    geometry: Option<&Value>,
    err: &dyn Fn(&str, String) -> RowError,
) -> Result<(f64, f64, bool), RowError> {
    let Some(g) = geometry.filter(|g| !g.is_null()) else {
        return Err(err(
            "geometry",
            "no geometry: a venue needs a location".into(),
        ));
    };
    let kind = g.get("type").and_then(Value::as_str).unwrap_or("");
    let (lon, lat, point) = match kind {
        "Point" => {
            let c = g.get("coordinates").and_then(Value::as_array);
            let pair = c.and_then(|c| Some((c.first()?.as_f64()?, c.get(1)?.as_f64()?)));
            let Some((lon, lat)) = pair else {
                return Err(err(
                    "geometry.coordinates",
                    "a Point needs [longitude, latitude] as two numbers".into(),
                ));
            };
            (lon, lat, true)
        }
        "Polygon" | "MultiPolygon" => {
            use geo::Centroid;
            let parsed = serde_json::from_value::<geojson::Geometry>(g.clone()).ok();
            if let Some(Err(reason)) = parsed.as_ref().map(super::geometry::check_positions) {
                return Err(err("geometry.coordinates", reason));
            }
            let centroid = parsed
                .and_then(|g| geo::Geometry::<f64>::try_from(g).ok())
                .and_then(|g| g.centroid());
            let Some(c) = centroid else {
                return Err(err(
                    "geometry",
                    format!("unreadable or empty {kind} (no centroid)"),
                ));
            };
            (c.x(), c.y(), false)
        }
        other => {
            return Err(err(
                "geometry.type",
                format!(
                    "geometry type {other:?} is not a venue location \
                     (expected Point, Polygon or MultiPolygon)"
                ),
            ));
        }
    };
    check_lonlat(lon, lat).map_err(|e| err("geometry.coordinates", e.reason))?;
    Ok((lon, lat, point))
}

/// Normalises an OSM id to `node/<n>`, `way/<n>` or `relation/<n>`.
fn osm_ref(text: &str, osm_type: Option<&str>, point: bool) -> Result<String, String> {
    let t = text.trim();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((ty, n)) = t.split_once('/') {
        let ty = ty.to_ascii_lowercase();
        if matches!(ty.as_str(), "node" | "way" | "relation") && digits(n) {
            return Ok(format!("{ty}/{n}"));
        }
        return Err(format!(
            "unreadable OSM id {t:?} (expected node/<n>, way/<n> or relation/<n>)"
        ));
    }
    // osmium's `n123` / `w123` / `r123`.
    let prefixed = t.chars().next().and_then(|c| match c {
        'n' => Some("node"),
        'w' => Some("way"),
        'r' => Some("relation"),
        _ => None,
    });
    if let Some(ty) = prefixed
        && digits(&t[1..])
    {
        return Ok(format!("{ty}/{}", &t[1..]));
    }
    if !digits(t) {
        return Err(format!("unreadable OSM id {t:?}"));
    }
    match osm_type.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("node" | "n") => Ok(format!("node/{t}")),
        Some("way" | "w") => Ok(format!("way/{t}")),
        Some("relation" | "r") => Ok(format!("relation/{t}")),
        Some(other) => Err(format!("unknown osm_type {other:?}")),
        // A bare number on a Point: an osmdata `osm_points` export, whose points are nodes.
        None if point => Ok(format!("node/{t}")),
        None => Err(format!(
            "bare OSM id {t:?} on a polygon: say way/{t} or relation/{t}"
        )),
    }
}

/// The `addr:*` keys read, for the address and the postcode.
const ADDR_KEYS: [&str; 9] = [
    "housename",
    "housenumber",
    "street",
    "suburb",
    "village",
    "hamlet",
    "place",
    "city",
    "postcode",
];

/// As [`text_prop`], for text people will read: an error naming `properties.<key>` when
/// the value holds a control character (see [`super::text`]).
fn shown_prop(
    props: &Map<String, Value>,
    keys: &[&str],
    err: &dyn Fn(&str, String) -> RowError,
) -> Result<Option<String>, RowError> {
    for k in keys {
        if let Some(v) = props.get(*k).and_then(value_text) {
            check_text(&v, TextKind::Line).map_err(|r| err(&format!("properties.{k}"), r))?;
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// A property as trimmed text (numbers too), the first non-empty of `keys`.
fn text_prop(props: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| props.get(*k).and_then(value_text))
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => non_empty(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `addr:<key>` or `addr.<key>` (osmdata in R writes dots).
fn addr(props: &Map<String, Value>, key: &str) -> Option<String> {
    text_prop(props, &[&format!("addr:{key}"), &format!("addr.{key}")])
}

/// "housename, housenumber street, suburb, city" from whichever `addr:*` tags exist.
fn osm_address(props: &Map<String, Value>) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(h) = addr(props, "housename") {
        parts.push(h);
    }
    match (addr(props, "housenumber"), addr(props, "street")) {
        (Some(n), Some(s)) => parts.push(format!("{n} {s}")),
        (Some(n), None) => parts.push(n),
        (None, Some(s)) => parts.push(s),
        (None, None) => {}
    }
    for key in ["suburb", "village", "hamlet", "place", "city"] {
        if let Some(v) = addr(props, key)
            && !parts.contains(&v)
        {
            parts.push(v);
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// `lad20nm`, `LAD22NM` and the like: ONS local authority district names.
fn is_lad_name_key(key: &str) -> bool {
    let k = key.as_bytes();
    k.len() == 7
        && k[..3].eq_ignore_ascii_case(b"lad")
        && k[3].is_ascii_digit()
        && k[4].is_ascii_digit()
        && k[5..].eq_ignore_ascii_case(b"nm")
}

/// Reads the `mlj/uk-pub-names` Bedfordshire CSV:
/// `name,normalized_name,osm_node_id,latitude,longitude,lad20nm`. Every row is an OSM node
/// tagged `amenity=pub`, so ids are `osm:node/<osm_node_id>` and kinds are pubs.
pub fn read_osm_csv(file: &str, input: impl Read) -> Import<Premises> {
    match open_csv(
        file,
        input,
        &["name", "osm_node_id", "latitude", "longitude"],
    ) {
        Ok(rows) => {
            let mut seen: HashMap<String, u64> = HashMap::new();
            parse_rows(rows, |row| osm_csv_row(row, &mut seen).map(Parsed::Record))
        }
        Err(out) => out,
    }
}

fn osm_csv_row(row: &Row, seen: &mut HashMap<String, u64>) -> Result<Premises, RowError> {
    let name = row.required_text("name")?.to_string();
    let node = row.required("osm_node_id")?;
    if !node.bytes().all(|b| b.is_ascii_digit()) {
        return Err(row.error(
            "osm_node_id",
            format!("{node:?} is not an OSM node id (digits expected)"),
        ));
    }
    let (lon, lat) = parse_lonlat(row.get("longitude")?, row.get("latitude")?)
        .map_err(|e| row.error(e.field, e.reason))?;
    let district = row.text("lad20nm")?;
    let source_id = format!("osm:node/{node}");
    if let Some(first) = seen.get(&source_id) {
        return Err(row.error(
            "osm_node_id",
            format!("duplicate OSM node {node} (first at line {first})"),
        ));
    }
    seen.insert(source_id.clone(), row.line);
    Ok(osm_pub(source_id, name, lon, lat, district))
}

/// A pub from the `mlj/uk-pub-names` lists, which give only a name and a point.
fn osm_pub(
    source_id: String,
    name: String,
    lon: f64,
    lat: f64,
    district: Option<String>,
) -> Premises {
    Premises {
        source_id,
        name,
        address: None,
        postcode: None,
        kind: PremisesKind::Pub,
        lon,
        lat,
        licence_ref: None,
        closing: ClosingTimes::default(),
        safe_space: false,
        district,
    }
}

/// The columns of `mlj/uk-pub-names`' `pubnames.tsv` (no header row).
pub const OSM_TSV_COLUMNS: [&str; 5] =
    ["name", "normalized_name", "osm_id", "latitude", "longitude"];

/// Whether `input` looks like `pubnames.tsv`: its first line is five tab-separated fields,
/// the third an OSM id.
pub fn is_osm_tsv(input: &[u8]) -> bool {
    let first = input.split(|&b| b == b'\n').next().unwrap_or(b"");
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let fields: Vec<&[u8]> = first.split(|&b| b == b'\t').collect();
    fields.len() == 5 && !fields[2].is_empty() && fields[2].iter().all(u8::is_ascii_digit)
}

/// Reads `mlj/uk-pub-names`' `pubnames.tsv`, every pub in England, Scotland and Wales:
/// tab-separated, no header, columns [`OSM_TSV_COLUMNS`]. Every row is an OSM object
/// tagged `amenity=pub`; only nodes have coordinates there, so a row with coordinates is
/// `osm:node/<id>` (the same id as in the Bedfordshire CSV made from it), and a row without
/// (a pub drawn as a building outline) is a documented skip. Pubs on the England-Wales
/// border are in two of the country extracts, so the file repeats them: a repeat at the
/// same place is a skip, at another place an error.
pub fn read_osm_tsv(file: &str, input: impl Read) -> Import<Premises> {
    let rows = super::CsvRows::headerless_tsv(file, input, &OSM_TSV_COLUMNS);
    let mut seen: HashMap<String, (u64, f64, f64)> = HashMap::new();
    parse_rows(rows, |row| osm_tsv_row(row, &mut seen))
}

fn osm_tsv_row(
    row: &Row,
    seen: &mut HashMap<String, (u64, f64, f64)>,
) -> Result<Parsed<Premises>, RowError> {
    if row.len() != OSM_TSV_COLUMNS.len() {
        return Err(row.error(
            "row",
            format!(
                "{} tab-separated fields, expected {} ({})",
                row.len(),
                OSM_TSV_COLUMNS.len(),
                OSM_TSV_COLUMNS.join(", ")
            ),
        ));
    }
    let id = row.required("osm_id")?;
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(row.error(
            "osm_id",
            format!("{id:?} is not an OSM id (digits expected)"),
        ));
    }
    let (lat_text, lon_text) = (row.get("latitude")?, row.get("longitude")?);
    if lat_text.trim().is_empty() && lon_text.trim().is_empty() {
        return Ok(Parsed::Skip(
            "no coordinates (an OSM way or relation: the extract has points for nodes only)".into(),
        ));
    }
    let name = row.required_text("name")?.to_string();
    let (lon, lat) = parse_lonlat(lon_text, lat_text).map_err(|e| row.error(e.field, e.reason))?;
    let source_id = format!("osm:node/{id}");
    if let Some(&(first, lon0, lat0)) = seen.get(&source_id) {
        if (lon0, lat0) == (lon, lat) {
            return Ok(Parsed::Skip(
                "repeated node (a pub on a border, in two country extracts)".into(),
            ));
        }
        return Err(row.error(
            "osm_id",
            format!("OSM node {id} again, at another place (first at line {first})"),
        ));
    }
    seen.insert(source_id.clone(), (row.line, lon, lat));
    Ok(Parsed::Record(osm_pub(source_id, name, lon, lat, None)))
}

/// Which council register a CSV is, told by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    /// Arun DC (Idox export): `Licence Number, Licence Status, Trading Name, Dtf Location, …`.
    Arun,
    /// Worthing BC (parsed from its PDF): `Reference, Trader Name, Address, …`.
    Worthing,
    /// Adur DC (parsed from its PDF): `Reference, Name, Address, …, Late Night Refresh`.
    Adur,
}

impl Register {
    /// The council's name, as used in ids (lower case) and districts.
    pub fn council(self) -> &'static str {
        match self {
            Register::Arun => "Arun",
            Register::Worthing => "Worthing",
            Register::Adur => "Adur",
        }
    }

    /// Columns the variant needs besides `longitude`/`latitude`.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Register::Arun => &[
                "Licence Number",
                "Licence Status",
                "Trading Name",
                "Dtf Location",
                "Postcode",
            ],
            Register::Worthing => &["Reference", "Trader Name", "Address", "Postcode"],
            Register::Adur => &[
                "Reference",
                "Name",
                "Address",
                "Postcode",
                "Late Night Refresh",
            ],
        }
    }

    /// Tells the variant from the header.
    pub fn detect(headers: &[String]) -> Option<Register> {
        let has = |n: &str| headers.iter().any(|h| h == n);
        if has("Licence Number") && has("Licence Status") && has("Trading Name") {
            Some(Register::Arun)
        } else if has("Reference") && has("Trader Name") {
            Some(Register::Worthing)
        } else if has("Reference") && has("Late Night Refresh") {
            Some(Register::Adur)
        } else {
            None
        }
    }
}

/// Reads a council premises-licence register that has been geocoded (`longitude`,
/// `latitude` columns, R-style `NA` where the postcode did not geocode). The variant
/// (Arun, Worthing, Adur) is told from the header; see the module doc for ids, skips and
/// kinds.
///
/// Worthing's file has a documented column shift: `Column7` holds the transfer date and
/// `Transfer Date Alcohol` holds the alcohol sales type (ON, OFF, ON & OFF, N/A). Neither
/// is needed for a premises record, so the shift changes nothing here. Its addresses end
/// with a full stop, which is dropped.
///
/// Fields used: the licence reference (Arun `Licence Number`, Worthing and Adur
/// `Reference`; Adur's `Licence_number` is a row counter, not a licence), the name
/// (`Trading Name`, `Trader Name`, `Name`), the address (`Dtf Location`, `Address`), the
/// `Postcode` (kept only if it looks like a UK postcode), `longitude`/`latitude`, Arun's
/// `Licence Status` and Adur's `Late Night Refresh`. Licensee names are not read.
///
/// ```
/// use planner::import::premises::read_council_register;
/// let csv = "\"Licence Number\",\"Licence Status\",\"Trading Name\",\"Dtf Location\",\"Postcode\",\"longitude\",\"latitude\"\n\
///            5816,\"Granted\",\"China Royal\",\"12 Queensway, Bognor Regis\",\"PO21 1QT\",-0.67573,50.783601\n\
///            5817,\"Surrendered\",\"Closed Bar\",\"1 High St\",\"PO21 1AA\",-0.67,50.78\n";
/// let import = read_council_register("arun.csv", csv.as_bytes());
/// assert_eq!(import.records[0].source_id, "register:arun:5816");
/// assert_eq!(import.skipped["licence surrendered"], 1);
/// ```
pub fn read_council_register(file: &str, input: impl Read) -> Import<Premises> {
    let rows = match open_csv(file, input, &[]) {
        Ok(rows) => rows,
        Err(out) => return out,
    };
    let mut out = Import::default();
    let header_error = |reason: String| RowError {
        file: file.to_string(),
        line: 1,
        field: "header".into(),
        reason,
    };
    let Some(register) = Register::detect(rows.headers()) else {
        out.errors.push(header_error(format!(
            "not a known premises-licence register (Arun, Worthing or Adur layout); \
             found columns: {}",
            rows.headers().join(", ")
        )));
        return out;
    };
    if !(rows.has_column("longitude") && rows.has_column("latitude")) {
        out.errors.push(header_error(format!(
            "this {} register has no longitude/latitude columns: Firefly needs coordinates \
             to place each premises, so geocode the register first (for example from \
             postcode centroids, as arun_premises_geocoded.csv does)",
            register.council()
        )));
        return out;
    }
    if let Err(e) = rows.require(register.columns()) {
        out.errors.push(e);
        return out;
    }
    let prefix = format!("register:{}:", register.council().to_ascii_lowercase());
    // source_id -> (line, lon, lat) of the row kept.
    let mut seen: HashMap<String, (u64, f64, f64)> = HashMap::new();
    parse_rows(rows, |row| register_row(row, register, &prefix, &mut seen))
}

fn register_row(
    row: &Row,
    register: Register,
    prefix: &str,
    seen: &mut HashMap<String, (u64, f64, f64)>,
) -> Result<Parsed<Premises>, RowError> {
    let (ref_col, name_col, addr_col) = match register {
        Register::Arun => ("Licence Number", "Trading Name", "Dtf Location"),
        Register::Worthing => ("Reference", "Trader Name", "Address"),
        Register::Adur => ("Reference", "Name", "Address"),
    };
    let reference = row.required_text(ref_col)?.to_string();
    if register == Register::Arun {
        let status = row.required("Licence Status")?;
        match status.to_ascii_lowercase().as_str() {
            "granted" | "current" | "active" | "issued" | "suspended" => {}
            s @ ("surrendered" | "lapsed" | "revoked" | "expired") => {
                return Ok(Parsed::Skip(format!("licence {s}")));
            }
            _ => {
                return Err(row.error(
                    "Licence Status",
                    format!(
                        "unknown licence status {status:?} (expected Granted, Suspended, \
                         Surrendered, Lapsed, Revoked or Expired)"
                    ),
                ));
            }
        }
    }
    let lon_text = row.get("longitude")?;
    let lat_text = row.get("latitude")?;
    if non_empty(lon_text).is_none() && non_empty(lat_text).is_none() {
        return Ok(Parsed::Skip("no coordinates (not geocoded)".into()));
    }
    let (lon, lat) = parse_lonlat(lon_text, lat_text).map_err(|e| row.error(e.field, e.reason))?;
    let address = row
        .text(addr_col)?
        .map(|a| a.trim_end_matches('.').trim().to_string());
    let name = match row.text(name_col)? {
        Some(n) => n,
        None => address
            .as_deref()
            .and_then(name_from_address)
            .ok_or_else(|| {
                row.error(
                    name_col,
                    "empty required field (and the address does not start with a name)",
                )
            })?,
    };
    let kind = if register == Register::Adur && non_empty(row.get("Late Night Refresh")?).is_some()
    {
        PremisesKind::LateNightRefreshment
    } else {
        PremisesKind::Other
    };
    let postcode = uk_postcode(row.get("Postcode")?);
    let source_id = format!("{prefix}{reference}");
    if let Some(&(first, lon0, lat0)) = seen.get(&source_id) {
        if (lon - lon0).abs() > 1e-6 || (lat - lat0).abs() > 1e-6 {
            return Err(row.error(
                ref_col,
                format!(
                    "licence {reference} is also on line {first}, at another place \
                     ({lon0}, {lat0})"
                ),
            ));
        }
        return Ok(Parsed::Skip(
            "licence listed again (same licence number and place)".into(),
        ));
    }
    seen.insert(source_id.clone(), (row.line, lon, lat));
    Ok(Parsed::Record(Premises {
        source_id,
        name,
        address,
        postcode,
        kind,
        lon,
        lat,
        licence_ref: Some(reference),
        closing: ClosingTimes::default(),
        safe_space: false,
        district: Some(register.council().to_string()),
    }))
}

/// `THE SHIP INN, Aldwick Street, …` -> `THE SHIP INN`; `12 Queensway, …` -> None.
fn name_from_address(address: &str) -> Option<String> {
    let first = address.split(',').next()?.trim();
    let starts_with_letter = first.chars().next()?.is_alphabetic();
    starts_with_letter.then(|| first.to_string())
}

/// A UK postcode, upper-cased with one space, or None if the text is not one (Arun's
/// `Postcode` column holds "West Sussex" where the address had no postcode).
fn uk_postcode(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = compact.as_bytes();
    // ASCII only, so that the split below is on a character boundary (`ABé12` is not a
    // postcode and must not panic: issue 13).
    if !(5..=7).contains(&b.len()) || !compact.is_ascii() {
        return None;
    }
    let (outward, inward) = compact.split_at(b.len() - 3);
    let i = inward.as_bytes();
    let inward_ok = i[0].is_ascii_digit() && i[1..].iter().all(u8::is_ascii_alphabetic);
    let o = outward.as_bytes();
    let outward_ok = o[0].is_ascii_alphabetic()
        && o.iter().all(u8::is_ascii_alphanumeric)
        && o.iter().any(u8::is_ascii_digit);
    (inward_ok && outward_ok).then(|| format!("{outward} {inward}"))
}

// ---------------------------------------------------------------------------------------
// OSM opening_hours
// ---------------------------------------------------------------------------------------

/// Closing times per weekday from an OSM `opening_hours` value, or `None` if the value is
/// outside the subset understood here (then the caller leaves closing times unknown).
///
/// Understood: rules separated by `;` (a later rule replaces earlier ones for the days it
/// names) or by `, ` before a weekday (an additional rule, adding to the day); weekday
/// selectors `Mo`, `Mo-Fr`, `Su-Th` (wrapping), `Mo,We,Fr`, `PH`/`SH` (ignored); times
/// `12:00-23:00`, several per rule separated by commas; `off`/`closed`; a rule with no
/// weekday (every day); `24/7`.
///
/// A day's closing time is the end of its latest interval; an end at or before its start
/// (`11:00-01:00`) is in the early hours of the next day, and `24:00` is midnight. A day
/// that is closed, open round the clock (`24/7`, `00:00-24:00`), open-ended (`12:00+`,
/// `11:00-24:00+`) or not mentioned has no closing time (`None`).
///
/// ```
/// use jiff::civil::time;
/// use planner::import::premises::closing_times;
/// let c = closing_times("Mo-Sa 12:00-23:00; Su 12:00-22:30").unwrap();
/// assert_eq!(c.0[0], Some(time(23, 0, 0, 0)));
/// assert_eq!(c.0[6], Some(time(22, 30, 0, 0)));
/// assert_eq!(closing_times("\"changes depending on food\""), None);
/// ```
pub fn closing_times(opening_hours: &str) -> Option<ClosingTimes> {
    let text = opening_hours.trim();
    if text.is_empty() {
        return None;
    }
    let mut days: [Vec<Interval>; 7] = Default::default();
    for rule in text.split(';') {
        let rule = rule.trim();
        if rule.is_empty() {
            continue;
        }
        let mut p = Parser::new(rule);
        let mut additional = false;
        loop {
            let r = p.rule()?;
            for d in r.days.iter().copied() {
                if !additional {
                    days[d].clear();
                }
                days[d].extend(r.intervals.iter().copied());
            }
            if p.at_end() {
                break;
            }
            // Only ", <weekday>" may continue a rule.
            additional = true;
        }
    }
    let mut closing = [None; 7];
    for (d, intervals) in days.iter().enumerate() {
        closing[d] = day_closing(intervals);
    }
    Some(ClosingTimes(closing))
}

/// Minutes since midnight; `end` may be 1440 (24:00); `open_end` for `+`.
#[derive(Debug, Clone, Copy)]
struct Interval {
    start: u16,
    end: u16,
    open_end: bool,
}

fn day_closing(intervals: &[Interval]) -> Option<Time> {
    // An end at or before the start runs into the next day.
    let key = |iv: &Interval| {
        if iv.end <= iv.start {
            iv.end + 1440
        } else {
            iv.end
        }
    };
    let last = intervals.iter().max_by_key(|iv| key(iv))?;
    let round_the_clock = intervals.iter().any(|iv| iv.start == 0 && iv.end == 1440);
    if last.open_end || round_the_clock {
        return None;
    }
    let m = last.end % 1440;
    Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).ok()
}

struct Rule {
    days: Vec<usize>,
    intervals: Vec<Interval>,
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

const WEEKDAYS: [&[u8; 2]; 7] = [b"Mo", b"Tu", b"We", b"Th", b"Fr", b"Sa", b"Su"];

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Parser {
            s: s.as_bytes(),
            i: 0,
        }
    }

    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.i >= self.s.len()
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        self.skip_ws();
        let w = w.as_bytes();
        let end = self.i + w.len();
        let matches = self.s.get(self.i..end) == Some(w)
            && !self.s.get(end).is_some_and(u8::is_ascii_alphanumeric);
        if matches {
            self.i = end;
        }
        matches
    }

    /// A weekday (0 = Monday), `Some(None)` for PH/SH, or None with nothing consumed.
    fn day(&mut self) -> Option<Option<usize>> {
        self.skip_ws();
        let two = self.s.get(self.i..self.i + 2)?;
        if self.s.get(self.i + 2).is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        let found = if let Some(d) = WEEKDAYS.iter().position(|w| &w[..] == two) {
            Some(d)
        } else if two == b"PH" || two == b"SH" {
            None
        } else {
            return None;
        };
        self.i += 2;
        Some(found)
    }

    /// `Mo-Fr,Su` and the like; an empty list when the rule starts with a time.
    fn days(&mut self) -> Option<(Vec<usize>, bool)> {
        let mut out = Vec::new();
        let mut any = false;
        loop {
            let save = self.i;
            let Some(first) = self.day() else {
                self.i = save;
                break;
            };
            any = true;
            if self.eat(b'-') {
                let last = self.day()??;
                let first = first?;
                let mut d = first;
                loop {
                    out.push(d);
                    if d == last {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            } else if let Some(d) = first {
                out.push(d);
            }
            let save = self.i;
            if !self.eat(b',') {
                break;
            }
            // A comma followed by a time belongs to the time list, not to the days.
            if self.clone_peek_day().is_none() {
                self.i = save;
                break;
            }
        }
        Some((out, any))
    }

    fn clone_peek_day(&mut self) -> Option<Option<usize>> {
        let save = self.i;
        let d = self.day();
        self.i = save;
        d
    }

    fn number2(&mut self) -> Option<u16> {
        let d = self.s.get(self.i..self.i + 2)?;
        if !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += 2;
        Some(((d[0] - b'0') * 10 + (d[1] - b'0')) as u16)
    }

    /// `HH:MM`, 00:00 to 24:00 (later hours such as 26:00 are not in the subset).
    fn time(&mut self) -> Option<u16> {
        self.skip_ws();
        let h = self.number2()?;
        if !self.eat(b':') {
            return None;
        }
        let m = self.number2()?;
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return None;
        }
        Some(h * 60 + m)
    }

    fn interval(&mut self) -> Option<Interval> {
        let start = self.time()?;
        if self.eat(b'+') {
            return Some(Interval {
                start,
                end: start,
                open_end: true,
            });
        }
        if !self.eat(b'-') {
            return None;
        }
        let end = self.time()?;
        let open_end = self.eat(b'+');
        Some(Interval {
            start,
            end,
            open_end,
        })
    }

    /// One rule: days, then times, `off` or `closed`; stops before `, <weekday>`.
    fn rule(&mut self) -> Option<Rule> {
        self.skip_ws();
        if self.eat_word("24/7") {
            return self.at_end().then(|| Rule {
                days: (0..7).collect(),
                intervals: vec![Interval {
                    start: 0,
                    end: 1440,
                    open_end: false,
                }],
            });
        }
        let (mut days, had_days) = self.days()?;
        if !had_days {
            days = (0..7).collect();
        }
        let mut intervals = Vec::new();
        if self.eat_word("off") || self.eat_word("closed") {
            // closed: no intervals
        } else {
            // A weekday selector with no times (`Tu-Su`) is too vague to use.
            intervals.push(self.interval()?);
            loop {
                let save = self.i;
                if !self.eat(b',') {
                    break;
                }
                if self.clone_peek_day().is_some() {
                    self.i = save;
                    break;
                }
                intervals.push(self.interval()?);
            }
        }
        if self.at_end() {
            return Some(Rule { days, intervals });
        }
        // Anything left must be ", <weekday> …" (an additional rule).
        if self.eat(b',') && self.clone_peek_day().is_some() {
            return Some(Rule { days, intervals });
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::time;

    fn hm(h: i8, m: i8) -> Option<Time> {
        Some(time(h, m, 0, 0))
    }

    #[test]
    fn osm_ids_normalise() {
        assert_eq!(osm_ref("node/1", None, true).unwrap(), "node/1");
        assert_eq!(osm_ref("way/84736036", None, true).unwrap(), "way/84736036");
        assert_eq!(osm_ref("262706", None, true).unwrap(), "node/262706");
        assert_eq!(osm_ref("w5", None, false).unwrap(), "way/5");
        assert_eq!(osm_ref("5", Some("way"), false).unwrap(), "way/5");
        assert!(osm_ref("5", None, false).is_err());
        assert!(osm_ref("node/x", None, true).is_err());
        assert!(osm_ref("pub", None, true).is_err());
    }

    #[test]
    fn postcodes() {
        assert_eq!(uk_postcode("po21 1qt").as_deref(), Some("PO21 1QT"));
        assert_eq!(uk_postcode("BN14 9AP").as_deref(), Some("BN14 9AP"));
        assert_eq!(uk_postcode("W1A 1AA").as_deref(), Some("W1A 1AA"));
        assert_eq!(uk_postcode("West Sussex"), None);
        assert_eq!(uk_postcode("NA"), None);
    }

    #[test]
    fn issue_13_postcode_with_multibyte_char_does_not_panic() {
        // "ABé12" is six bytes: the old split at byte 3 fell inside the "é".
        for text in [
            "ABé12",
            "é",
            "PO21 1Qé",
            "éé1AA",
            "老虎12AB",
            "A\u{0301}B1 2CD",
            "ⅫA1AA",
        ] {
            assert_eq!(uk_postcode(text), None, "{text:?}");
        }
        // Lower-case non-ASCII letters that upper-case to ASCII are not postcodes either.
        assert_eq!(uk_postcode("\u{131}O21 1QT"), None);
    }

    #[test]
    fn lad_keys() {
        assert!(is_lad_name_key("lad20nm"));
        assert!(is_lad_name_key("LAD22NM"));
        assert!(!is_lad_name_key("LAD22CD"));
    }

    #[test]
    fn names_from_addresses() {
        assert_eq!(
            name_from_address("THE SHIP INN, Aldwick Street, Aldwick").as_deref(),
            Some("THE SHIP INN")
        );
        assert_eq!(name_from_address("12 Queensway, Bognor Regis"), None);
    }

    #[test]
    fn opening_hours_edge_cases() {
        let c = closing_times("Fr,Sa 22:00+").unwrap();
        assert_eq!(c.0[4], None);
        let c = closing_times("Mo-Fr 12:00-23:00; PH off").unwrap();
        assert_eq!(c.0[0], hm(23, 0));
        let c = closing_times("Mo-Su 00:00-24:00").unwrap();
        assert_eq!(c.0, [None; 7]);
        let c = closing_times("Fr-Mo 20:00-02:00").unwrap();
        assert_eq!(
            c.0,
            [hm(2, 0), None, None, None, hm(2, 0), hm(2, 0), hm(2, 0)]
        );
        for bad in [
            "Mo-Fr 25:00-26:00",
            "sunrise-sunset",
            "Jan-Mar Mo 10:00-12:00",
            "Mo 10-12",
            "Mo 10:00",
            "Mo-",
            "",
        ] {
            assert_eq!(closing_times(bad), None, "{bad}");
        }
    }
}
