//! Step 2: hot cells into contiguous clusters (8-connectivity).
//!
//! A patrol zone must be one walkable patch of street, so the hot cells are first grouped
//! into connected clusters. Cells touching by an edge *or by a corner* belong together
//! (8-connectivity): on a 50 m grid a street running diagonally is a chain of cells that meet
//! only at their corners, and rook (4-) connectivity would cut it into single cells.
//!
//! The result is deterministic: cells are visited in ascending grid index, every cluster is
//! sorted ascending, and clusters come in the order of their smallest cell (row-major from
//! the grid's south-west corner).

use crate::hotspots::grid::Grid;
use std::collections::{HashSet, VecDeque};

/// The 8-connected clusters of `cells` (dense grid indices, any order, duplicates ignored).
/// Each cluster is sorted ascending; clusters are ordered by their smallest cell.
///
/// ```
/// use planner::hotspots::grid::Grid;
/// use planner::zones::cluster::clusters;
/// let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
/// let at = |c: i64, r: i64| grid.index(c, r).unwrap();
/// // Two cells meeting at a corner, and one far away.
/// let found = clusters(&grid, &[at(1, 1), at(2, 2), at(8, 8)]);
/// assert_eq!(found, vec![vec![at(1, 1), at(2, 2)], vec![at(8, 8)]]);
/// ```
pub fn clusters(grid: &Grid, cells: &[usize]) -> Vec<Vec<usize>> {
    let mut sorted: Vec<usize> = cells.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let members: HashSet<usize> = sorted.iter().copied().collect();
    let mut seen: HashSet<usize> = HashSet::with_capacity(sorted.len());
    let mut out = Vec::new();
    let mut queue = VecDeque::new();
    for &start in &sorted {
        if !seen.insert(start) {
            continue;
        }
        let mut cluster = vec![start];
        queue.push_back(start);
        while let Some(i) = queue.pop_front() {
            for j in neighbours(grid, i) {
                if members.contains(&j) && seen.insert(j) {
                    cluster.push(j);
                    queue.push_back(j);
                }
            }
        }
        cluster.sort_unstable();
        out.push(cluster);
    }
    out
}

/// The up to eight cells around `index` that lie in the grid's rectangle.
pub fn neighbours(grid: &Grid, index: usize) -> impl Iterator<Item = usize> + '_ {
    let (c, r) = grid.local(index);
    let (ncols, nrows) = (grid.ncols() as i64, grid.nrows() as i64);
    let (c, r) = (c as i64, r as i64);
    (-1i64..=1)
        .flat_map(|dr| (-1i64..=1).map(move |dc| (dc, dr)))
        .filter(|&(dc, dr)| (dc, dr) != (0, 0))
        .filter_map(move |(dc, dr)| {
            let (cc, rr) = (c + dc, r + dr);
            (cc >= 0 && rr >= 0 && cc < ncols && rr < nrows).then(|| (rr * ncols + cc) as usize)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn grid() -> Grid {
        Grid::from_bbox(50.0, 0.0, 0.0, 999.0, 999.0).unwrap()
    }

    fn cells(g: &Grid, cr: &[(i64, i64)]) -> Vec<usize> {
        cr.iter().map(|&(c, r)| g.index(c, r).unwrap()).collect()
    }

    #[test]
    fn two_separate_blobs_are_two_clusters() {
        let g = grid();
        let a = cells(&g, &[(1, 1), (2, 1), (1, 2), (2, 2)]);
        let b = cells(&g, &[(10, 10), (11, 10), (10, 11)]);
        let mut all = b.clone();
        all.extend(&a);
        let found = clusters(&g, &all);
        let sorted = |mut v: Vec<usize>| {
            v.sort_unstable();
            v
        };
        assert_eq!(found, vec![sorted(a), sorted(b)]);
    }

    #[test]
    fn an_l_shape_is_one_cluster() {
        let g = grid();
        let l = cells(
            &g,
            &[(3, 3), (3, 4), (3, 5), (3, 6), (4, 3), (5, 3), (6, 3)],
        );
        let found = clusters(&g, &l);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].len(), 7);
    }

    #[test]
    fn diagonal_contact_counts_but_a_gap_does_not() {
        let g = grid();
        // A diagonal chain, like a street running north-east.
        let chain = cells(&g, &[(0, 0), (1, 1), (2, 2), (3, 3)]);
        assert_eq!(clusters(&g, &chain).len(), 1);
        // Knight's-move apart: no shared edge or corner.
        let apart = cells(&g, &[(0, 0), (2, 1)]);
        assert_eq!(clusters(&g, &apart).len(), 2);
        // The rectangle's edge does not wrap around to the next row.
        let edge = cells(&g, &[(19, 0), (0, 1)]);
        assert_eq!(clusters(&g, &edge).len(), 2);
    }

    #[test]
    fn empty_and_duplicate_input() {
        let g = grid();
        assert!(clusters(&g, &[]).is_empty());
        let i = g.index(5, 5).unwrap();
        assert_eq!(clusters(&g, &[i, i, i]), vec![vec![i]]);
    }

    /// Naive union-find over every pair against the BFS, on fixed-seed random cell sets.
    #[test]
    fn matches_pairwise_union_find_on_random_sets() {
        let g = grid();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..30 {
            let n = rng.random_range(0..120);
            let set: Vec<usize> = (0..n).map(|_| rng.random_range(0..g.len())).collect();
            let mut uniq = set.clone();
            uniq.sort_unstable();
            uniq.dedup();
            let mut parent: Vec<usize> = (0..uniq.len()).collect();
            fn find(p: &mut [usize], i: usize) -> usize {
                if p[i] != i {
                    let root = find(p, p[i]);
                    p[i] = root;
                }
                p[i]
            }
            for a in 0..uniq.len() {
                for b in a + 1..uniq.len() {
                    let (ca, ra) = g.col_row(uniq[a]);
                    let (cb, rb) = g.col_row(uniq[b]);
                    if (ca - cb).abs() <= 1 && (ra - rb).abs() <= 1 {
                        let (x, y) = (find(&mut parent, a), find(&mut parent, b));
                        parent[x] = y;
                    }
                }
            }
            let mut want: Vec<Vec<usize>> = Vec::new();
            let mut root_of: Vec<(usize, usize)> = Vec::new();
            for (a, &cell) in uniq.iter().enumerate() {
                let r = find(&mut parent, a);
                match root_of.iter().find(|(root, _)| *root == r) {
                    Some(&(_, k)) => want[k].push(cell),
                    None => {
                        root_of.push((r, want.len()));
                        want.push(vec![cell]);
                    }
                }
            }
            assert_eq!(clusters(&g, &set), want);
        }
    }
}
