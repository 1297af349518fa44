//! The optimiser: greedy construction, best-response sweeps and ruin-and-recreate.
//!
//! The objective is a potential: when one unit changes its itinerary while the others stay,
//! the objective changes by exactly the change in that unit's own value, where a visit to
//! zone z in slot t is worth `risk x d^k` with k the other units present. So each unit's
//! best response ([`super::route::Dp::best`], an exact longest path over its whole shift)
//! never lowers the objective, and sweeping the units until none can improve reaches a
//! plan no single unit can improve. Ruin-and-recreate then lifts a few units out at once
//! and puts them back one by one, which escapes the plans where two units would have to
//! move together.
//!
//! Randomisation (Koper: patrols should not be predictable): the seed fixes the order in
//! which units are placed and swept, the units picked for ruin-and-recreate, and a tilt of
//! up to `jitter` (5 %) on each zone and slot's value while the plan is built. The plan is
//! then polished on the true risk, so the tilt changes which good plan is found, not how
//! good it is. Same seed, same plan: nothing depends on time or thread scheduling.

use super::objective::presence_value;
use super::plan::Assignment;
use super::problem::Problem;
use super::rng::Rng;
use super::route::{Dp, Keep, UnitModel, route_value};

pub(crate) struct Search<'a, 'p> {
    models: &'a [UnitModel<'p>],
    nz: usize,
    ns: usize,
    /// Risk by `t * nz + z`.
    risk: Vec<f64>,
    /// Jitter multiplier by `t * nz + z` (all 1 on the true objective).
    mult: Vec<f64>,
    /// d^k.
    dpow: Vec<f64>,
    /// 1 + d + ... + d^(k-1).
    pres: Vec<f64>,
    /// Units present by `t * nz + z`.
    pub(crate) count: Vec<u32>,
    pub(crate) routes: Vec<Option<Vec<Assignment>>>,
    dp: Dp,
    w: Vec<f64>,
    pub(crate) rng: Rng,
    /// Re-plan: previous itineraries and the reward per kept slot.
    keep: Vec<Option<Vec<Assignment>>>,
    mu: f64,
}

impl<'a, 'p> Search<'a, 'p> {
    pub(crate) fn new(p: &Problem, models: &'a [UnitModel<'p>], rng: Rng) -> Search<'a, 'p> {
        let (nz, ns) = (p.zones().len(), p.n_slots());
        let mut risk = vec![0.0; nz * ns];
        for (z, zone) in p.zones().iter().enumerate() {
            for (t, r) in zone.risk.iter().enumerate() {
                risk[t * nz + z] = *r;
            }
        }
        let d = p.params().second_unit_factor;
        let n = models.len() + 2;
        let dpow = (0..n).map(|k| d.powi(k as i32)).collect();
        let pres = (0..n).map(|k| presence_value(k, d)).collect();
        let mut s = Search {
            models,
            nz,
            ns,
            risk,
            mult: vec![1.0; nz * ns],
            dpow,
            pres,
            count: vec![0; nz * ns],
            routes: vec![None; models.len()],
            dp: Dp::new(nz, ns),
            w: vec![0.0; nz * ns],
            rng,
            keep: vec![None; models.len()],
            mu: 0.0,
        };
        for (u, m) in models.iter().enumerate() {
            if !m.active {
                s.place(u, m.fixed_route());
            }
        }
        s
    }

    /// Tilts each zone and slot's value by a factor in [1, 1 + jitter).
    pub(crate) fn set_jitter(&mut self, jitter: f64, seed: u64) {
        let mut r = Rng::stream(seed, 0x4A17);
        for m in &mut self.mult {
            *m = 1.0 + jitter * r.next_f64();
        }
    }

    pub(crate) fn clear_jitter(&mut self) {
        self.mult.fill(1.0);
    }

    /// Re-plan: reward `mu` per slot where unit `u` keeps `previous`.
    pub(crate) fn set_keep(&mut self, u: usize, previous: Vec<Assignment>, mu: f64) {
        self.keep[u] = Some(previous);
        self.mu = mu;
    }

    pub(crate) fn place(&mut self, u: usize, route: Vec<Assignment>) {
        for (t, a) in route.iter().enumerate() {
            if let Assignment::Zone(z) = *a {
                self.count[t * self.nz + z] += 1;
            }
        }
        self.routes[u] = Some(route);
    }

    fn lift(&mut self, u: usize) -> Option<Vec<Assignment>> {
        let route = self.routes[u].take()?;
        for (t, a) in route.iter().enumerate() {
            if let Assignment::Zone(z) = *a {
                self.count[t * self.nz + z] -= 1;
            }
        }
        Some(route)
    }

    /// The (tilted) objective of the units placed, plus the keep rewards.
    pub(crate) fn total(&self) -> f64 {
        let cover: f64 = self
            .count
            .iter()
            .zip(&self.risk)
            .zip(&self.mult)
            .map(|((&k, r), m)| r * m * self.pres[k as usize])
            .sum();
        let kept: f64 = self
            .routes
            .iter()
            .zip(&self.keep)
            .filter_map(|(r, k)| Some((r.as_ref()?, k.as_ref()?)))
            .map(|(r, k)| self.mu * r.iter().zip(k).filter(|(a, b)| a == b).count() as f64)
            .sum();
        cover + kept
    }

    /// Unit `u` takes its best itinerary given the others; true if it changed for the better.
    pub(crate) fn best_response(&mut self, u: usize) -> bool {
        let m = &self.models[u];
        if !m.active {
            return false;
        }
        let old = self.lift(u);
        let (t0, e, nz) = (m.entry.t, m.end, self.nz);
        for t in t0..e {
            for z in 0..nz {
                let i = t * nz + z;
                self.w[i] = self.risk[i] * self.mult[i] * self.dpow[self.count[i] as usize];
            }
        }
        let keep = self.keep[u].as_deref().map(|previous| Keep {
            previous,
            mu: self.mu,
        });
        let new = self.dp.best(m, &self.w, true, keep);
        match (old, new) {
            (Some(old), Some(new)) => {
                let old_value = route_value(&old, (t0, e), nz, &self.w, keep);
                if new.value > old_value + 1e-9 * (1.0 + old_value.abs()) && new.slots != old {
                    self.place(u, new.slots);
                    true
                } else {
                    self.place(u, old);
                    false
                }
            }
            (None, Some(new)) => {
                self.place(u, new.slots);
                true
            }
            (Some(old), None) => {
                self.place(u, old);
                false
            }
            (None, None) => {
                // No itinerary reaches the end of the shift: cannot happen for a validated
                // problem (staying at the station is always one); keep the unit off.
                self.place(u, m.fixed_route());
                false
            }
        }
    }

    fn active_units(&self) -> Vec<usize> {
        (0..self.models.len())
            .filter(|&u| self.models[u].active)
            .collect()
    }

    /// Places every unit not yet placed, in a seeded random order.
    pub(crate) fn construct(&mut self) {
        let mut order: Vec<usize> = self
            .active_units()
            .into_iter()
            .filter(|&u| self.routes[u].is_none())
            .collect();
        self.rng.shuffle(&mut order);
        for u in order {
            self.best_response(u);
        }
    }

    /// Best-response sweeps until no unit improves (or `max` sweeps).
    pub(crate) fn sweeps(&mut self, max: usize) {
        let mut order = self.active_units();
        for _ in 0..max {
            self.rng.shuffle(&mut order);
            let mut improved = false;
            for &u in &order {
                improved |= self.best_response(u);
            }
            if !improved {
                break;
            }
        }
    }

    /// Ruin and recreate: `iterations` times, lift 2 to 5 units picked at random and put
    /// them back one at a time in random order, then let each respond to the others once
    /// more; keep the result unless the objective fell. (Picking units that meet in space
    /// and time instead, an annealed acceptance, or noise on the re-insertion were tried and
    /// did no better on the benchmark town for the same time.)
    pub(crate) fn ruin_recreate(&mut self, iterations: usize) {
        let active = self.active_units();
        if active.len() < 2 {
            return;
        }
        let mut current = self.total();
        let mut pick = active.clone();
        for _ in 0..iterations {
            let k = 2 + self.rng.below(4.min(active.len() - 1));
            self.rng.shuffle(&mut pick);
            let lifted = &pick[..k];
            let saved: Vec<(usize, Option<Vec<Assignment>>)> =
                lifted.iter().map(|&u| (u, self.lift(u))).collect();
            for &u in lifted {
                self.best_response(u);
            }
            for &u in lifted {
                self.best_response(u);
            }
            let now = self.total();
            if now + 1e-9 * (1.0 + current.abs()) >= current {
                current = now;
            } else {
                for &(u, _) in &saved {
                    self.lift(u);
                }
                for (u, r) in saved {
                    if let Some(r) = r {
                        self.place(u, r);
                    }
                }
            }
        }
    }

    /// An independent copy of the search (its own buffers and random stream), for a second
    /// thread.
    pub(crate) fn fork(&self, rng: Rng) -> Search<'a, 'p> {
        Search {
            models: self.models,
            nz: self.nz,
            ns: self.ns,
            risk: self.risk.clone(),
            mult: self.mult.clone(),
            dpow: self.dpow.clone(),
            pres: self.pres.clone(),
            count: self.count.clone(),
            routes: self.routes.clone(),
            dp: Dp::new(self.nz, self.ns),
            w: vec![0.0; self.w.len()],
            rng,
            keep: self.keep.clone(),
            mu: self.mu,
        }
    }

    /// Every unit's row (off for a unit not placed).
    pub(crate) fn rows(&self) -> Vec<Vec<Assignment>> {
        self.routes
            .iter()
            .map(|r| r.clone().unwrap_or_else(|| vec![Assignment::Off; self.ns]))
            .collect()
    }

    pub(crate) fn into_routes(self) -> Vec<Vec<Assignment>> {
        let ns = self.ns;
        self.routes
            .into_iter()
            .map(|r| r.unwrap_or_else(|| vec![Assignment::Off; ns]))
            .collect()
    }
}
