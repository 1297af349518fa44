//! Step 3: split clusters that are too big to walk.
//!
//! A zone is useful only if one officer (or pair) can cover it on foot: by default no point
//! of the zone may be more than 300 m from its centre (DESIGN.md, "Zones and the rota").
//! Here the **centre** is the geometric centroid of the zone, i.e. the mean of its cell
//! centres (all cells have the same area, so this is also the centroid of the zone's
//! polygon), and the farthest point of a zone is always one of its cell corners, so
//! [`reach`] is exact: the largest distance from the centre to any corner of any cell.
//!
//! The centroid is geometric rather than score-weighted because the rule is about walking
//! reach over the whole patch, not about where its risk peaks, and because it keeps a zone's
//! centre independent of the scale of the scoring method (a KDE density, a Gi* z).
//!
//! A cluster whose reach exceeds the limit is split by **k-means on its cell centres**, the
//! partition that minimises the squared distances to the part centres (exactly the centres
//! that [`reach`] measures from), then each part is cut again into its 8-connected pieces
//! (a k-means part need not be contiguous):
//!
//! - k runs from a lower bound up to 6 more: a zone that fits lies inside a disc of radius
//!   `max_radius`, so a cluster of area A needs at least `A / (pi max_radius^2)` pieces (and
//!   at least 2). The first k whose pieces all fit is taken.
//! - If none does (a long or very large cluster), the pieces of the lower-bound k are kept
//!   and every piece that still does not fit is split again, recursively. Every split makes
//!   strictly smaller pieces and a single cell always fits (the parameters are checked to
//!   allow that), so this ends.
//! - **Deterministic seeding**, no randomness, two ways for each k: farthest-first from the
//!   cluster's highest-score cell ([`farthest_first`]: Gonzalez's traversal, a
//!   2-approximation of the smallest possible largest radius, which puts a part on the peak),
//!   and evenly along the cluster's principal axis ([`along_axis`], which splits a long high
//!   street into equal lengths where farthest-first can settle unevenly). Lloyd iterations
//!   follow each ([`kmeans`]) until no cell changes part (at most 100; a cell equally near
//!   two centres goes to the lower-numbered one). Of the two, a partition whose pieces all
//!   fit wins, then the lower k-means objective (sum of squared distances to the centres),
//!   then farthest-first.
//! - Should k-means ever leave everything in one part, the cluster is cut in two at the
//!   median along its longer side instead, so progress is guaranteed.
//!
//! Pieces come out sorted ascending, ordered by their smallest cell. Tiny pieces are dealt
//! with in the next step ([`super::merge`]).

use super::cluster::clusters;
use crate::crs::Projected;
use crate::hotspots::grid::Grid;

/// Most Lloyd iterations per k-means run.
const MAX_ITERATIONS: usize = 100;
/// How many values of k are tried above the lower bound before splitting recursively.
const EXTRA_K: usize = 6;

/// The centre of a set of cells (the mean of their centres) and its reach: the largest
/// distance from that centre to a corner of any of the cells. `None` for no cells.
///
/// ```
/// use planner::hotspots::grid::Grid;
/// use planner::zones::split::reach;
/// let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
/// // Two cells side by side: centre on their shared edge, reach to the far corners.
/// let (centre, r) = reach(&grid, &[grid.index(0, 0).unwrap(), grid.index(1, 0).unwrap()]).unwrap();
/// assert_eq!((centre.x, centre.y), (50.0, 25.0));
/// assert_eq!(r, (50.0f64 * 50.0 + 25.0 * 25.0).sqrt());
/// ```
pub fn reach(grid: &Grid, cells: &[usize]) -> Option<(Projected, f64)> {
    if cells.is_empty() {
        return None;
    }
    let n = cells.len() as f64;
    let (mut sx, mut sy) = (0.0, 0.0);
    for &i in cells {
        let (x, y) = grid.centre(i);
        sx += x;
        sy += y;
    }
    let centre = Projected {
        x: sx / n,
        y: sy / n,
    };
    let half = grid.cell_size() / 2.0;
    let mut r2: f64 = 0.0;
    for &i in cells {
        let (x, y) = grid.centre(i);
        let dx = (x - centre.x).abs() + half;
        let dy = (y - centre.y).abs() + half;
        r2 = r2.max(dx * dx + dy * dy);
    }
    Some((centre, r2.sqrt()))
}

/// Whether every corner of every cell is within `max_radius` of the cells' centre.
pub fn fits(grid: &Grid, cells: &[usize], max_radius: f64) -> bool {
    reach(grid, cells).is_some_and(|(_, r)| r <= max_radius)
}

/// Splits one connected cluster into contiguous pieces that each [`fits`] (see the module
/// docs). A cluster that already fits comes back whole. `scores` is indexed like the grid
/// and only chooses the first farthest-first seed.
pub fn split(grid: &Grid, cluster: &[usize], scores: &[f64], max_radius: f64) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut todo = vec![sorted(cluster.to_vec())];
    while let Some(piece) = todo.pop() {
        if piece.is_empty() {
            continue;
        }
        if fits(grid, &piece, max_radius) {
            out.push(piece);
            continue;
        }
        let cell_area = grid.cell_size() * grid.cell_size();
        let disc = std::f64::consts::PI * max_radius * max_radius;
        let lower = ((piece.len() as f64 * cell_area / disc).ceil() as usize)
            .max(2)
            .min(piece.len());
        let upper = (lower + EXTRA_K).min(piece.len());
        let mut first: Option<Vec<Vec<usize>>> = None;
        let mut accepted = None;
        for k in lower..=upper {
            let seedings = [
                farthest_first(grid, &piece, scores, k),
                along_axis(grid, &piece, k),
            ];
            // Of the two seedings, the lowest k-means objective, preferring one that fits.
            let mut best: Option<(bool, f64, Vec<Vec<usize>>)> = None;
            for seeds in seedings {
                let parts = pieces_of(grid, &piece, &seeds);
                let ok = parts.iter().all(|p| fits(grid, p, max_radius));
                let cost = objective(grid, &parts);
                if best.as_ref().is_none_or(|(b_ok, b_cost, _)| {
                    (ok && !b_ok) || (ok == *b_ok && cost < *b_cost)
                }) {
                    best = Some((ok, cost, parts));
                }
            }
            let Some((ok, _, parts)) = best else { continue };
            if ok {
                accepted = Some(parts);
                break;
            }
            if first.is_none() {
                first = Some(parts);
            }
        }
        match (accepted, first) {
            (Some(parts), _) => out.extend(parts),
            (None, Some(parts)) => todo.extend(parts),
            (None, None) => out.push(piece), // unreachable: lower <= upper when len >= 2
        }
    }
    out.sort_by_key(|p| p.first().copied());
    out
}

/// k-means from `seeds`, each part cut into its 8-connected pieces; falls back to a median
/// cut if k-means leaves one part.
fn pieces_of(grid: &Grid, cells: &[usize], seeds: &[(f64, f64)]) -> Vec<Vec<usize>> {
    let labels = kmeans(grid, cells, seeds);
    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); seeds.len()];
    for (&cell, &l) in cells.iter().zip(&labels) {
        parts[l].push(cell);
    }
    parts.retain(|p| !p.is_empty());
    if parts.len() < 2 {
        parts = median_cut(grid, cells);
    }
    let mut out: Vec<Vec<usize>> = parts.iter().flat_map(|p| clusters(grid, p)).collect();
    out.sort_by_key(|p| p.first().copied());
    out
}

/// The k-means objective: squared distances from cell centres to their piece's centroid.
fn objective(grid: &Grid, pieces: &[Vec<usize>]) -> f64 {
    pieces
        .iter()
        .map(|p| {
            let Some((c, _)) = reach(grid, p) else {
                return 0.0;
            };
            p.iter()
                .map(|&i| {
                    let (x, y) = grid.centre(i);
                    (x - c.x).powi(2) + (y - c.y).powi(2)
                })
                .sum::<f64>()
        })
        .sum()
}

fn d2(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)
}

/// Up to `k` seeds by farthest-first traversal from the highest-score cell (lowest index
/// on ties); the next seed is the cell farthest from the seeds so far (higher score, then
/// lower index, on ties).
pub fn farthest_first(grid: &Grid, cells: &[usize], scores: &[f64], k: usize) -> Vec<(f64, f64)> {
    let pts: Vec<(f64, f64)> = cells.iter().map(|&i| grid.centre(i)).collect();
    let score = |j: usize| scores.get(cells[j]).copied().unwrap_or(0.0);
    if pts.is_empty() || k == 0 {
        return Vec::new();
    }
    let mut first = 0;
    for j in 1..pts.len() {
        if score(j) > score(first) {
            first = j;
        }
    }
    let mut seeds = vec![pts[first]];
    let mut nearest: Vec<f64> = pts.iter().map(|&p| d2(p, pts[first])).collect();
    while seeds.len() < k {
        let mut best = 0;
        for j in 1..pts.len() {
            if nearest[j] > nearest[best] || (nearest[j] == nearest[best] && score(j) > score(best))
            {
                best = j;
            }
        }
        if nearest[best] == 0.0 {
            break; // fewer distinct cells than k
        }
        seeds.push(pts[best]);
        for (n, &p) in nearest.iter_mut().zip(&pts) {
            *n = n.min(d2(p, pts[best]));
        }
    }
    seeds
}

/// `k` seeds spread evenly along the principal axis of the cell centres: the cells at the
/// `(j + 1/2) / k` quantiles of the projection on the axis (ties by index). Right for long
/// clusters (a high street), where farthest-first seeds can settle unevenly.
pub fn along_axis(grid: &Grid, cells: &[usize], k: usize) -> Vec<(f64, f64)> {
    let pts: Vec<(f64, f64)> = cells.iter().map(|&i| grid.centre(i)).collect();
    if pts.is_empty() || k == 0 {
        return Vec::new();
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for &(x, y) in &pts {
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
        sxy += (x - mx) * (y - my);
    }
    let theta = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (c, s) = (theta.cos(), theta.sin());
    let mut order: Vec<(f64, usize)> = pts
        .iter()
        .enumerate()
        .map(|(j, &(x, y))| ((x - mx) * c + (y - my) * s, j))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let k = k.min(pts.len());
    (0..k)
        .map(|j| pts[order[(2 * j + 1) * pts.len() / (2 * k)].1])
        .collect()
}

/// Part labels (indices into `seeds`) of `cells` by Lloyd's iterations from `seeds`: each
/// cell to the nearest centre (the lower-numbered on ties), centres to their part's mean,
/// until nothing changes or 100 iterations.
pub fn kmeans(grid: &Grid, cells: &[usize], seeds: &[(f64, f64)]) -> Vec<usize> {
    let pts: Vec<(f64, f64)> = cells.iter().map(|&i| grid.centre(i)).collect();
    if seeds.is_empty() {
        return vec![0; pts.len()];
    }
    let mut centres = seeds.to_vec();
    let mut labels = vec![usize::MAX; pts.len()];
    for _ in 0..MAX_ITERATIONS {
        let mut changed = false;
        for (l, &p) in labels.iter_mut().zip(&pts) {
            let mut best = 0;
            for (c, &centre) in centres.iter().enumerate().skip(1) {
                if d2(p, centre) < d2(p, centres[best]) {
                    best = c;
                }
            }
            if *l != best {
                *l = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![(0.0, 0.0, 0usize); centres.len()];
        for (&l, &p) in labels.iter().zip(&pts) {
            sums[l].0 += p.0;
            sums[l].1 += p.1;
            sums[l].2 += 1;
        }
        for (centre, (sx, sy, n)) in centres.iter_mut().zip(sums) {
            if n > 0 {
                *centre = (sx / n as f64, sy / n as f64);
            }
        }
    }
    labels
}

/// Two halves at the median along the longer side of the bounding box (ties by index).
fn median_cut(grid: &Grid, cells: &[usize]) -> Vec<Vec<usize>> {
    let cr: Vec<(i64, i64)> = cells.iter().map(|&i| grid.col_row(i)).collect();
    let span = |f: fn(&(i64, i64)) -> i64| {
        let lo = cr.iter().map(f).min().unwrap_or(0);
        let hi = cr.iter().map(f).max().unwrap_or(0);
        hi - lo
    };
    let along_x = span(|p| p.0) >= span(|p| p.1);
    let mut order: Vec<(i64, usize)> = cells
        .iter()
        .zip(&cr)
        .map(|(&i, &(c, r))| (if along_x { c } else { r }, i))
        .collect();
    order.sort_unstable();
    let half = order.len() / 2;
    let a = sorted(order[..half].iter().map(|&(_, i)| i).collect());
    let b = sorted(order[half..].iter().map(|&(_, i)| i).collect());
    vec![a, b]
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid::from_bbox(50.0, 0.0, 0.0, 4_999.0, 4_999.0).unwrap()
    }

    fn rect(g: &Grid, c0: i64, r0: i64, w: i64, h: i64) -> Vec<usize> {
        let mut v: Vec<usize> = (r0..r0 + h)
            .flat_map(|r| (c0..c0 + w).map(move |c| (c, r)))
            .map(|(c, r)| g.index(c, r).unwrap())
            .collect();
        v.sort_unstable();
        v
    }

    /// Farthest corner by brute force over the four corners of every cell.
    fn brute_reach(g: &Grid, cells: &[usize], cx: f64, cy: f64) -> f64 {
        let mut r: f64 = 0.0;
        for &i in cells {
            let poly = g.cell_polygon(i);
            for c in poly.exterior().coords() {
                r = r.max(((c.x - cx).powi(2) + (c.y - cy).powi(2)).sqrt());
            }
        }
        r
    }

    fn check_pieces(g: &Grid, cluster: &[usize], pieces: &[Vec<usize>], max_radius: f64) {
        let mut all: Vec<usize> = pieces.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, cluster, "pieces partition the cluster");
        for p in pieces {
            assert_eq!(clusters(g, p).len(), 1, "each piece is contiguous");
            let n = p.len() as f64;
            let cx = p.iter().map(|&i| g.centre(i).0).sum::<f64>() / n;
            let cy = p.iter().map(|&i| g.centre(i).1).sum::<f64>() / n;
            let r = brute_reach(g, p, cx, cy);
            assert!(r <= max_radius + 1e-9, "piece reaches {r} m");
            let (c, rr) = reach(g, p).unwrap();
            assert!((c.x - cx).abs() < 1e-6 && (c.y - cy).abs() < 1e-6);
            assert!((rr - r).abs() < 1e-9);
        }
    }

    #[test]
    fn reach_is_the_farthest_corner() {
        let g = grid();
        let one = [g.index(3, 4).unwrap()];
        let (c, r) = reach(&g, &one).unwrap();
        assert_eq!((c.x, c.y), (175.0, 225.0));
        assert_eq!(r, 25.0 * 2f64.sqrt());
        // A 12 x 1 strip, 600 m long: centre in the middle, reach to the end corners.
        let strip = rect(&g, 0, 0, 12, 1);
        let (c, r) = reach(&g, &strip).unwrap();
        assert_eq!((c.x, c.y), (300.0, 25.0));
        assert_eq!(r, (300.0f64 * 300.0 + 25.0 * 25.0).sqrt());
        assert!(!fits(&g, &strip, 300.0));
        assert!(fits(&g, &rect(&g, 0, 0, 11, 1), 300.0));
        assert!(reach(&g, &[]).is_none());
    }

    #[test]
    fn a_cluster_that_fits_stays_whole() {
        let g = grid();
        let blob = rect(&g, 10, 10, 6, 6);
        let scores = vec![1.0; g.len()];
        assert_eq!(split(&g, &blob, &scores, 300.0), vec![blob]);
    }

    #[test]
    fn a_long_street_is_split_so_every_corner_is_within_the_radius() {
        let g = grid();
        // 2 km of high street, two cells wide.
        let street = rect(&g, 5, 40, 40, 2);
        let scores: Vec<f64> = (0..g.len()).map(|i| 1.0 + (i % 7) as f64).collect();
        let pieces = split(&g, &street, &scores, 300.0);
        check_pieces(&g, &street, &pieces, 300.0);
        // 2 km needs at least 4 pieces of at most 600 m; the k search finds 4.
        assert_eq!(pieces.len(), 4, "{pieces:?}");
    }

    #[test]
    fn a_large_town_centre_is_split_recursively() {
        let g = grid();
        let mut town = rect(&g, 20, 20, 40, 30);
        town.extend(rect(&g, 60, 20, 30, 4)); // a long arm
        town.sort_unstable();
        let scores: Vec<f64> = (0..g.len())
            .map(|i| {
                let (x, y) = g.centre(i);
                1.0 / (1.0 + ((x - 2_000.0).powi(2) + (y - 1_500.0).powi(2)) / 1e5)
            })
            .collect();
        for r in [150.0, 300.0, 500.0] {
            let pieces = split(&g, &town, &scores, r);
            check_pieces(&g, &town, &pieces, r);
            assert_eq!(pieces, split(&g, &town, &scores, r), "deterministic");
        }
    }

    #[test]
    fn the_smallest_radius_that_holds_a_cell_splits_into_single_cells() {
        let g = grid();
        let blob = rect(&g, 0, 0, 3, 3);
        let r = 25.0 * 2f64.sqrt();
        let pieces = split(&g, &blob, &vec![0.0; g.len()], r);
        assert_eq!(pieces.len(), 9);
        check_pieces(&g, &blob, &pieces, r);
    }

    #[test]
    fn seeds_are_deterministic() {
        let g = grid();
        let cells = rect(&g, 0, 0, 10, 1);
        let mut scores = vec![0.0; g.len()];
        scores[g.index(9, 0).unwrap()] = 5.0;
        let seeds = farthest_first(&g, &cells, &scores, 2);
        assert_eq!(seeds, vec![(475.0, 25.0), (25.0, 25.0)]);
        let labels = kmeans(&g, &cells, &seeds);
        // The seed at the east end is part 0; the farthest cell (west end) seeds part 1.
        assert_eq!(labels, vec![1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
        // Along the axis: the cells at the 1/4 and 3/4 quantiles.
        assert_eq!(
            along_axis(&g, &cells, 2),
            vec![(125.0, 25.0), (375.0, 25.0)]
        );
        assert_eq!(
            kmeans(&g, &cells, &along_axis(&g, &cells, 2)),
            vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
        );
        let halves = median_cut(&g, &cells);
        assert_eq!(halves[0], cells[..5].to_vec());
    }
}
