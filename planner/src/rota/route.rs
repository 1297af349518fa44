//! One unit's best itinerary for given values of its presence in each zone and slot: a
//! longest path through a time-expanded graph, solved by dynamic programming over slots.
//!
//! A state is where the unit is at the start of a slot and whether it has had its break:
//!
//! - `Stn`: at its station (it may stay off there, take its break, or walk out);
//! - `Arr(z)`: has just walked to zone `z` and must visit it (after its break, if it takes
//!   it on arrival);
//! - `Vis(z)`: has just visited `z` in the previous slot (it may visit again if the Koper
//!   spacing allows it, take its break, walk on, or walk back to the station);
//! - `VisB(z)`: as `Vis`, but with the break taken right after that visit;
//! - `Free(z)`: at `z` with only fixed history behind it (the start of a re-plan).
//!
//! Every step (off, break, visit, walk) takes one or more whole slots, so states are
//! processed in slot order. These are exactly the itineraries [`super::validate`] accepts,
//! with one exception handled outside the state: revisits of a zone other than the one
//! just left (A, walk, B, walk, A). Those are checked against the path that reaches the
//! state (`path_check`); the bound switches that check off, so it optimises over a superset
//! of the valid itineraries (see `bound.rs`).

use super::plan::Assignment;
use super::problem::Problem;

pub(crate) const NONE: u32 = u32::MAX;
pub(crate) const NEVER: i64 = i64::MIN / 4;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub(crate) enum Kind {
    Stn = 0,
    Arr = 1,
    Vis = 2,
    VisB = 3,
    Free = 4,
}

const KINDS: [Kind; 5] = [Kind::Stn, Kind::Arr, Kind::Vis, Kind::VisB, Kind::Free];

impl Kind {
    /// In a zone, free to walk on.
    pub(crate) fn at_zone(self) -> bool {
        matches!(self, Kind::Vis | Kind::VisB | Kind::Free)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub(crate) struct State {
    pub(crate) kind: Kind,
    pub(crate) z: usize,
    pub(crate) t: usize,
    /// Break taken (or none owed).
    pub(crate) b: bool,
}

/// What a unit does from one state to the next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Step {
    Off,
    Break,
    Visit(usize),
    Walk(Option<usize>, Option<usize>),
}

impl Step {
    pub(crate) fn assignment(self) -> Assignment {
        match self {
            Step::Off => Assignment::Off,
            Step::Break => Assignment::Break,
            Step::Visit(z) => Assignment::Zone(z),
            Step::Walk(from, to) => Assignment::Travel { from, to },
        }
    }
}

/// Everything about one unit the search needs, independent of the values.
#[derive(Debug, Clone)]
pub(crate) struct UnitModel<'p> {
    /// False when nothing is left to plan (the unit left, or its shift is over or empty):
    /// its route is `prefix`.
    pub(crate) active: bool,
    pub(crate) entry: State,
    /// Assignments before `entry.t` (fixed past, walks or breaks it must finish, off
    /// before the shift); the whole row when inactive.
    pub(crate) prefix: Vec<Assignment>,
    pub(crate) end: usize,
    pub(crate) nz: usize,
    pub(crate) ns: usize,
    pub(crate) tt: &'p [usize],
    pub(crate) ts: &'p [usize],
    pub(crate) break_slots: usize,
    pub(crate) window: (usize, usize),
    pub(crate) gap: usize,
    /// Last visit of each zone in the prefix.
    pub(crate) last_hist: Vec<i64>,
}

impl<'p> UnitModel<'p> {
    /// The model of unit `u`, starting after its fixed past.
    pub(crate) fn new(p: &'p Problem, u: usize) -> UnitModel<'p> {
        let unit = &p.units()[u];
        let ns = p.n_slots();
        let nz = p.zones().len();
        let (first, end) = unit.shift;
        let bs = unit.break_slots;
        let frozen = p.frozen_until();
        let hist = p.history_of(u);
        let mut m = UnitModel {
            active: false,
            entry: State {
                kind: Kind::Stn,
                z: 0,
                t: first,
                b: bs == 0,
            },
            prefix: Vec::new(),
            end,
            nz,
            ns,
            tt: &p.travel,
            ts: &p.station[u * nz..(u + 1) * nz],
            break_slots: bs,
            window: unit.break_window,
            gap: p.params().revisit_gap,
            last_hist: vec![NEVER; nz],
        };
        let past = hist.map_or(0, |h| frozen.min(h.len()));
        m.prefix = hist.map(|h| h[..past].to_vec()).unwrap_or_default();
        if unit.left_at.is_some() || first >= end || past >= end {
            m.prefix.resize(ns, Assignment::Off);
            return m;
        }
        if past <= first {
            m.prefix.resize(first, Assignment::Off);
            m.active = true;
            return m;
        }
        // Replay the fixed past of the shift to find where the unit is at `past`.
        let mut pos = None;
        let mut trip: Option<(Option<usize>, Option<usize>, usize, usize)> = None;
        let mut must_visit = false;
        let mut brk: Option<(usize, usize)> = None;
        for t in first..past {
            let a = m.prefix[t];
            if let Some((from, to, total, done)) = trip {
                if done + 1 >= total {
                    trip = None;
                    pos = to;
                    must_visit = to.is_some();
                } else {
                    trip = Some((from, to, total, done + 1));
                }
                continue;
            }
            match a {
                Assignment::Zone(z) => {
                    pos = Some(z);
                    must_visit = false;
                    if z < nz {
                        m.last_hist[z] = t as i64;
                    }
                }
                Assignment::Travel { from, to } => {
                    let total = p.walk(u, from, to);
                    if total <= 1 {
                        pos = to;
                        must_visit = to.is_some();
                    } else {
                        trip = Some((from, to, total, 1));
                    }
                }
                Assignment::Break => {
                    brk = match brk {
                        Some((s, len)) if s + len == t => Some((s, len + 1)),
                        _ => Some((t, 1)),
                    }
                }
                Assignment::Off => {}
            }
        }
        if let Some((from, to, total, done)) = trip {
            for _ in done..total {
                m.prefix.push(Assignment::Travel { from, to });
            }
            pos = to;
            must_visit = to.is_some();
        } else if let Some((s, len)) = brk
            && s + len == past
            && len < bs
        {
            for _ in len..bs {
                m.prefix.push(Assignment::Break);
            }
        }
        let t0 = m.prefix.len();
        // Visits long enough ago restrict nothing: forgetting them lets units share a model.
        for last in &mut m.last_hist {
            if *last + (m.gap as i64) <= t0 as i64 {
                *last = NEVER;
            }
        }
        if t0 > end {
            m.prefix.resize(ns, Assignment::Off);
            return m;
        }
        let last = m.prefix.last().copied();
        let (kind, z) = match pos {
            None => (Kind::Stn, 0),
            Some(z) if must_visit => (Kind::Arr, z),
            Some(z) if last == Some(Assignment::Zone(z)) => (Kind::Vis, z),
            Some(z) => (Kind::Free, z),
        };
        m.entry = State {
            kind,
            z,
            t: t0,
            b: bs == 0 || brk.is_some(),
        };
        m.active = true;
        m
    }

    fn can_break(&self, t: usize) -> bool {
        let bs = self.break_slots;
        bs > 0 && t >= self.window.0 && t + bs <= self.window.1 && t + bs <= self.end
    }

    fn hist_ok(&self, z: usize, t: usize) -> bool {
        t as i64 - self.last_hist[z] >= self.gap as i64
    }

    /// Calls `f(next, step)` for every step allowed from `s`. Revisits are checked against
    /// the state and the fixed past, not against the path (the caller does that).
    pub(crate) fn successors(&self, s: State, mut f: impl FnMut(State, Step)) {
        self.steps(s, &mut f);
        if s.kind.at_zone() {
            let row = &self.tt[s.z * self.nz..(s.z + 1) * self.nz];
            for (z2, &w) in row.iter().enumerate() {
                if self.walk_ok(s, z2, w) {
                    let next = State {
                        kind: Kind::Arr,
                        z: z2,
                        t: s.t + w,
                        b: s.b,
                    };
                    f(next, Step::Walk(Some(s.z), Some(z2)));
                }
            }
        }
    }

    /// The last slot a unit that still owes its break can be in a state: a state after it
    /// is a dead end (no itinerary is complete without the break) and is not generated.
    #[inline(always)]
    pub(crate) fn last_break(&self) -> usize {
        self.window.1.saturating_sub(self.break_slots)
    }

    /// Whether a unit in zone state `s` may walk to zone `z2`, `w` slots away: it must
    /// still be able to visit `z2` and walk back to its station before the shift ends.
    #[inline(always)]
    pub(crate) fn walk_ok(&self, s: State, z2: usize, w: usize) -> bool {
        let t2 = s.t + w;
        z2 != s.z && t2 + self.ts[z2] < self.end && (s.b || t2 <= self.last_break())
    }

    /// Every step from `s` except walks from a zone to another zone ([`Self::walk_ok`]).
    #[inline(always)]
    pub(crate) fn steps(&self, s: State, mut f: impl FnMut(State, Step)) {
        let (t, e, bs) = (s.t, self.end, self.break_slots);
        let last_break = self.last_break();
        let mut f = |next: State, step: Step| {
            if next.b || next.t <= last_break {
                f(next, step)
            }
        };
        match s.kind {
            Kind::Stn => {
                if t < e {
                    f(State { t: t + 1, ..s }, Step::Off);
                }
                if !s.b && self.can_break(t) {
                    f(
                        State {
                            t: t + bs,
                            b: true,
                            ..s
                        },
                        Step::Break,
                    );
                }
                for (z, &w) in self.ts.iter().enumerate() {
                    if t + 2 * w < e {
                        let next = State {
                            kind: Kind::Arr,
                            z,
                            t: t + w,
                            b: s.b,
                        };
                        f(next, Step::Walk(None, Some(z)));
                    }
                }
            }
            Kind::Arr => {
                let z = s.z;
                if t < e && self.hist_ok(z, t) {
                    let next = State {
                        kind: Kind::Vis,
                        t: t + 1,
                        ..s
                    };
                    f(next, Step::Visit(z));
                }
                if !s.b && self.can_break(t) && t + bs + self.ts[z] < e {
                    f(
                        State {
                            t: t + bs,
                            b: true,
                            ..s
                        },
                        Step::Break,
                    );
                }
            }
            Kind::Vis | Kind::VisB | Kind::Free => {
                let z = s.z;
                let since = match s.kind {
                    Kind::Vis => 1,
                    Kind::VisB => bs + 1,
                    _ => usize::MAX,
                };
                if t < e && since >= self.gap && self.hist_ok(z, t) {
                    let next = State {
                        kind: Kind::Vis,
                        t: t + 1,
                        ..s
                    };
                    f(next, Step::Visit(z));
                }
                if !s.b && self.can_break(t) {
                    let kind = if s.kind == Kind::Free {
                        Kind::Free
                    } else {
                        Kind::VisB
                    };
                    f(
                        State {
                            kind,
                            t: t + bs,
                            b: true,
                            ..s
                        },
                        Step::Break,
                    );
                }
                let home = t + self.ts[z];
                if home <= e {
                    let next = State {
                        kind: Kind::Stn,
                        z: 0,
                        t: home,
                        b: s.b,
                    };
                    f(next, Step::Walk(Some(z), None));
                }
            }
        }
    }

    /// The state every complete itinerary ends in.
    pub(crate) fn finish(&self) -> State {
        State {
            kind: Kind::Stn,
            z: 0,
            t: self.end,
            b: true,
        }
    }

    /// The route of an inactive unit.
    pub(crate) fn fixed_route(&self) -> Vec<Assignment> {
        let mut r = self.prefix.clone();
        r.resize(self.ns, Assignment::Off);
        r
    }
}

/// A unit's itinerary for the whole night and its value under the values it was found for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Route {
    pub(crate) value: f64,
    pub(crate) slots: Vec<Assignment>,
}

/// Reusable buffers for [`Dp::best`].
pub(crate) struct Dp {
    nz: usize,
    ns: usize,
    val: Vec<f64>,
    back: Vec<u32>,
}

/// Rewards for keeping a previous itinerary: `mu` per slot whose assignment is unchanged.
#[derive(Clone, Copy)]
pub(crate) struct Keep<'a> {
    pub(crate) previous: &'a [Assignment],
    pub(crate) mu: f64,
}

impl<'a> Keep<'a> {
    fn bonus(&self, from: usize, to: usize, a: Assignment) -> f64 {
        let same = self.previous[from..to].iter().filter(|p| **p == a).count();
        self.mu * same as f64
    }
}

impl Dp {
    pub(crate) fn new(nz: usize, ns: usize) -> Dp {
        let n = 5 * 2 * (ns + 1) * nz.max(1);
        Dp {
            nz: nz.max(1),
            ns,
            val: vec![f64::NEG_INFINITY; n],
            back: vec![NONE; n],
        }
    }

    fn index(&self, s: State) -> usize {
        ((s.kind as usize * 2 + s.b as usize) * (self.ns + 1) + s.t) * self.nz + s.z
    }

    fn decode(nz: usize, ns: usize, i: usize) -> State {
        let z = i % nz;
        let r = i / nz;
        let t = r % (ns + 1);
        let r = r / (ns + 1);
        State {
            kind: KINDS[r / 2],
            z,
            t,
            b: r % 2 == 1,
        }
    }

    /// The best complete itinerary of `m` when a visit to zone `z` in slot `t` is worth
    /// `w[t * nz + z]` (plus `keep`'s reward). With `path_check` every revisit rule holds;
    /// without it, revisits of zones other than the one just left are not checked (a
    /// relaxation). `None` if no itinerary reaches the end of the shift.
    pub(crate) fn best(
        &mut self,
        m: &UnitModel,
        w: &[f64],
        path_check: bool,
        keep: Option<Keep>,
    ) -> Option<Route> {
        if !m.active {
            return None;
        }
        let (nz, ns) = (self.nz, self.ns);
        self.val.fill(f64::NEG_INFINITY);
        let start = self.index(m.entry);
        self.val[start] = 0.0;
        self.back[start] = NONE;
        let gap = m.gap;
        let check = path_check && gap > 2;
        for t in m.entry.t..=m.end {
            for kind in KINDS {
                let zs = if kind == Kind::Stn { 1 } else { m.nz };
                for b in [false, true] {
                    for z in 0..zs {
                        let s = State { kind, z, t, b };
                        let i = self.index(s);
                        let v = self.val[i];
                        if v == f64::NEG_INFINITY {
                            continue;
                        }
                        let (val, back) = (&mut self.val, &mut self.back);
                        if kind.at_zone() {
                            // Walks to other zones: the hot loop, written out.
                            let row = &m.tt[z * m.nz..(z + 1) * m.nz];
                            let base = (Kind::Arr as usize * 2 + b as usize) * (ns + 1);
                            for (z2, &wk) in row.iter().enumerate() {
                                if !m.walk_ok(s, z2, wk) {
                                    continue;
                                }
                                let mut nv = v;
                                if let Some(k) = keep {
                                    let a = Assignment::Travel {
                                        from: Some(z),
                                        to: Some(z2),
                                    };
                                    nv += k.bonus(t, t + wk, a);
                                }
                                let j = (base + t + wk) * nz + z2;
                                if nv > val[j] {
                                    val[j] = nv;
                                    back[j] = i as u32;
                                }
                            }
                        }
                        m.steps(s, |next, step| {
                            let mut nv = v;
                            if let Step::Visit(vz) = step {
                                if check && !path_ok(back, nz, ns, i, vz, t, gap) {
                                    return;
                                }
                                nv += w[t * m.nz + vz];
                            }
                            if let Some(k) = keep {
                                nv += k.bonus(t, next.t, step.assignment());
                            }
                            let j = ((next.kind as usize * 2 + next.b as usize) * (ns + 1)
                                + next.t)
                                * nz
                                + next.z;
                            if nv > val[j] {
                                val[j] = nv;
                                back[j] = i as u32;
                            }
                        });
                    }
                }
            }
        }
        let fin = self.index(m.finish());
        let value = self.val[fin];
        if value == f64::NEG_INFINITY {
            return None;
        }
        let mut slots = m.prefix.clone();
        slots.resize(ns, Assignment::Off);
        let mut cur = fin;
        while self.back[cur] != NONE {
            let p = self.back[cur] as usize;
            let (sp, sc) = (Dp::decode(nz, ns, p), Dp::decode(nz, ns, cur));
            let a = step_between(sp, sc);
            for slot in &mut slots[sp.t..sc.t] {
                *slot = a;
            }
            cur = p;
        }
        Some(Route { value, slots })
    }
}

/// No visit to `z` within `gap` slots before `t` on the path that reaches state `i`.
fn path_ok(back: &[u32], nz: usize, ns: usize, i: usize, z: usize, t: usize, gap: usize) -> bool {
    let mut cur = i;
    loop {
        let s = Dp::decode(nz, ns, cur);
        if s.t + gap <= t + 1 {
            return true;
        }
        if s.kind == Kind::Vis && s.z == z {
            return false;
        }
        if back[cur] == NONE {
            return true;
        }
        cur = back[cur] as usize;
    }
}

/// The assignment of the step from `a` to `b`.
fn step_between(a: State, b: State) -> Assignment {
    if b.kind == Kind::Vis {
        return Assignment::Zone(b.z);
    }
    if a.b != b.b {
        return Assignment::Break;
    }
    let place = |s: State| (s.kind != Kind::Stn).then_some(s.z);
    match (a.kind, b.kind) {
        (Kind::Stn, Kind::Stn) => Assignment::Off,
        _ => Assignment::Travel {
            from: place(a),
            to: place(b),
        },
    }
}

/// Value of an existing route under values `w` (and `keep`'s reward) over slots
/// `from..to`: what [`Dp::best`] would report for it.
pub(crate) fn route_value(
    route: &[Assignment],
    (from, to): (usize, usize),
    nz: usize,
    w: &[f64],
    keep: Option<Keep>,
) -> f64 {
    let mut v = 0.0;
    for (t, a) in route.iter().enumerate().take(to).skip(from) {
        if let Assignment::Zone(z) = *a {
            v += w[t * nz + z];
        }
        if let Some(k) = keep
            && k.previous[t] == *a
        {
            v += k.mu;
        }
    }
    v
}
