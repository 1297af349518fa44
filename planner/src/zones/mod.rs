//! Patrol zones: where officers stand, as walkable patches with a risk per time slot.
//!
//! A hotspot map scores 50 m cells; a shift planner sends officers to *places*: a few
//! streets around a cluster of bars that one officer or pair can cover on foot, with a name
//! the radio understands and a risk that rises and falls through the night. DESIGN.md
//! ("Zones and the rota") asks for contiguous clusters of hot cells, split or merged to a
//! walkable size (by default no point more than 300 m from the zone's centre), each a
//! polygon with a risk per time slot. [`zones`] builds them in steps, one per file:
//!
//! 1. [`hot`]: the hot cells: the top 2 % of the study area by score (or a threshold);
//! 2. [`cluster`]: hot cells into 8-connected clusters;
//! 3. [`split`]: clusters too big to walk split by deterministic k-means into pieces whose
//!    every cell corner is within `max_radius_m` of the piece's centroid;
//! 4. [`merge`]: pieces under `min_cells` merged into a touching piece when the union still
//!    fits, otherwise dropped (and counted);
//! 5. [`outline`]: each zone's polygon, the exact union of its cells;
//! 6. [`name`]: the venues inside and a name from the highest-risk venue nearby;
//! 7. [`risk`]: risk by hour of the week and per slot of a night, DST-correct.
//!
//! Zones are ranked by total score (highest first; ties by top cell), capped at
//! `max_zones`, and numbered `Z01`, `Z02`, ... in that order, so Z01 is always the zone with
//! the most risk. Because numbers follow the ranking they can change when the data do;
//! [`Zone::top_cell`] (a contract cell id) identifies a zone across runs.
//!
//! Everything is deterministic: the same input gives the same zones, to the last bit. The
//! scores may be any method's ([`crate::hotspots::method_scores`]; KDE is the default
//! method): totals and risks are in that method's unit (for KDE, harm per m² summed over
//! cells) and only compare within one run.
//!
//! ```
//! use planner::hotspots::{grid::Grid, method_scores, weights, Method, ScoringParams, ScoringPoint};
//! use planner::zones::{risk_for_slots, zones, ZoneInput, ZoneParams, ZoneVenue};
//! use planner::{Category, OccurredAt};
//! use jiff::{SignedDuration, Timestamp};
//!
//! let tz = planner::time::london();
//! let night: Timestamp = "2024-06-07T22:30:00Z".parse().unwrap(); // Friday 23:30 BST
//! // Twenty fights outside one bar, five outside another 2 km away.
//! let mut points = Vec::new();
//! for (x, y, n) in [(504_100.0, 221_100.0, 20), (506_100.0, 221_100.0, 5)] {
//!     for k in 0..n {
//!         points.push(ScoringPoint {
//!             x: x + k as f64, y, category: Category::Violence,
//!             occurred: OccurredAt::Exact(night),
//!         });
//!     }
//! }
//! let grid = Grid::from_bbox(50.0, 503_000.0, 220_000.0, 507_000.0, 222_000.0).unwrap();
//! let params = ScoringParams::new("2024-06-09T00:00:00Z".parse().unwrap(), tz.clone());
//! let weighed = weights::weigh(&grid, &points, &params);
//! let totals = weights::cell_totals(&grid, &weighed.points);
//! let scores = method_scores(Method::Kde, &grid, &weighed, &totals, &params).unwrap();
//! let venues = [
//!     ZoneVenue { id: "osm:node/1".into(), name: "Bar One".into(), x: 504_110.0, y: 221_120.0,
//!                 rank: Some(1), harm: Some(20.0) },
//!     ZoneVenue { id: "osm:node/2".into(), name: "The Two".into(), x: 506_090.0, y: 221_090.0,
//!                 rank: Some(2), harm: Some(5.0) },
//! ];
//! let input = ZoneInput {
//!     grid: &grid, scores: &scores.score, points: &weighed.points, tz: &tz, venues: &venues,
//! };
//! let set = zones(&input, &ZoneParams::default()).unwrap();
//! assert_eq!(set.zones.len(), 2);
//! assert_eq!((set.zones[0].id.as_str(), set.zones[0].name.as_str()), ("Z01", "Bar One"));
//! assert_eq!(set.zones[1].name, "The Two");
//! // Every incident was on Friday at 23:xx, so all the risk is in that hour.
//! let friday_23 = 4 * 24 + 23;
//! assert!((set.zones[0].risk_by_hour[friday_23] - set.zones[0].total).abs() < 1e-12);
//! // Four 15-minute slots from 23:00 BST share it equally.
//! let start: Timestamp = "2024-06-07T22:00:00Z".parse().unwrap();
//! let slots: Vec<Timestamp> = (0..5)
//!     .map(|k| start.checked_add(SignedDuration::from_mins(15 * k)).unwrap())
//!     .collect();
//! let risk = risk_for_slots(&set.zones[0], &slots, 15, &tz);
//! assert!((risk[0] - set.zones[0].total / 4.0).abs() < 1e-12);
//! assert_eq!(risk[4], 0.0); // Saturday 00:00
//! ```

pub mod cluster;
pub mod hot;
pub mod merge;
pub mod name;
pub mod outline;
pub mod risk;
pub mod split;

pub use name::NameSource;
pub use risk::risk_for_slots;

use crate::crs::Projected;
use crate::hotspots::ScoringError;
use crate::hotspots::grid::Grid;
use crate::hotspots::prior::nte_prior;
use crate::hotspots::profile::{HOURS_PER_WEEK, ProfileSource, hour_profiles};
use crate::hotspots::weights::WeightedPoint;
use geo::MultiPolygon;
use jiff::tz::TimeZone;
use name::{Namer, ZoneShape};

/// Default share of the study area that is hot: 2 % (a backtest's 2 % coverage).
pub const DEFAULT_HOT_SHARE: f64 = 0.02;
/// Default walking radius, metres: no point of a zone further from its centre (DESIGN.md).
pub const DEFAULT_MAX_RADIUS_M: f64 = 300.0;
/// Default smallest zone, cells: a lone 50 m cell is merged into a neighbour or dropped.
pub const DEFAULT_MIN_CELLS: usize = 2;
/// Default most zones kept: more than a force can staff on a weekend night.
pub const DEFAULT_MAX_ZONES: usize = 30;
/// Default naming radius, metres: a venue this close to a zone's outline can name it.
pub const DEFAULT_NAME_RADIUS_M: f64 = 100.0;

/// Which cells are hot (see [`hot`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HotCells {
    /// The top share (0 < share <= 1) of study-area cells by score, ties included.
    TopShare(f64),
    /// Every cell scoring at least this.
    Threshold(f64),
}

/// Parameters of [`zones`]. [`Default`] gives the values of DESIGN.md and the constants
/// above, with the night-time-economy prior ([`nte_prior`]) for zones without timed
/// incidents.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneParams {
    pub hot: HotCells,
    /// No cell corner of a zone further than this from its centroid, metres. At least half a
    /// cell's diagonal, so that one cell fits.
    pub max_radius_m: f64,
    /// Zones with fewer cells are merged into a neighbour or dropped (see [`merge`]).
    pub min_cells: usize,
    /// Keep at most this many zones, the highest total first; `None` keeps all.
    pub max_zones: Option<usize>,
    /// A venue within this distance of a zone's outline can name it, metres.
    pub name_radius_m: f64,
    /// Hour-of-week prior for zones without timed incidents (any non-negative weights with a
    /// positive sum).
    pub prior: [f64; HOURS_PER_WEEK],
}

impl Default for ZoneParams {
    fn default() -> Self {
        ZoneParams {
            hot: HotCells::TopShare(DEFAULT_HOT_SHARE),
            max_radius_m: DEFAULT_MAX_RADIUS_M,
            min_cells: DEFAULT_MIN_CELLS,
            max_zones: Some(DEFAULT_MAX_ZONES),
            name_radius_m: DEFAULT_NAME_RADIUS_M,
            prior: nte_prior(),
        }
    }
}

impl ZoneParams {
    /// Checks every number is usable on a grid of `cell`-metre cells.
    pub fn validate(&self, cell: f64) -> Result<(), ZoneError> {
        let bad = |name: &'static str, value: f64| Err(ZoneError::InvalidParam { name, value });
        match self.hot {
            HotCells::TopShare(s) if !(s > 0.0 && s <= 1.0) => return bad("hot_share", s),
            HotCells::Threshold(t) if !t.is_finite() => return bad("threshold", t),
            _ => {}
        }
        if !(self.max_radius_m.is_finite() && self.max_radius_m > 0.0) {
            return bad("max_radius_m", self.max_radius_m);
        }
        if !(self.name_radius_m.is_finite() && self.name_radius_m >= 0.0) {
            return bad("name_radius_m", self.name_radius_m);
        }
        let half_diagonal = cell * std::f64::consts::SQRT_2 / 2.0;
        if self.max_radius_m < half_diagonal {
            return Err(ZoneError::RadiusBelowCell {
                max_radius_m: self.max_radius_m,
                cell,
            });
        }
        Ok(())
    }
}

/// Why zones could not be built: invalid input, report it; nothing was built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ZoneError {
    /// A parameter is out of range (share not in (0, 1], non-finite or negative distance).
    #[error("{name} is out of range: {value}")]
    InvalidParam { name: &'static str, value: f64 },
    /// Not even one cell fits in the radius: give a larger radius or a smaller cell.
    #[error(
        "max_radius_m {max_radius_m} is less than half the diagonal of a {cell} m cell, so no zone can fit"
    )]
    RadiusBelowCell { max_radius_m: f64, cell: f64 },
    /// The scores are not one per grid cell (a bug in the caller).
    #[error("expected {expected} scores (one per grid cell), got {got}")]
    ScoresLength { expected: usize, got: usize },
    /// The hour-of-week prior had a negative or non-finite value, or summed to 0.
    #[error(transparent)]
    Prior(#[from] ScoringError),
    /// The caller no longer wants the answer ([`crate::cancel`]).
    #[error(transparent)]
    Cancelled(#[from] crate::cancel::Cancelled),
}

/// A licensed venue, projected, with its risk if known (e.g. from
/// [`crate::venue_risk::venue_risk`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneVenue {
    /// Stable id, e.g. `osm:node/21992993`.
    pub id: String,
    /// What people call it; zones are named after it.
    pub name: String,
    /// Easting and northing, metres (the grid's CRS).
    pub x: f64,
    pub y: f64,
    /// Risk rank, 1 = highest; `None` if unknown.
    pub rank: Option<u32>,
    /// Harm attributed to it; `None` if unknown.
    pub harm: Option<f64>,
}

/// What [`zones`] works from: plain values, already projected and scored.
#[derive(Debug, Clone, Copy)]
pub struct ZoneInput<'a> {
    pub grid: &'a Grid,
    /// One score per grid cell (e.g. [`crate::hotspots::MethodScores::score`]).
    pub scores: &'a [f64],
    /// The weighed incidents ([`crate::hotspots::weights::weigh`]): their hours give the
    /// zones' hour-of-week profiles.
    pub points: &'a [WeightedPoint],
    /// The force's zone, for hours of the week.
    pub tz: &'a TimeZone,
    pub venues: &'a [ZoneVenue],
}

/// One patrol zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// `Z01`, `Z02`, ... by descending total (see the module docs).
    pub id: String,
    /// A name people recognise (see [`name`]); unique within the set.
    pub name: String,
    pub name_source: NameSource,
    /// The contract id (`"{col}_{row}"`) of the zone's highest-score cell: stable across runs.
    pub top_cell: String,
    /// Dense grid indices of its cells, ascending ([`Grid::id`] gives their contract ids).
    pub cells: Vec<usize>,
    /// Ids of the venues inside it, highest risk first.
    pub venues: Vec<String>,
    /// Geometric centroid (mean of the cell centres), projected metres; the walking radius is
    /// measured from here, and so should walking distances between zones be.
    pub centroid: Projected,
    /// Distance from the centroid to the farthest cell corner, metres (<= `max_radius_m`).
    pub reach_m: f64,
    /// The union of its cells, projected metres: outer rings counter-clockwise, holes
    /// clockwise.
    pub polygon: MultiPolygon<f64>,
    /// Sum of its cells' scores.
    pub total: f64,
    /// `total x` the pooled hour-of-week share of its cells (Monday 00:00 local = 0).
    pub risk_by_hour: [f64; HOURS_PER_WEEK],
    /// Whether `risk_by_hour` is spread by the zone's own timed incidents or by the prior.
    pub profile_source: ProfileSource,
}

/// Hot cells that ended up in no zone.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Leftover {
    /// Pieces (fragments or zones) left out.
    pub pieces: usize,
    pub cells: usize,
    /// Sum of their scores.
    pub score: f64,
}

/// The zones, and what became of every hot cell.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneSet {
    /// Highest total first.
    pub zones: Vec<Zone>,
    pub n_hot_cells: usize,
    /// The lowest score among the hot cells; `None` if none was hot.
    pub cut: Option<f64>,
    /// Contiguous clusters of hot cells.
    pub n_clusters: usize,
    /// Of those, how many were too big to walk and were split.
    pub n_split: usize,
    /// Fragments under `min_cells` that could not be merged.
    pub dropped: Leftover,
    /// Zones beyond `max_zones`.
    pub capped: Leftover,
}

/// Builds the patrol zones of a scored grid. See the module docs.
pub fn zones(input: &ZoneInput<'_>, params: &ZoneParams) -> Result<ZoneSet, ZoneError> {
    let grid = input.grid;
    params.validate(grid.cell_size())?;
    if input.scores.len() != grid.len() {
        return Err(ZoneError::ScoresLength {
            expected: grid.len(),
            got: input.scores.len(),
        });
    }
    let scores = input.scores;
    let profiles = hour_profiles(input.points, input.tz, &params.prior)?;
    let hot = hot::hot_cells(grid, scores, &params.hot);
    let clusters = cluster::clusters(grid, &hot.cells);
    let mut pieces = Vec::new();
    let mut n_split = 0;
    for c in &clusters {
        crate::cancel::check()?;
        if split::fits(grid, c, params.max_radius_m) {
            pieces.push(c.clone());
        } else {
            n_split += 1;
            pieces.extend(split::split(grid, c, scores, params.max_radius_m));
        }
    }
    let merged = merge::merge_fragments(grid, pieces, params.min_cells, params.max_radius_m);
    let leftover = |ps: &[Vec<usize>]| Leftover {
        pieces: ps.len(),
        cells: ps.iter().map(Vec::len).sum(),
        score: ps.iter().flatten().map(|&i| scores[i]).sum(),
    };
    let dropped = leftover(&merged.dropped);

    let total_of = |cells: &[usize]| cells.iter().map(|&i| scores[i]).sum::<f64>();
    let top_of = |cells: &[usize]| {
        cells
            .iter()
            .copied()
            .reduce(|a, b| if scores[b] > scores[a] { b } else { a })
            .unwrap_or(0)
    };
    let mut ranked: Vec<(f64, usize, Vec<usize>)> = merged
        .pieces
        .into_iter()
        .map(|cells| (total_of(&cells), top_of(&cells), cells))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let keep = params.max_zones.unwrap_or(usize::MAX).min(ranked.len());
    let over: Vec<Vec<usize>> = ranked.drain(keep..).map(|(_, _, c)| c).collect();
    let capped = leftover(&over);

    let mut namer = Namer::new(grid, input.venues, params.name_radius_m);
    let width = ranked.len().to_string().len().max(2);
    let zones = ranked
        .into_iter()
        .enumerate()
        .map(|(k, (total, top, cells))| {
            let id = format!("Z{:0width$}", k + 1);
            let (centroid, reach_m) = split::reach(grid, &cells).unwrap_or((
                Projected {
                    x: f64::NAN,
                    y: f64::NAN,
                },
                0.0,
            ));
            let shape = ZoneShape {
                id: &id,
                cells: &cells,
                centre: centroid,
                reach: reach_m,
                top_cell: top,
            };
            let (name, name_source) = namer.name(&shape);
            let venues = namer
                .venues_inside(&shape)
                .into_iter()
                .map(|i| input.venues[i].id.clone())
                .collect();
            let profile = profiles.pooled(cells.iter().copied());
            Zone {
                name,
                name_source,
                top_cell: grid.id(top),
                venues,
                centroid,
                reach_m,
                polygon: outline::outline(grid, &cells),
                total,
                risk_by_hour: risk::risk_by_hour(total, &profile),
                profile_source: profile.source,
                cells,
                id,
            }
        })
        .collect();
    Ok(ZoneSet {
        zones,
        n_hot_cells: hot.cells.len(),
        cut: hot.cut,
        n_clusters: clusters.len(),
        n_split,
        dropped,
        capped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotspots::profile::uniform_prior;
    use geo::{Area, BooleanOps, Contains, Point, Validation, Winding};

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn london() -> TimeZone {
        crate::time::london()
    }

    /// A grid with scores set by hand on (col, row) cells; everything else 0.
    fn scored(cells: &[((i64, i64), f64)]) -> (Grid, Vec<f64>) {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 4_999.0, 4_999.0).unwrap();
        let mut s = vec![0.0; grid.len()];
        for &((c, r), v) in cells {
            s[grid.index(c, r).unwrap()] = v;
        }
        (grid, s)
    }

    fn block(c0: i64, r0: i64, w: i64, h: i64, v: f64) -> Vec<((i64, i64), f64)> {
        (r0..r0 + h)
            .flat_map(|r| (c0..c0 + w).map(move |c| ((c, r), v)))
            .collect()
    }

    fn run(grid: &Grid, scores: &[f64], venues: &[ZoneVenue], params: &ZoneParams) -> ZoneSet {
        let tz = london();
        let input = ZoneInput {
            grid,
            scores,
            points: &[],
            tz: &tz,
            venues,
        };
        zones(&input, params).unwrap()
    }

    fn every_cell_hot() -> ZoneParams {
        ZoneParams {
            hot: HotCells::Threshold(1e-9),
            ..ZoneParams::default()
        }
    }

    /// The invariants every zone set must satisfy, checked independently with geo.
    fn check(grid: &Grid, set: &ZoneSet, params: &ZoneParams) {
        let cell = grid.cell_size();
        for z in &set.zones {
            // Walkable: every corner of every cell within the radius of the centroid.
            for &i in &z.cells {
                for c in grid.cell_polygon(i).exterior().coords() {
                    let d = ((c.x - z.centroid.x).powi(2) + (c.y - z.centroid.y).powi(2)).sqrt();
                    assert!(d <= params.max_radius_m + 1e-9, "{}: corner {d} m", z.id);
                }
            }
            assert!(z.cells.len() >= params.min_cells.max(1));
            assert!(z.reach_m <= params.max_radius_m);
            // Polygon: exact area, every cell centre inside, orientation, validity.
            assert!((z.polygon.unsigned_area() - z.cells.len() as f64 * cell * cell).abs() < 1e-6);
            for &i in &z.cells {
                let (x, y) = grid.centre(i);
                assert!(
                    z.polygon.contains(&Point::new(x, y)),
                    "{} {}",
                    z.id,
                    grid.id(i)
                );
            }
            for p in &z.polygon.0 {
                assert!(p.exterior().is_ccw());
                assert!(p.interiors().iter().all(|h| h.is_cw()));
            }
            assert!(z.polygon.is_valid());
            // Risk spreads the total over the week.
            let sum: f64 = z.risk_by_hour.iter().sum();
            assert!((sum - z.total).abs() <= 1e-9 * z.total.abs().max(1.0));
        }
        // No two zones overlap, and no cell is in two zones.
        for (a, za) in set.zones.iter().enumerate() {
            for zb in &set.zones[a + 1..] {
                let overlap = za.polygon.intersection(&zb.polygon).unsigned_area();
                assert!(
                    overlap < 1e-6,
                    "{} and {} overlap by {overlap}",
                    za.id,
                    zb.id
                );
                assert!(za.cells.iter().all(|c| zb.cells.binary_search(c).is_err()));
            }
        }
        // Ranked by total.
        assert!(set.zones.windows(2).all(|w| w[0].total >= w[1].total));
        // Every hot cell is in a zone, dropped or capped.
        let in_zones: usize = set.zones.iter().map(|z| z.cells.len()).sum();
        assert_eq!(
            in_zones + set.dropped.cells + set.capped.cells,
            set.n_hot_cells
        );
    }

    #[test]
    fn two_separate_blobs_make_two_zones_ranked_by_total() {
        let mut cells = block(10, 10, 3, 3, 1.0);
        cells.extend(block(40, 40, 4, 4, 2.0));
        let (grid, scores) = scored(&cells);
        let params = every_cell_hot();
        let set = run(&grid, &scores, &[], &params);
        check(&grid, &set, &params);
        assert_eq!(set.zones.len(), 2);
        assert_eq!((set.n_clusters, set.n_split), (2, 0));
        assert_eq!(set.zones[0].id, "Z01");
        assert_eq!(set.zones[0].total, 32.0);
        assert_eq!(set.zones[0].top_cell, "40_40");
        assert_eq!(
            (set.zones[0].centroid.x, set.zones[0].centroid.y),
            (2_100.0, 2_100.0)
        );
        assert_eq!(set.zones[1].id, "Z02");
        assert_eq!(set.zones[1].total, 9.0);
        assert_eq!(set.zones[1].cells.len(), 9);
        assert_eq!(set.zones[1].name, "cell 10_10");
    }

    #[test]
    fn an_l_shape_and_a_diagonal_touch_are_one_zone() {
        let mut cells = block(10, 10, 1, 5, 1.0);
        cells.extend(block(11, 10, 4, 1, 1.0));
        cells.push(((15, 11), 1.0)); // touches (14, 10) at a corner
        let (grid, scores) = scored(&cells);
        let params = every_cell_hot();
        let set = run(&grid, &scores, &[], &params);
        check(&grid, &set, &params);
        assert_eq!(set.zones.len(), 1);
        assert_eq!(set.zones[0].cells.len(), 10);
        // The corner contact makes the outline two polygons touching at a point.
        assert_eq!(set.zones[0].polygon.0.len(), 2);
    }

    #[test]
    fn a_long_street_is_split_into_walkable_zones() {
        // 3 km of street, 2 cells wide, the score peaking in the middle.
        let cells: Vec<((i64, i64), f64)> = block(10, 50, 60, 2, 0.0)
            .into_iter()
            .map(|((c, r), _)| ((c, r), 100.0 - (c - 40).abs() as f64))
            .collect();
        let (grid, scores) = scored(&cells);
        for max_radius_m in [100.0, 300.0, 450.0] {
            let params = ZoneParams {
                max_radius_m,
                ..every_cell_hot()
            };
            let set = run(&grid, &scores, &[], &params);
            check(&grid, &set, &params);
            assert_eq!((set.n_clusters, set.n_split), (1, 1));
            // At least 3 km / (2 x radius) zones are needed.
            let need = (3_000.0 / (2.0 * max_radius_m)).ceil() as usize;
            assert!(set.zones.len() >= need, "{} zones", set.zones.len());
            assert_eq!(set.dropped, Leftover::default());
            assert_eq!(set.zones[0].top_cell, "40_50");
        }
    }

    #[test]
    fn a_blob_with_a_hole_keeps_its_hole() {
        let cells: Vec<((i64, i64), f64)> = block(10, 10, 5, 5, 1.0)
            .into_iter()
            .filter(|((c, r), _)| (*c, *r) != (12, 12))
            .collect();
        let (grid, scores) = scored(&cells);
        let params = every_cell_hot();
        let set = run(&grid, &scores, &[], &params);
        check(&grid, &set, &params);
        assert_eq!(set.zones[0].polygon.0[0].interiors().len(), 1);
        let (x, y) = grid.centre(grid.index(12, 12).unwrap());
        assert!(!set.zones[0].polygon.contains(&Point::new(x, y)));
    }

    #[test]
    fn tiny_clusters_are_dropped_and_counted_and_the_cap_applies() {
        let mut cells = block(10, 10, 3, 3, 1.0);
        cells.push(((30, 30), 5.0)); // a lone cell
        cells.extend(block(50, 10, 2, 2, 1.0));
        cells.extend(block(70, 10, 2, 1, 1.0));
        let (grid, scores) = scored(&cells);
        let params = ZoneParams {
            max_zones: Some(2),
            ..every_cell_hot()
        };
        let set = run(&grid, &scores, &[], &params);
        check(&grid, &set, &params);
        assert_eq!(set.zones.len(), 2);
        assert_eq!(
            set.dropped,
            Leftover {
                pieces: 1,
                cells: 1,
                score: 5.0
            }
        );
        assert_eq!(
            set.capped,
            Leftover {
                pieces: 1,
                cells: 2,
                score: 2.0
            }
        );
        let keep_all = ZoneParams {
            max_zones: None,
            min_cells: 1,
            ..every_cell_hot()
        };
        let set = run(&grid, &scores, &[], &keep_all);
        assert_eq!(set.zones.len(), 4);
        assert_eq!(set.zones[0].total, 9.0);
        assert_eq!(set.zones[1].total, 5.0);
    }

    #[test]
    fn the_top_share_picks_the_hottest_cells() {
        // 100 x 100 cells; 2 % is 200 cells. Scores fall off from two peaks.
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 4_999.0, 4_999.0).unwrap();
        let scores: Vec<f64> = (0..grid.len())
            .map(|i| {
                let (x, y) = grid.centre(i);
                let a = (-((x - 1_000.0).powi(2) + (y - 1_000.0).powi(2)) / 2e5).exp();
                let b = 0.5 * (-((x - 4_000.0).powi(2) + (y - 3_000.0).powi(2)) / 1e5).exp();
                a + b
            })
            .collect();
        let params = ZoneParams::default();
        let set = run(&grid, &scores, &[], &params);
        check(&grid, &set, &params);
        assert_eq!(set.n_hot_cells, 200);
        assert_eq!(set.n_clusters, 2);
        let near = |z: &Zone, x: f64, y: f64| {
            ((z.centroid.x - x).powi(2) + (z.centroid.y - y).powi(2)).sqrt() < 400.0
        };
        assert!(set.zones.iter().any(|z| near(z, 1_000.0, 1_000.0)));
        assert!(set.zones.iter().any(|z| near(z, 4_000.0, 3_000.0)));
        assert!(
            set.zones
                .iter()
                .all(|z| z.cells.iter().all(|&i| scores[i] >= set.cut.unwrap()))
        );
    }

    #[test]
    fn zones_are_named_after_their_highest_risk_venue() {
        let mut cells = block(10, 10, 4, 4, 1.0);
        cells.extend(block(40, 10, 4, 4, 2.0));
        let (grid, scores) = scored(&cells);
        let venue = |id: &str, name: &str, x, y, rank| ZoneVenue {
            id: id.into(),
            name: name.into(),
            x,
            y,
            rank: Some(rank),
            harm: None,
        };
        let venues = vec![
            venue("v1", "The Swan", 560.0, 560.0, 7),
            venue("v2", "Club Tropicana", 640.0, 610.0, 3),
            venue("v3", "The Anchor", 2_010.0, 560.0, 5),
            venue("v4", "Distant Arms", 3_000.0, 3_000.0, 1),
        ];
        let params = every_cell_hot();
        let set = run(&grid, &scores, &venues, &params);
        assert_eq!(set.zones[0].name, "The Anchor");
        assert_eq!(set.zones[0].venues, vec!["v3".to_string()]);
        assert_eq!(set.zones[1].name, "Club Tropicana");
        assert_eq!(
            set.zones[1].venues,
            vec!["v2".to_string(), "v1".to_string()]
        );
        assert_eq!(
            set.zones[1].name_source,
            NameSource::Venue { id: "v2".into() }
        );
    }

    #[test]
    fn risk_by_hour_follows_the_zones_own_incidents_or_the_prior() {
        let (grid, scores) = scored(&block(10, 10, 3, 3, 1.0));
        let mut more = scores.clone();
        for (i, s) in more.iter_mut().enumerate() {
            let (c, r) = grid.col_row(i);
            if (40..43).contains(&c) && (10..13).contains(&r) {
                *s = 1.0;
            }
        }
        let wp = |x: f64, y: f64, at: &str| WeightedPoint {
            x,
            y,
            cell: grid.locate(x, y).unwrap(),
            harm: 1.0,
            recency: 1.0,
            age_days: 0.0,
            instant: Some(ts(at)),
        };
        // Three incidents in the first zone: Friday 23:xx BST twice, Saturday 01:xx once.
        let points = [
            wp(560.0, 560.0, "2024-06-07T22:10:00Z"),
            wp(570.0, 560.0, "2024-06-07T22:50:00Z"),
            wp(580.0, 600.0, "2024-06-08T00:30:00Z"),
        ];
        let tz = london();
        let input = ZoneInput {
            grid: &grid,
            scores: &more,
            points: &points,
            tz: &tz,
            venues: &[],
        };
        let params = ZoneParams {
            prior: uniform_prior(),
            ..every_cell_hot()
        };
        let set = zones(&input, &params).unwrap();
        let observed = set.zones.iter().find(|z| z.top_cell == "10_10").unwrap();
        assert_eq!(
            observed.profile_source,
            ProfileSource::Observed { incidents: 3 }
        );
        assert!((observed.risk_by_hour[4 * 24 + 23] - 9.0 * 2.0 / 3.0).abs() < 1e-12);
        assert!((observed.risk_by_hour[5 * 24 + 1] - 9.0 / 3.0).abs() < 1e-12);
        let prior = set.zones.iter().find(|z| z.top_cell == "40_10").unwrap();
        assert_eq!(prior.profile_source, ProfileSource::Prior);
        assert!(
            prior
                .risk_by_hour
                .iter()
                .all(|r| (r - 9.0 / 168.0).abs() < 1e-12)
        );
        // Slots: Friday 22:45-23:00 BST has none of the observed zone's risk, 23:00-23:15 a
        // quarter of its Friday 23:xx risk.
        let slots = [ts("2024-06-07T21:45:00Z"), ts("2024-06-07T22:00:00Z")];
        let r = risk_for_slots(observed, &slots, 15, &tz);
        assert_eq!(r[0], 0.0);
        assert!((r[1] - 6.0 / 4.0).abs() < 1e-12);
    }

    #[test]
    fn risk_for_slots_on_the_night_the_clocks_go_back() {
        let (grid, scores) = scored(&block(10, 10, 3, 3, 1.0)); // total 9
        let wp = |at: &str| WeightedPoint {
            x: 560.0,
            y: 560.0,
            cell: grid.locate(560.0, 560.0).unwrap(),
            harm: 1.0,
            recency: 1.0,
            age_days: 0.0,
            instant: Some(ts(at)),
        };
        // Saturday 26 October 2024 23:30 BST, then Sunday 01:30 BST and 01:30 GMT: a third
        // of the weight in Saturday hour 23, two thirds in Sunday hour 1.
        let points = [
            wp("2024-10-26T22:30:00Z"),
            wp("2024-10-27T00:30:00Z"),
            wp("2024-10-27T01:30:00Z"),
        ];
        let tz = london();
        let input = ZoneInput {
            grid: &grid,
            scores: &scores,
            points: &points,
            tz: &tz,
            venues: &[],
        };
        let set = zones(&input, &every_cell_hot()).unwrap();
        let zone = &set.zones[0];
        assert_eq!(zone.total, 9.0);
        // 52 quarter hours from Saturday 18:00 BST (17:00 UTC) to Sunday 06:00 GMT.
        let start = ts("2024-10-26T17:00:00Z");
        let slots: Vec<jiff::Timestamp> = (0..52)
            .map(|k| {
                start
                    .checked_add(jiff::SignedDuration::from_mins(15 * k))
                    .unwrap()
            })
            .collect();
        let r = risk_for_slots(zone, &slots, 15, &tz);
        // By hand: slots 20-23 are Saturday 23:xx BST (UTC 22:xx): 9 x 1/3 / 4 = 0.75 each;
        // slots 28-31 (01:xx BST, UTC 00:xx) and 32-35 (01:xx GMT, UTC 01:xx) are both
        // Sunday hour 1: 9 x 2/3 / 4 = 1.5 each; every other slot 0.
        for (k, v) in r.iter().enumerate() {
            let want = match k {
                20..=23 => 0.75,
                28..=35 => 1.5,
                _ => 0.0,
            };
            assert!((v - want).abs() < 1e-12, "slot {k}: {v} vs {want}");
        }
        // A slot from 23:50 BST straddles midnight: 10 minutes of Saturday hour 23.
        let r = risk_for_slots(zone, &[ts("2024-10-26T22:50:00Z")], 15, &tz);
        assert!((r[0] - 9.0 / 3.0 * 10.0 / 60.0).abs() < 1e-12);
    }

    #[test]
    fn the_same_input_gives_the_same_zones() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 4_999.0, 4_999.0).unwrap();
        let scores: Vec<f64> = (0..grid.len())
            .map(|i| {
                let (x, y) = grid.centre(i);
                ((x / 170.0).sin() * (y / 230.0).cos()).max(0.0) + (x * 1e-6)
            })
            .collect();
        let venues: Vec<ZoneVenue> = (0..200)
            .map(|k| ZoneVenue {
                id: format!("v{k}"),
                name: format!("Venue {}", k % 37),
                x: (k * 7919 % 5_000) as f64,
                y: (k * 104_729 % 5_000) as f64,
                rank: Some(k as u32 + 1),
                harm: None,
            })
            .collect();
        let params = ZoneParams {
            hot: HotCells::TopShare(0.08),
            max_zones: None,
            ..ZoneParams::default()
        };
        let a = run(&grid, &scores, &venues, &params);
        let b = run(&grid, &scores, &venues, &params);
        check(&grid, &a, &params);
        assert!(a.zones.len() > 10, "{} zones", a.zones.len());
        assert_eq!(a, b);
        let names: std::collections::HashSet<&str> =
            a.zones.iter().map(|z| z.name.as_str()).collect();
        assert_eq!(names.len(), a.zones.len(), "names are unique");
    }

    #[test]
    fn no_hot_cells_no_zones() {
        let (grid, scores) = scored(&[]);
        let set = run(&grid, &scores, &[], &ZoneParams::default());
        assert!(set.zones.is_empty());
        assert_eq!((set.n_hot_cells, set.cut, set.n_clusters), (0, None, 0));
        let nan = vec![f64::NAN; grid.len()];
        assert!(
            run(&grid, &nan, &[], &ZoneParams::default())
                .zones
                .is_empty()
        );
    }

    #[test]
    fn invalid_input_is_refused() {
        let (grid, scores) = scored(&[]);
        let tz = london();
        let input = ZoneInput {
            grid: &grid,
            scores: &scores,
            points: &[],
            tz: &tz,
            venues: &[],
        };
        let with = |f: fn(&mut ZoneParams)| {
            let mut p = ZoneParams::default();
            f(&mut p);
            zones(&input, &p).unwrap_err()
        };
        assert!(matches!(
            with(|p| p.hot = HotCells::TopShare(0.0)),
            ZoneError::InvalidParam {
                name: "hot_share",
                ..
            }
        ));
        assert!(matches!(
            with(|p| p.hot = HotCells::TopShare(1.5)),
            ZoneError::InvalidParam {
                name: "hot_share",
                ..
            }
        ));
        assert!(matches!(
            with(|p| p.hot = HotCells::Threshold(f64::NAN)),
            ZoneError::InvalidParam {
                name: "threshold",
                ..
            }
        ));
        assert!(matches!(
            with(|p| p.max_radius_m = f64::INFINITY),
            ZoneError::InvalidParam {
                name: "max_radius_m",
                ..
            }
        ));
        assert!(matches!(
            with(|p| p.max_radius_m = 35.0),
            ZoneError::RadiusBelowCell { .. }
        ));
        assert!(matches!(
            with(|p| p.name_radius_m = -1.0),
            ZoneError::InvalidParam {
                name: "name_radius_m",
                ..
            }
        ));
        assert!(matches!(
            with(|p| p.prior = [0.0; HOURS_PER_WEEK]),
            ZoneError::Prior(ScoringError::InvalidPrior)
        ));
        let short = ZoneInput {
            scores: &scores[1..],
            ..input
        };
        assert_eq!(
            zones(&short, &ZoneParams::default()),
            Err(ZoneError::ScoresLength {
                expected: grid.len(),
                got: grid.len() - 1
            })
        );
    }
}
