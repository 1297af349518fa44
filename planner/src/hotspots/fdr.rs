//! Benjamini-Hochberg adjusted p-values (false discovery rate).
//!
//! Gi* tests every cell of the study area at once: at 640,000 cells, a 5 % test flags tens of
//! thousands of cells by chance alone. Analysts read Gi* classes from p-values adjusted for
//! that, and the contract fixes the adjustment as R's `p.adjust(p, "BH")`, reproduced here
//! exactly:
//!
//! ```text
//! i  <- n:1; o <- order(p, decreasing = TRUE)
//! q[o] <- pmin(1, cummin(n / i * p[o]))
//! ```
//!
//! Ties get the same q whatever their order, as in R.

/// `p.adjust(p, "BH")`: q-values in the order of `p`. NaN p-values are not allowed (Gi*
/// never produces one); every p should be in [0, 1].
///
/// ```
/// use planner::hotspots::fdr::p_adjust_bh;
/// let q = p_adjust_bh(&[0.01, 0.04, 0.03]);
/// assert_eq!(q, vec![0.03, 0.04, 0.04]);
/// ```
pub fn p_adjust_bh(p: &[f64]) -> Vec<f64> {
    let n = p.len();
    let mut order: Vec<usize> = (0..n).collect();
    // Decreasing p.
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut q = vec![0.0; n];
    let mut running = f64::INFINITY;
    for (k, &i) in order.iter().enumerate() {
        let rank = (n - k) as f64;
        running = running.min(n as f64 / rank * p[i]);
        q[i] = running.min(1.0);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_relative_eq!(x, y, max_relative = 1e-12);
        }
    }

    #[test]
    fn equal_steps_give_equal_q() {
        // n/i * p = 5/1*0.01 = 5/2*0.02 = ... = 0.05 for every p.
        close(
            &p_adjust_bh(&[0.01, 0.02, 0.03, 0.04, 0.05]),
            &[0.05, 0.05, 0.05, 0.05, 0.05],
        );
    }

    #[test]
    fn textbook_example_computed_by_hand() {
        // n = 8. From the largest p down, n/i * p and its running minimum:
        // i=8: 0.205 -> 0.205; i=7: 8/7*0.074 = 0.0845714 -> 0.0845714;
        // i=6: 8/6*0.06 = 0.08 -> 0.08; i=5: 8/5*0.042 = 0.0672 -> 0.0672;
        // i=4: 2*0.041 = 0.082 -> 0.0672; i=3: 8/3*0.039 = 0.104 -> 0.0672;
        // i=2: 4*0.008 = 0.032 -> 0.032; i=1: 8*0.001 = 0.008 -> 0.008.
        let p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205];
        let want = [
            0.008,
            0.032,
            0.0672,
            0.0672,
            0.0672,
            0.08,
            8.0 / 7.0 * 0.074,
            0.205,
        ];
        close(&p_adjust_bh(&p), &want);
        // The same values shuffled come back in their own order.
        let perm = [5, 0, 7, 2, 6, 1, 4, 3];
        let shuffled: Vec<f64> = perm.iter().map(|&i| p[i]).collect();
        let want_shuffled: Vec<f64> = perm.iter().map(|&i| want[i]).collect();
        close(&p_adjust_bh(&shuffled), &want_shuffled);
    }

    #[test]
    fn caps_at_one_and_handles_ties_and_edges() {
        close(&p_adjust_bh(&[0.9, 0.8, 1.0]), &[1.0, 1.0, 1.0]);
        // Ties: n/i*p for the two 0.02s are 3/3*0.02 and 3/2*0.02; both get 0.02.
        close(&p_adjust_bh(&[0.02, 0.01, 0.02]), &[0.02, 0.02, 0.02]);
        close(&p_adjust_bh(&[0.2]), &[0.2]);
        assert!(p_adjust_bh(&[]).is_empty());
    }

    #[test]
    fn matches_a_brute_force_definition() {
        // q_i = min over j with p_j >= p_i of min(1, n p_j / rank_j), rank by increasing p
        // (for distinct p).
        let p: Vec<f64> = (0..200)
            .map(|k| ((k * 7919 % 1000) as f64 + 0.5) / 1000.0 * ((k % 7) as f64 + 1.0) / 7.0)
            .collect();
        let n = p.len() as f64;
        let rank = |x: f64| p.iter().filter(|&&y| y <= x).count() as f64;
        let want: Vec<f64> = p
            .iter()
            .map(|&pi| {
                p.iter()
                    .filter(|&&pj| pj >= pi)
                    .map(|&pj| (n * pj / rank(pj)).min(1.0))
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        close(&p_adjust_bh(&p), &want);
    }
}
