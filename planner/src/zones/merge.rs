//! Step 4: merge or drop tiny fragments.
//!
//! Splitting a cluster can leave slivers (a cell or two that k-means gave to one part but
//! that touch it only at a corner), and the hot-cell cut leaves isolated specks. A zone of
//! one 50 m cell is not worth sending an officer to on its own, so every piece with fewer
//! than `min_cells` cells is dealt with, smallest first (ties: lowest first cell):
//!
//! - **merged** into a touching (8-connected) piece if the union still fits the walking
//!   radius ([`super::split::fits`]); among several, the one whose union has the smallest
//!   reach (then the lowest first cell), so the merged zone stays as compact as possible;
//! - otherwise **dropped**, and reported, so that the caller can say how much hot area no
//!   zone covers. A whole cluster smaller than `min_cells` has no neighbour and is dropped.
//!
//! A merged piece that is still too small is considered again, so the loop ends with every
//! piece at least `min_cells` cells.

use super::cluster::neighbours;
use super::split::{fits, reach};
use crate::hotspots::grid::Grid;
use std::collections::{BTreeSet, HashMap};

/// What [`merge_fragments`] kept and dropped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Merged {
    /// Pieces of at least `min_cells` cells, each sorted, ordered by their smallest cell.
    pub pieces: Vec<Vec<usize>>,
    /// Fragments that could not be merged, each sorted, ordered by their smallest cell.
    pub dropped: Vec<Vec<usize>>,
}

/// Merges pieces smaller than `min_cells` into a touching piece where the union still fits
/// within `max_radius`, and drops the rest. `pieces` must not share cells.
///
/// ```
/// use planner::hotspots::grid::Grid;
/// use planner::zones::merge::merge_fragments;
/// let grid = Grid::from_bbox(50.0, 0.0, 0.0, 999.0, 999.0).unwrap();
/// let at = |c: i64, r: i64| grid.index(c, r).unwrap();
/// let big = vec![at(0, 0), at(1, 0), at(2, 0)];
/// let sliver = vec![at(3, 1)]; // touches the big piece at a corner
/// let speck = vec![at(9, 9)]; // touches nothing
/// let m = merge_fragments(&grid, vec![big, sliver, speck], 2, 300.0);
/// assert_eq!(m.pieces, vec![vec![at(0, 0), at(1, 0), at(2, 0), at(3, 1)]]);
/// assert_eq!(m.dropped, vec![vec![at(9, 9)]]);
/// ```
pub fn merge_fragments(
    grid: &Grid,
    pieces: Vec<Vec<usize>>,
    min_cells: usize,
    max_radius: f64,
) -> Merged {
    let mut alive: Vec<Option<Vec<usize>>> = pieces
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|mut p| {
            p.sort_unstable();
            Some(p)
        })
        .collect();
    let mut label: HashMap<usize, usize> = HashMap::new();
    for (k, p) in alive.iter().enumerate() {
        for &c in p.iter().flatten() {
            label.insert(c, k);
        }
    }
    let mut dropped = Vec::new();
    loop {
        // The smallest fragment, ties by first cell.
        let next = alive
            .iter()
            .enumerate()
            .filter_map(|(k, p)| p.as_ref().map(|p| (k, p)))
            .filter(|(_, p)| p.len() < min_cells)
            .min_by_key(|(_, p)| (p.len(), p[0]))
            .map(|(k, _)| k);
        let Some(k) = next else { break };
        let Some(fragment) = alive[k].take() else {
            break;
        };
        let touching: BTreeSet<usize> = fragment
            .iter()
            .flat_map(|&c| neighbours(grid, c))
            .filter_map(|n| label.get(&n).copied())
            .filter(|&m| m != k)
            .collect();
        let mut best: Option<(f64, usize, usize)> = None; // (reach, first cell, piece)
        for m in touching {
            let Some(other) = alive[m].as_ref() else {
                continue;
            };
            let mut union = other.clone();
            union.extend(&fragment);
            union.sort_unstable();
            if !fits(grid, &union, max_radius) {
                continue;
            }
            let r = reach(grid, &union).map_or(f64::INFINITY, |(_, r)| r);
            let key = (r, union[0], m);
            if best.is_none_or(|b| (key.0, key.1) < (b.0, b.1)) {
                best = Some(key);
            }
        }
        match best {
            Some((_, _, m)) => {
                for &c in &fragment {
                    label.insert(c, m);
                }
                if let Some(other) = alive[m].as_mut() {
                    other.extend(&fragment);
                    other.sort_unstable();
                }
            }
            None => {
                for c in &fragment {
                    label.remove(c);
                }
                dropped.push(fragment);
            }
        }
    }
    let mut kept: Vec<Vec<usize>> = alive.into_iter().flatten().collect();
    kept.sort_by_key(|p| p[0]);
    dropped.sort_by_key(|p| p[0]);
    Merged {
        pieces: kept,
        dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid::from_bbox(50.0, 0.0, 0.0, 999.0, 999.0).unwrap()
    }

    fn cells(g: &Grid, cr: &[(i64, i64)]) -> Vec<usize> {
        let mut v: Vec<usize> = cr.iter().map(|&(c, r)| g.index(c, r).unwrap()).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn nothing_to_do_when_every_piece_is_big_enough() {
        let g = grid();
        let a = cells(&g, &[(0, 0), (1, 0)]);
        let b = cells(&g, &[(5, 5), (5, 6)]);
        let m = merge_fragments(&g, vec![b.clone(), a.clone()], 2, 300.0);
        assert_eq!(m.pieces, vec![a, b]);
        assert!(m.dropped.is_empty());
    }

    #[test]
    fn a_fragment_goes_to_the_neighbour_that_stays_most_compact() {
        let g = grid();
        // West piece 3 cells, east piece 6 cells; a sliver at (3, 0) touches both.
        let west = cells(&g, &[(0, 0), (1, 0), (2, 0)]);
        let east = cells(&g, &[(4, 0), (5, 0), (4, 1), (5, 1), (4, 2), (5, 2)]);
        let sliver = cells(&g, &[(3, 0)]);
        let m = merge_fragments(&g, vec![west.clone(), east.clone(), sliver], 2, 300.0);
        // West + sliver: 4 in a row, reach sqrt(100^2 + 25^2) = 103.1 m.
        // East + sliver: centre (4.43, 1.14) cells, farthest corner about 112 m.
        let mut w = west;
        w.push(g.index(3, 0).unwrap());
        w.sort_unstable();
        assert_eq!(m.pieces, vec![w, east]);
    }

    #[test]
    fn a_fragment_that_would_break_the_radius_is_dropped() {
        let g = grid();
        // An 11-cell strip reaches 275.1 m; with a twelfth cell it would reach 300.9 m.
        let strip: Vec<(i64, i64)> = (0..11).map(|c| (c, 0)).collect();
        let strip = cells(&g, &strip);
        let end = cells(&g, &[(11, 0)]);
        let m = merge_fragments(&g, vec![strip.clone(), end.clone()], 2, 300.0);
        assert_eq!(m.pieces, vec![strip]);
        assert_eq!(m.dropped, vec![end]);
    }

    #[test]
    fn small_fragments_chain_together_until_big_enough() {
        let g = grid();
        let a = cells(&g, &[(0, 0)]);
        let b = cells(&g, &[(1, 1)]);
        let c = cells(&g, &[(2, 2)]);
        let m = merge_fragments(&g, vec![a, b, c], 3, 300.0);
        assert_eq!(m.pieces, vec![cells(&g, &[(0, 0), (1, 1), (2, 2)])]);
        assert!(m.dropped.is_empty());
        // With min_cells 4 nothing is big enough: all three are merged, then dropped whole.
        let parts = vec![
            cells(&g, &[(0, 0)]),
            cells(&g, &[(1, 1)]),
            cells(&g, &[(2, 2)]),
        ];
        let m = merge_fragments(&g, parts, 4, 300.0);
        assert!(m.pieces.is_empty());
        assert_eq!(m.dropped, vec![cells(&g, &[(0, 0), (1, 1), (2, 2)])]);
    }
}
