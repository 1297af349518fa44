//! Exact optimum for small instances: every valid itinerary of every unit, then
//! branch-and-bound over the units' choices.
//!
//! Used when the instance is small enough to finish quickly (a few units, zones and
//! slots); the plan then reports its own objective as the bound, with
//! [`super::BoundMethod::Exact`]. Larger instances give up early (caps on itineraries and
//! search nodes) and go to the heuristic with the Lagrangian bound.

use super::plan::Assignment;
use super::problem::Problem;
use super::route::{State, Step, UnitModel};
use std::collections::HashSet;

/// An itinerary: its visits (slot, zone) and its row.
type Itinerary = (Vec<(usize, usize)>, Vec<Assignment>);

/// Distinct itineraries (by their visits) per unit before giving up.
const ROUTE_CAP: usize = 4_000;
/// Steps of the itinerary enumeration per unit before giving up.
const ENUM_CAP: usize = 400_000;
/// Nodes of the branch-and-bound before giving up.
const NODE_CAP: usize = 2_000_000;

/// Whether the exact search is worth trying.
pub(crate) fn small(p: &Problem, models: &[UnitModel]) -> bool {
    let active = models.iter().filter(|m| m.active).count();
    active <= 4 && p.zones().len() <= 6 && p.n_slots() <= 16
}

struct Choice {
    visits: Vec<(usize, usize)>,
    slots: Vec<Assignment>,
    alone: f64,
}

/// All itineraries of `m` with distinct visit sets, or `None` past the caps.
fn itineraries(m: &UnitModel) -> Option<Vec<Itinerary>> {
    struct Walk<'m, 'p> {
        m: &'m UnitModel<'p>,
        steps: Vec<(usize, usize, Assignment)>,
        visits: Vec<(usize, usize)>,
        seen: HashSet<Vec<(usize, usize)>>,
        out: Vec<Itinerary>,
        work: usize,
        fail: bool,
    }
    impl Walk<'_, '_> {
        fn go(&mut self, s: State) {
            self.work += 1;
            if self.work > ENUM_CAP || self.out.len() > ROUTE_CAP {
                self.fail = true;
            }
            if self.fail {
                return;
            }
            if s == self.m.finish() {
                if self.seen.insert(self.visits.clone()) {
                    let mut slots = self.m.prefix.clone();
                    slots.resize(self.m.ns, Assignment::Off);
                    for &(a, b, x) in &self.steps {
                        for slot in &mut slots[a..b] {
                            *slot = x;
                        }
                    }
                    self.out.push((self.visits.clone(), slots));
                }
                return;
            }
            let mut next = Vec::new();
            self.m.successors(s, |n, step| next.push((n, step)));
            let gap = self.m.gap;
            for (n, step) in next {
                if let Step::Visit(z) = step
                    && self.visits.iter().any(|&(t, vz)| vz == z && s.t - t < gap)
                {
                    continue;
                }
                self.steps.push((s.t, n.t, step.assignment()));
                if let Step::Visit(z) = step {
                    self.visits.push((s.t, z));
                }
                self.go(n);
                if let Step::Visit(_) = step {
                    self.visits.pop();
                }
                self.steps.pop();
            }
        }
    }
    let mut w = Walk {
        m,
        steps: Vec::new(),
        visits: Vec::new(),
        seen: HashSet::new(),
        out: Vec::new(),
        work: 0,
        fail: false,
    };
    w.go(m.entry);
    (!w.fail).then_some(w.out)
}

/// The optimal rows for all units, or `None` if the instance is too large.
pub(crate) fn solve(p: &Problem, models: &[UnitModel]) -> Option<Vec<Vec<Assignment>>> {
    let (nz, ns) = (p.zones().len(), p.n_slots());
    let d = p.params().second_unit_factor;
    let dpow: Vec<f64> = (0..=models.len() + 1).map(|k| d.powi(k as i32)).collect();
    let mut risk = vec![0.0; nz * ns];
    for (z, zone) in p.zones().iter().enumerate() {
        for (t, r) in zone.risk.iter().enumerate() {
            risk[t * nz + z] = *r;
        }
    }
    let mut rows: Vec<Vec<Assignment>> = vec![Vec::new(); models.len()];
    let mut count = vec![0usize; nz * ns];
    let mut free = Vec::new();
    for (u, m) in models.iter().enumerate() {
        if m.active {
            free.push(u);
            continue;
        }
        rows[u] = m.fixed_route();
        for (t, a) in rows[u].iter().enumerate() {
            if let Assignment::Zone(z) = *a {
                count[t * nz + z] += 1;
            }
        }
    }
    // Itineraries of the active units (their fixed pasts count as presence too).
    let mut options: Vec<Vec<Choice>> = Vec::new();
    for &u in &free {
        let m = &models[u];
        for (t, a) in m.prefix.iter().enumerate() {
            if let Assignment::Zone(z) = *a {
                count[t * nz + z] += 1;
            }
        }
        let mut opts: Vec<Choice> = itineraries(m)?
            .into_iter()
            .map(|(visits, slots)| {
                let visits: Vec<(usize, usize)> = visits;
                let alone = visits.iter().map(|&(t, z)| risk[t * nz + z]).sum();
                Choice {
                    visits,
                    slots,
                    alone,
                }
            })
            .collect();
        if opts.is_empty() {
            return None;
        }
        opts.sort_by(|a, b| b.alone.total_cmp(&a.alone));
        options.push(opts);
    }
    // What the units after position i could add at most (each alone, before the others).
    let mut rest = vec![0.0; options.len() + 1];
    for i in (0..options.len()).rev() {
        rest[i] = rest[i + 1] + options[i][0].alone;
    }
    struct Bb<'a> {
        options: &'a [Vec<Choice>],
        rest: &'a [f64],
        risk: &'a [f64],
        dpow: &'a [f64],
        nz: usize,
        count: Vec<usize>,
        choice: Vec<usize>,
        best: f64,
        best_choice: Vec<usize>,
        nodes: usize,
    }
    impl Bb<'_> {
        fn go(&mut self, i: usize, value: f64) -> bool {
            self.nodes += 1;
            if self.nodes > NODE_CAP {
                return false;
            }
            if i == self.options.len() {
                if value > self.best + 1e-12 {
                    self.best = value;
                    self.best_choice = self.choice.clone();
                }
                return true;
            }
            for (c, o) in self.options[i].iter().enumerate() {
                if value + o.alone + self.rest[i + 1] <= self.best + 1e-12 {
                    break;
                }
                let mut gain = 0.0;
                for &(t, z) in &o.visits {
                    let k = t * self.nz + z;
                    gain += self.risk[k] * self.dpow[self.count[k]];
                    self.count[k] += 1;
                }
                self.choice.push(c);
                let ok = self.go(i + 1, value + gain);
                self.choice.pop();
                for &(t, z) in &o.visits {
                    self.count[t * self.nz + z] -= 1;
                }
                if !ok {
                    return false;
                }
            }
            true
        }
    }
    let mut bb = Bb {
        options: &options,
        rest: &rest,
        risk: &risk,
        dpow: &dpow,
        nz,
        count,
        choice: Vec::new(),
        best: f64::NEG_INFINITY,
        best_choice: Vec::new(),
        nodes: 0,
    };
    if !bb.go(0, 0.0) || bb.best_choice.len() != free.len() {
        return None;
    }
    for (k, &u) in free.iter().enumerate() {
        rows[u] = options[k][bb.best_choice[k]].slots.clone();
    }
    Some(rows)
}
