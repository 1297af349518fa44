//! Step 6: the venues in a zone and a name people recognise.
//!
//! "Z03" means nothing on a radio; "Bar Soviet" does. A zone is named after a licensed
//! venue, chosen so that the name points officers to where the trouble is:
//!
//! 1. **the highest-risk venue inside the zone or within `name_radius_m` (default 100 m) of
//!    its outline**, highest risk meaning: best (lowest) risk rank, then highest harm (venues
//!    without a rank or harm come after those with one), then nearest to the zone, then
//!    nearest to the zone's top cell, then lowest id;
//! 2. else **"near" the nearest venue within [`FALLBACK_RADIUS_M`] of the zone's centre**
//!    (e.g. "near The George"), so a zone on a street without licensed premises still has a
//!    landmark;
//! 3. else **"cell" and the id of the zone's top cell** (e.g. "cell 10182_4423"), which can
//!    always be found on the map.
//!
//! Zones are named in order (highest total risk first), and a zone skips a candidate venue
//! whose name an earlier zone already took, so two zones near the same pub do not share a
//! name; if every candidate is taken, the top one is used with the zone id appended
//! ("The George (Z04)"). [`NameSource`] records which rule gave the name.
//!
//! A zone's **venues** are those whose point lies in one of its cells, in the risk order
//! above.

use super::ZoneVenue;
use crate::crs::Projected;
use crate::hotspots::grid::Grid;
use crate::index::PointIndex;
use std::cmp::Ordering;
use std::collections::HashSet;

/// How far from a zone's centre the "near" fallback looks for a venue, metres.
pub const FALLBACK_RADIUS_M: f64 = 1_000.0;

/// Which rule named a zone (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub enum NameSource {
    /// A venue inside the zone or within the naming radius of it.
    Venue { id: String },
    /// The nearest venue to the centre, further out: the name reads "near …".
    NearVenue { id: String, distance_m: f64 },
    /// No venue nearby: the top cell's id.
    Cell { id: String },
}

/// Names zones one after another, remembering the names already given.
#[derive(Debug)]
pub struct Namer<'a> {
    grid: &'a Grid,
    venues: &'a [ZoneVenue],
    /// Every venue.
    all: PointIndex,
    /// Venues with a name to give.
    named: PointIndex,
    name_radius: f64,
    used: HashSet<String>,
}

/// What the namer needs to know about one zone.
#[derive(Debug, Clone, Copy)]
pub struct ZoneShape<'a> {
    pub id: &'a str,
    /// Dense grid indices, sorted.
    pub cells: &'a [usize],
    pub centre: Projected,
    /// Farthest cell corner from the centre, metres.
    pub reach: f64,
    /// The zone's highest-score cell.
    pub top_cell: usize,
}

impl<'a> Namer<'a> {
    /// A namer over `venues` (projected), naming from venues within `name_radius` metres.
    pub fn new(grid: &'a Grid, venues: &'a [ZoneVenue], name_radius: f64) -> Namer<'a> {
        let index = |keep: fn(&ZoneVenue) -> bool| {
            PointIndex::new(
                venues
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| keep(v))
                    .filter_map(|(i, v)| u32::try_from(i).ok().map(|id| (v.x, v.y, id))),
            )
        };
        Namer {
            grid,
            venues,
            all: index(|_| true),
            named: index(|v| !v.name.trim().is_empty()),
            name_radius,
            used: HashSet::new(),
        }
    }

    /// Indices of the venues whose point lies in one of `cells` (sorted), in risk order.
    pub fn venues_inside(&self, zone: &ZoneShape<'_>) -> Vec<usize> {
        // Every point of the zone is within its reach of the centre.
        let mut inside: Vec<usize> = self
            .all
            .within_radius(zone.centre.x, zone.centre.y, zone.reach)
            .into_iter()
            .map(|id| id as usize)
            .filter(|&i| {
                let v = &self.venues[i];
                self.grid
                    .locate(v.x, v.y)
                    .is_some_and(|c| zone.cells.binary_search(&c).is_ok())
            })
            .collect();
        inside.sort_by(|&a, &b| self.order(zone, a, 0.0, b, 0.0));
        inside
    }

    /// The zone's name and where it came from (see the module docs).
    pub fn name(&mut self, zone: &ZoneShape<'_>) -> (String, NameSource) {
        let search = zone.reach + self.name_radius;
        let mut candidates: Vec<(usize, f64)> = self
            .named
            .within_radius(zone.centre.x, zone.centre.y, search)
            .into_iter()
            .map(|id| id as usize)
            .map(|i| {
                let v = &self.venues[i];
                (i, distance_to_cells(self.grid, zone.cells, v.x, v.y))
            })
            .filter(|&(_, d)| d <= self.name_radius)
            .collect();
        candidates.sort_by(|a, b| self.order(zone, a.0, a.1, b.0, b.1));
        let (name, source) = if let Some(&(first, _)) = candidates.first() {
            let pick = candidates
                .iter()
                .map(|&(i, _)| i)
                .find(|&i| !self.used.contains(self.venues[i].name.trim()))
                .unwrap_or(first);
            let v = &self.venues[pick];
            (
                v.name.trim().to_string(),
                NameSource::Venue { id: v.id.clone() },
            )
        } else if let Some((id, d)) =
            self.named
                .nearest_within(zone.centre.x, zone.centre.y, FALLBACK_RADIUS_M)
        {
            let v = &self.venues[id as usize];
            (
                format!("near {}", v.name.trim()),
                NameSource::NearVenue {
                    id: v.id.clone(),
                    distance_m: d,
                },
            )
        } else {
            let id = self.grid.id(zone.top_cell);
            (format!("cell {id}"), NameSource::Cell { id })
        };
        let name = if self.used.contains(&name) {
            format!("{name} ({})", zone.id)
        } else {
            name
        };
        self.used.insert(name.clone());
        (name, source)
    }

    /// Risk order of two venues at distances `da`, `db` from the zone.
    fn order(&self, zone: &ZoneShape<'_>, a: usize, da: f64, b: usize, db: f64) -> Ordering {
        let (va, vb) = (&self.venues[a], &self.venues[b]);
        let (tx, ty) = self.grid.centre(zone.top_cell);
        let to_top = |v: &ZoneVenue| (v.x - tx).powi(2) + (v.y - ty).powi(2);
        let rank = |v: &ZoneVenue| v.rank.unwrap_or(u32::MAX);
        let harm = |v: &ZoneVenue| {
            v.harm
                .filter(|h| h.is_finite())
                .unwrap_or(f64::NEG_INFINITY)
        };
        rank(va)
            .cmp(&rank(vb))
            .then(harm(vb).total_cmp(&harm(va)))
            .then(da.total_cmp(&db))
            .then(to_top(va).total_cmp(&to_top(vb)))
            .then(va.id.cmp(&vb.id))
            .then(a.cmp(&b))
    }
}

/// Distance from a point to the nearest of `cells` (squares), 0 inside any of them.
pub fn distance_to_cells(grid: &Grid, cells: &[usize], x: f64, y: f64) -> f64 {
    let half = grid.cell_size() / 2.0;
    cells
        .iter()
        .map(|&i| {
            let (cx, cy) = grid.centre(i);
            let dx = ((x - cx).abs() - half).max(0.0);
            let dy = ((y - cy).abs() - half).max(0.0);
            (dx * dx + dy * dy).sqrt()
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zones::split::reach;

    fn venue(id: &str, name: &str, x: f64, y: f64, rank: Option<u32>) -> ZoneVenue {
        ZoneVenue {
            id: id.into(),
            name: name.into(),
            x,
            y,
            rank,
            harm: None,
        }
    }

    fn shape<'a>(g: &Grid, id: &'a str, cells: &'a [usize]) -> ZoneShape<'a> {
        let (centre, r) = reach(g, cells).unwrap();
        ZoneShape {
            id,
            cells,
            centre,
            reach: r,
            top_cell: cells[0],
        }
    }

    fn block(g: &Grid) -> Vec<usize> {
        // Cells (10..14, 10..14): x and y from 500 to 700 m.
        let mut v: Vec<usize> = (10..14)
            .flat_map(|r| (10..14).map(move |c| (c, r)))
            .map(|(c, r)| g.index(c, r).unwrap())
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn the_highest_risk_venue_inside_or_near_names_the_zone() {
        let g = Grid::from_bbox(50.0, 0.0, 0.0, 2_999.0, 2_999.0).unwrap();
        let cells = block(&g);
        let venues = vec![
            venue("a", "The Quiet Inn", 600.0, 600.0, Some(9)),
            venue("b", "Bar Riot", 790.0, 600.0, Some(2)), // 90 m east of the zone
            venue("c", "Far Club", 900.0, 600.0, Some(1)), // 200 m away
        ];
        let mut namer = Namer::new(&g, &venues, 100.0);
        let z = shape(&g, "Z01", &cells);
        assert_eq!(
            namer.name(&z),
            ("Bar Riot".to_string(), NameSource::Venue { id: "b".into() })
        );
        // Only the venue inside counts as the zone's venue.
        assert_eq!(namer.venues_inside(&z), vec![0]);
        // A second zone with the same candidates does not reuse the name.
        assert_eq!(namer.name(&z).0, "The Quiet Inn");
        // A third: every candidate taken, so the top one with the zone id.
        let z3 = shape(&g, "Z03", &cells);
        assert_eq!(namer.name(&z3).0, "Bar Riot (Z03)");
    }

    #[test]
    fn unranked_venues_fall_back_to_harm_then_distance() {
        let g = Grid::from_bbox(50.0, 0.0, 0.0, 2_999.0, 2_999.0).unwrap();
        let cells = block(&g);
        let mut venues = vec![
            venue("a", "Near Pub", 640.0, 640.0, None),
            venue("b", "Edge Pub", 520.0, 520.0, None),
            venue("c", "Outside Pub", 750.0, 600.0, None),
        ];
        let mut namer = Namer::new(&g, &venues, 100.0);
        // No rank or harm: inside before outside; equal (0 m) inside by distance to the top
        // cell (10, 10), centre (525, 525).
        assert_eq!(namer.name(&shape(&g, "Z01", &cells)).0, "Edge Pub");
        venues[2].harm = Some(3.0);
        let mut namer = Namer::new(&g, &venues, 100.0);
        assert_eq!(namer.name(&shape(&g, "Z01", &cells)).0, "Outside Pub");
    }

    #[test]
    fn fallbacks_near_venue_then_cell() {
        let g = Grid::from_bbox(50.0, 0.0, 0.0, 2_999.0, 2_999.0).unwrap();
        let cells = block(&g);
        let venues = vec![venue("x", "The George", 1_300.0, 600.0, Some(1))];
        let mut namer = Namer::new(&g, &venues, 100.0);
        let (name, source) = namer.name(&shape(&g, "Z01", &cells));
        assert_eq!(name, "near The George");
        assert_eq!(
            source,
            NameSource::NearVenue {
                id: "x".into(),
                distance_m: 700.0
            }
        );
        let mut namer = Namer::new(&g, &[], 100.0);
        let (name, source) = namer.name(&shape(&g, "Z01", &cells));
        assert_eq!(name, "cell 10_10");
        assert_eq!(source, NameSource::Cell { id: "10_10".into() });
    }

    #[test]
    fn distance_to_cells_is_zero_inside_and_exact_outside() {
        let g = Grid::from_bbox(50.0, 0.0, 0.0, 2_999.0, 2_999.0).unwrap();
        let cells = block(&g);
        assert_eq!(distance_to_cells(&g, &cells, 600.0, 600.0), 0.0);
        assert_eq!(distance_to_cells(&g, &cells, 700.0, 650.0), 0.0);
        assert_eq!(distance_to_cells(&g, &cells, 730.0, 740.0), 50.0);
        assert!(distance_to_cells(&g, &[], 0.0, 0.0).is_infinite());
    }
}
