//! Coordinate reference systems: WGS84 in, metres inside, WGS84 out.
//!
//! Every distance, cell and kernel is computed in a metric CRS. In Great Britain that is the
//! British National Grid (EPSG:27700), so Firefly's grid lines up with the force's and the
//! council's GIS; elsewhere it is the UTM zone of the data's centre, so Chicago or Houston test
//! data is scored in true metres too.
//!
//! BNG uses the Ordnance Survey's OSTN15 transformation (via `lonlat_bng`), which agrees with
//! the OS to the millimetre. Outside OSTN15's coverage, and for the inverse where OSTN15 has
//! no value, a 7-parameter Helmert transform (via `proj4rs`) takes over: within about 5 m.

use proj4rs::proj::Proj;
use std::fmt;

/// Bounding box of Great Britain used to decide `--crs auto` (mainland, islands and a margin).
const GB_BOUNDS: (f64, f64, f64, f64) = (-9.0, 49.8, 2.0, 61.0);

/// BNG as PROJ writes it, with the OS's published 7-parameter Helmert from WGS84.
const BNG_HELMERT: &str = "+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 \
    +y_0=-100000 +ellps=airy +towgs84=446.448,-125.157,542.06,0.15,0.247,0.842,-20.489 \
    +units=m +no_defs";
const WGS84: &str = "+proj=longlat +datum=WGS84 +no_defs";

/// Which metric CRS a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrsKind {
    /// British National Grid, EPSG:27700.
    Bng,
    /// UTM on WGS84; `zone` 1..=60. EPSG 326zz (north) or 327zz (south).
    Utm { zone: u8, north: bool },
}

impl CrsKind {
    /// The EPSG code, for outputs that name their CRS.
    pub fn epsg(self) -> u32 {
        match self {
            CrsKind::Bng => 27700,
            CrsKind::Utm { zone, north: true } => 32600 + zone as u32,
            CrsKind::Utm { zone, north: false } => 32700 + zone as u32,
        }
    }

    /// The UTM zone containing a WGS84 point (the plain 6-degree rule; Norway's and
    /// Svalbard's exceptions do not matter for a city-sized grid).
    pub fn utm_for(lon: f64, lat: f64) -> CrsKind {
        let zone = (((lon + 180.0) / 6.0).floor() as i32).clamp(0, 59) as u8 + 1;
        CrsKind::Utm {
            zone,
            north: lat >= 0.0,
        }
    }

    /// `--crs auto`: BNG when the point (normally the data's centre) lies in Great
    /// Britain, otherwise the UTM zone of the point.
    pub fn auto_for(lon: f64, lat: f64) -> CrsKind {
        let (w, s, e, n) = GB_BOUNDS;
        if (w..=e).contains(&lon) && (s..=n).contains(&lat) {
            CrsKind::Bng
        } else {
            CrsKind::utm_for(lon, lat)
        }
    }
}

impl fmt::Display for CrsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrsKind::Bng => write!(f, "British National Grid (EPSG:27700)"),
            CrsKind::Utm { zone, north } => write!(
                f,
                "UTM zone {zone}{} (EPSG:{})",
                if *north { "N" } else { "S" },
                self.epsg()
            ),
        }
    }
}

/// A projected point in metres (easting, northing).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projected {
    pub x: f64,
    pub y: f64,
}

/// Why a coordinate could not be transformed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrsError {
    /// The input is not a valid WGS84 coordinate; the caller should reject the record.
    #[error("not a valid WGS84 coordinate: lon {lon}, lat {lat}")]
    InvalidLonLat { lon: f64, lat: f64 },
    /// The point is too far from the CRS's area to project meaningfully (for example a
    /// Chicago point with BNG); the caller should drop it from the study area.
    #[error("lon {lon}, lat {lat} is outside the area of {crs}")]
    OutsideArea { lon: f64, lat: f64, crs: String },
    /// proj4rs failed; this indicates a bug or an unsupported definition.
    #[error("projection failed: {0}")]
    Projection(String),
}

/// A ready-to-use transformation between WGS84 and one metric CRS.
#[derive(Clone)]
pub struct Crs {
    kind: CrsKind,
    wgs84: Proj,
    metric: Proj,
}

impl fmt::Debug for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crs").field("kind", &self.kind).finish()
    }
}

impl Crs {
    pub fn new(kind: CrsKind) -> Crs {
        let definition = match kind {
            CrsKind::Bng => BNG_HELMERT.to_string(),
            CrsKind::Utm { zone, north } => format!(
                "+proj=utm +zone={zone} {}+datum=WGS84 +units=m +no_defs",
                if north { "" } else { "+south " }
            ),
        };
        // Both definitions are constants of this module, tested below; failure is a bug.
        #[allow(clippy::expect_used)]
        let metric = Proj::from_proj_string(&definition).expect("valid built-in proj string");
        #[allow(clippy::expect_used)]
        let wgs84 = Proj::from_proj_string(WGS84).expect("valid built-in proj string");
        Crs {
            kind,
            wgs84,
            metric,
        }
    }

    /// British National Grid.
    pub fn bng() -> Crs {
        Crs::new(CrsKind::Bng)
    }

    pub fn kind(&self) -> CrsKind {
        self.kind
    }

    /// WGS84 longitude/latitude (degrees) to metres.
    pub fn project(&self, lon: f64, lat: f64) -> Result<Projected, CrsError> {
        check_lonlat(lon, lat)?;
        if self.kind == CrsKind::Bng {
            if let Ok((x, y)) = lonlat_bng::convert_osgb36(lon, lat) {
                return Ok(Projected { x, y });
            }
            // Beyond OSTN15's grid: Helmert, but only near Great Britain.
            let (w, s, e, n) = GB_BOUNDS;
            if !((w - 3.0)..=(e + 3.0)).contains(&lon) || !((s - 3.0)..=(n + 3.0)).contains(&lat) {
                return Err(self.outside(lon, lat));
            }
        } else if let CrsKind::Utm { zone, .. } = self.kind {
            // Transverse Mercator degrades fast away from its meridian; beyond ~3 zones
            // the point does not belong to this data set.
            let central = zone as f64 * 6.0 - 183.0;
            if (lon - central).abs() > 18.0 {
                return Err(self.outside(lon, lat));
            }
        }
        let mut p = (lon.to_radians(), lat.to_radians(), 0.0);
        proj4rs::transform::transform(&self.wgs84, &self.metric, &mut p)
            .map_err(|e| CrsError::Projection(e.to_string()))?;
        Ok(Projected { x: p.0, y: p.1 })
    }

    /// Metres back to WGS84 (lon, lat) in degrees.
    pub fn unproject(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        if self.kind == CrsKind::Bng
            && let Ok(ll) = lonlat_bng::convert_osgb36_to_ll(x, y)
        {
            return Ok(ll);
        }
        let mut p = (x, y, 0.0);
        proj4rs::transform::transform(&self.metric, &self.wgs84, &mut p)
            .map_err(|e| CrsError::Projection(e.to_string()))?;
        Ok((p.0.to_degrees(), p.1.to_degrees()))
    }

    fn outside(&self, lon: f64, lat: f64) -> CrsError {
        CrsError::OutsideArea {
            lon,
            lat,
            crs: self.kind.to_string(),
        }
    }
}

/// Rejects NaN, infinities and out-of-range values.
pub fn check_lonlat(lon: f64, lat: f64) -> Result<(), CrsError> {
    if lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
    {
        Ok(())
    } else {
        Err(CrsError::InvalidLonLat { lon, lat })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    /// The Ordnance Survey's 40 published OSTN15 test points: (id, lat, lon, E, N).
    fn os_test_points() -> Vec<(String, f64, f64, f64, f64)> {
        include_str!("../tests/data/ostn15_test_points.csv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("point_id"))
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let n = |i: usize| f[i].parse::<f64>().unwrap();
                (f[0].to_string(), n(1), n(2), n(3), n(4))
            })
            .collect()
    }

    #[test]
    fn bng_agrees_with_every_os_test_point_to_the_centimetre() {
        let crs = Crs::bng();
        let points = os_test_points();
        assert_eq!(points.len(), 40);
        for (id, lat, lon, e, n) in points {
            let p = crs.project(lon, lat).unwrap();
            let d = ((p.x - e).powi(2) + (p.y - n).powi(2)).sqrt();
            assert!(d < 0.01, "{id}: {d:.4} m from the OS value");
        }
    }

    #[test]
    fn helmert_fallback_is_within_five_metres_of_the_os_in_england_and_wales() {
        // The Helmert path is what points beyond OSTN15's grid get; check it against the OS
        // test points south of Scotland (its error grows to ~8 m in the far north-west).
        let crs = Crs::bng();
        let mut worst: f64 = 0.0;
        for (id, lat, lon, e, n) in os_test_points().into_iter().filter(|p| p.1 < 55.0) {
            let mut p = (lon.to_radians(), lat.to_radians(), 0.0);
            proj4rs::transform::transform(&crs.wgs84, &crs.metric, &mut p).unwrap();
            let d = ((p.0 - e).powi(2) + (p.1 - n).powi(2)).sqrt();
            assert!(d < 5.0, "{id}: Helmert is {d:.2} m from the OS value");
            worst = worst.max(d);
        }
        assert!(
            worst > 0.1,
            "Helmert should differ from OSTN15 a little; got {worst}"
        );
    }

    #[test]
    fn helmert_agrees_with_ostn15_within_five_metres_over_bedfordshire() {
        let crs = Crs::bng();
        for lon in [-0.70, -0.55, -0.42, -0.30, -0.15] {
            for lat in [51.81, 51.88, 51.95, 52.05, 52.15, 52.30] {
                let ostn = crs.project(lon, lat).unwrap();
                let mut p = (f64::to_radians(lon), f64::to_radians(lat), 0.0);
                proj4rs::transform::transform(&crs.wgs84, &crs.metric, &mut p).unwrap();
                let d = ((ostn.x - p.0).powi(2) + (ostn.y - p.1).powi(2)).sqrt();
                assert!(d < 5.0, "{lon},{lat}: Helmert is {d:.2} m from OSTN15");
            }
        }
    }

    #[test]
    fn bng_round_trips() {
        let crs = Crs::bng();
        for (lon, lat) in [
            (-0.4167, 51.8787),
            (-0.4662, 52.1362),
            (-3.19, 55.95),
            (-6.3, 49.93),
        ] {
            let p = crs.project(lon, lat).unwrap();
            let (lon2, lat2) = crs.unproject(p.x, p.y).unwrap();
            assert_abs_diff_eq!(lon, lon2, epsilon = 1e-7);
            assert_abs_diff_eq!(lat, lat2, epsilon = 1e-7);
        }
    }

    #[test]
    fn utm_zone_of_chicago_houston_san_francisco() {
        assert_eq!(
            CrsKind::auto_for(-87.63, 41.88),
            CrsKind::Utm {
                zone: 16,
                north: true
            }
        );
        assert_eq!(
            CrsKind::auto_for(-95.37, 29.76),
            CrsKind::Utm {
                zone: 15,
                north: true
            }
        );
        assert_eq!(
            CrsKind::auto_for(-122.42, 37.77),
            CrsKind::Utm {
                zone: 10,
                north: true
            }
        );
        assert_eq!(CrsKind::auto_for(-0.42, 51.88), CrsKind::Bng);
        assert_eq!(
            CrsKind::auto_for(151.2, -33.87),
            CrsKind::Utm {
                zone: 56,
                north: false
            }
        );
        assert_eq!(
            CrsKind::Utm {
                zone: 16,
                north: true
            }
            .epsg(),
            32616
        );
    }

    #[test]
    fn utm_matches_proj() {
        // Reference values from PROJ 9.5.1 (pyproj 3.7.2, EPSG:4326 -> EPSG:326zz/327zz,
        // always_xy), computed outside this code base.
        let cases = [
            (16, true, -87.6298, 41.8781, 447741.917, 4636433.684),
            (15, true, -95.3698, 29.7604, 270857.836, 3294589.259),
            (10, true, -122.4194, 37.7749, 551130.768, 4180998.881),
            (56, false, 151.2093, -33.8688, 334368.634, 6250948.345),
        ];
        for (zone, north, lon, lat, e, n) in cases {
            let crs = Crs::new(CrsKind::Utm { zone, north });
            assert_eq!(CrsKind::auto_for(lon, lat), crs.kind());
            let p = crs.project(lon, lat).unwrap();
            assert_abs_diff_eq!(p.x, e, epsilon = 0.01);
            assert_abs_diff_eq!(p.y, n, epsilon = 0.01);
            let (lon2, lat2) = crs.unproject(p.x, p.y).unwrap();
            assert_abs_diff_eq!(lon, lon2, epsilon = 1e-8);
            assert_abs_diff_eq!(lat, lat2, epsilon = 1e-8);
        }
    }

    #[test]
    fn rejects_invalid_and_far_away_points() {
        let crs = Crs::bng();
        assert!(matches!(
            crs.project(f64::NAN, 52.0),
            Err(CrsError::InvalidLonLat { .. })
        ));
        assert!(matches!(
            crs.project(0.0, 91.0),
            Err(CrsError::InvalidLonLat { .. })
        ));
        assert!(matches!(
            crs.project(-87.6, 41.9),
            Err(CrsError::OutsideArea { .. })
        ));
    }
}
