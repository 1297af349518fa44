//! The upper bound every plan reports beside its objective: a Lagrangian relaxation of the
//! coupling between units, minimised by subgradient descent.
//!
//! **Why it is an upper bound.** Write the objective as `sum over zones and slots i of
//! f_i(k_i)`, where `k_i` is the number of units in zone and slot i and
//! `f_i(k) = risk_i x (1 + d + ... + d^(k-1))`. For any prices `lambda_i >= 0` and any
//! whole number `k` between 0 and `K_i` (the units on duty then),
//! `f_i(k) = (f_i(k) - lambda_i k) + lambda_i k <= h_i(lambda_i) + lambda_i k`, where
//! `h_i(lambda) = max over k' in 0..=K_i of (f_i(k') - lambda k')`. Summing over i for the
//! best valid plan, and writing `k_i` as the sum over units of `x_ui` (1 if unit u is in i):
//!
//! `OPT <= sum_i h_i(lambda_i) + sum_u sum_i lambda_i x_ui
//!      <= sum_i h_i(lambda_i) + sum_u P_u(lambda) =: L(lambda)`,
//!
//! where `P_u(lambda)` is the most unit u can collect alone when a visit to i pays
//! `lambda_i`, over any set of itineraries that contains all of u's valid ones. `P_u` is
//! the same longest-path dynamic programme the optimiser uses, with the check of revisits to
//! zones other than the one just left switched off (a larger set, so a larger maximum;
//! fixed history is kept, because it is fixed). So `L(lambda)` is an upper bound for every
//! `lambda >= 0`; this module searches for a small one. (When a re-plan fixes the past, the
//! past's units are constants inside `f_i`.)
//!
//! The minimum over `lambda` equals the bound of the linear-programming relaxation in which
//! each unit may follow a convex combination of itineraries (Geoffrion 1974), without
//! building that LP: each step costs one dynamic programme per distinct kind of unit (units
//! with the same station, shift, break and past share one).
//!
//! `L` is convex and piecewise linear; `g_i = sum_u x_ui - k*_i` (with `x` the units' best
//! itineraries and `k*_i` the maximiser in `h_i`) is a subgradient. The step is Polyak's,
//! `theta (L - target) / |g|^2`, with `target` the objective of a known plan, and `theta`
//! halves after a run of steps that do not improve the best bound. Prices start at the
//! known plan's marginal values, so the first bound is already close.

use super::objective::presence_value;
use super::plan::Assignment;
use super::problem::Problem;
use super::route::{Dp, UnitModel};
use std::collections::HashMap;

/// Steps without a better bound before the step size halves.
const STALE: usize = 10;
/// Deflection: each step goes along the subgradient plus this share of the previous
/// direction, which damps the zig-zag of plain subgradient steps (Camerini, Fratta and
/// Maffioli 1975).
const DEFLECT: f64 = 0.6;

/// Units that share a key have the same itineraries and the same `P_u`.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    entry: (u8, usize, usize, bool),
    end: usize,
    break_slots: usize,
    window: (usize, usize),
    ts: Vec<usize>,
    last_hist: Vec<i64>,
}

/// The smallest `L(lambda)` found in at most `iterations` steps, starting from prices
/// derived from `primal` (a valid plan, all units' rows) whose objective is `target`.
pub(crate) fn lagrangian(
    p: &Problem,
    models: &[UnitModel],
    primal: &[Vec<Assignment>],
    target: f64,
    iterations: usize,
) -> f64 {
    let (nz, ns) = (p.zones().len(), p.n_slots());
    let d = p.params().second_unit_factor;
    let mut risk = vec![0.0; nz * ns];
    for (z, zone) in p.zones().iter().enumerate() {
        for (t, r) in zone.risk.iter().enumerate() {
            risk[t * nz + z] = *r;
        }
    }
    // Fixed presence (inactive units, fixed pasts) and how many more units could be there.
    let mut c0 = vec![0usize; nz * ns];
    let mut kmax = vec![0usize; nz * ns];
    let mut n = vec![0usize; nz * ns];
    for (m, row) in models.iter().zip(primal) {
        let from = if m.active { m.entry.t } else { ns };
        for (t, a) in row.iter().enumerate() {
            if let Assignment::Zone(z) = *a {
                n[t * nz + z] += 1;
                if t < from {
                    c0[t * nz + z] += 1;
                }
            }
        }
        if m.active {
            for t in m.entry.t..m.end {
                for z in 0..nz {
                    kmax[t * nz + z] += 1;
                }
            }
        }
    }
    let dpow: Vec<f64> = (0..=models.len() + 1).map(|k| d.powi(k as i32)).collect();
    let constant: f64 = (0..nz * ns)
        .map(|i| risk[i] * presence_value(c0[i], d))
        .sum();
    // Marginal value of the k-th (1-based) unit that can still come to i.
    let marginal = |i: usize, k: usize| risk[i] * dpow[c0[i] + k - 1];
    let mut lambda: Vec<f64> = (0..nz * ns)
        .map(|i| {
            if kmax[i] == 0 {
                return 0.0;
            }
            let extra = n[i] - c0[i];
            if extra == 0 {
                marginal(i, 1)
            } else {
                (marginal(i, extra) + marginal(i, extra + 1)) / 2.0
            }
        })
        .collect();
    // Groups of identical units.
    let mut groups: Vec<(usize, usize)> = Vec::new(); // (representative, multiplicity)
    let mut index: HashMap<Key, usize> = HashMap::new();
    for (u, m) in models.iter().enumerate().filter(|(_, m)| m.active) {
        let key = Key {
            entry: (m.entry.kind as u8, m.entry.z, m.entry.t, m.entry.b),
            end: m.end,
            break_slots: m.break_slots,
            window: m.window,
            ts: m.ts.to_vec(),
            last_hist: m.last_hist.clone(),
        };
        let g = *index.entry(key).or_insert_with(|| {
            groups.push((u, 0));
            groups.len() - 1
        });
        groups[g].1 += 1;
    }
    let mut dp = Dp::new(nz, ns);
    let mut best = f64::INFINITY;
    let mut theta = 1.0;
    let mut dir = vec![0.0; nz * ns];
    let mut stale = 0;
    let mut x = vec![0.0; nz * ns];
    for _ in 0..iterations.max(1) {
        // L(lambda) and a subgradient.
        x.fill(0.0);
        let mut value = constant;
        for &(u, mult) in &groups {
            if let Some(route) = dp.best(&models[u], &lambda, false, None) {
                value += mult as f64 * route.value;
                for (t, a) in route.slots.iter().enumerate().skip(models[u].entry.t) {
                    if let Assignment::Zone(z) = *a {
                        x[t * nz + z] += mult as f64;
                    }
                }
            }
        }
        let mut norm2 = 0.0;
        for i in 0..nz * ns {
            let (mut acc, mut top, mut kstar) = (0.0, 0.0, 0);
            for k in 1..=kmax[i] {
                let m = marginal(i, k);
                if m <= lambda[i] {
                    break;
                }
                acc += m - lambda[i];
                if acc > top {
                    top = acc;
                    kstar = k;
                }
            }
            value += top;
            x[i] -= kstar as f64;
            norm2 += x[i] * x[i];
        }
        if value < best && (best.is_infinite() || best - value > 1e-12 * best.abs().max(1.0)) {
            best = value;
            stale = 0;
        } else {
            stale += 1;
            if stale >= STALE {
                theta /= 2.0;
                stale = 0;
            }
        }
        let slack = value - target;
        if norm2 == 0.0 || best - target <= 1e-7 * best.abs().max(1e-12) || theta < 1e-4 {
            break;
        }
        for (dd, g) in dir.iter_mut().zip(&x) {
            *dd = g + DEFLECT * *dd;
        }
        let dn: f64 = dir.iter().map(|d| d * d).sum();
        let step = theta * slack.max(1e-6 * value.abs()) / dn.max(1e-12);
        for (l, g) in lambda.iter_mut().zip(&dir) {
            *l = (*l - step * g).max(0.0);
        }
    }
    best
}
