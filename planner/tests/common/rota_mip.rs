//! The rota model of a plan JSON as a mixed-integer programme, solved by HiGHS.
//!
//! Everything here is read from the plan JSON (`firefly plan -o`) alone, with no planner
//! type: `slots`, `params`, `zones[].risk`, `units[].shift_slots`, `units[].break`, and the
//! projected centres and stations of `problem.zones[]` and `problem.units[]`. The model is
//! the one docs/rota-model.md writes out; its sections are named in the comments below.
//!
//! Shared by `tests/rota_exact.rs` and `examples/rota_exact.rs`.

#![allow(dead_code)] // each user needs a different part

use highs::{HighsModelStatus, RowProblem, Sense};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

/// A patrol zone: id, projected centre (metres) and risk per slot.
#[derive(Debug, Clone)]
pub struct Zone {
    pub id: String,
    pub x: f64,
    pub y: f64,
    pub risk: Vec<f64>,
}

/// A unit: its shift `[first, end)` and break window `[from, to)` in slots, its station.
#[derive(Debug, Clone)]
pub struct Unit {
    pub callsign: String,
    pub size: u64,
    pub shift: (usize, usize),
    pub station: (f64, f64),
    pub break_slots: usize,
    pub window: (usize, usize),
}

/// The data of the model, as the plan JSON gives it.
#[derive(Debug, Clone)]
pub struct Model {
    pub n_slots: usize,
    pub slot_minutes: f64,
    pub speed_kmh: f64,
    pub detour: f64,
    /// `params.second_unit_factor`.
    pub d: f64,
    /// `params.revisit_gap_slots`.
    pub gap: usize,
    pub zones: Vec<Zone>,
    pub units: Vec<Unit>,
}

fn num(v: &Value, what: &str) -> Result<f64, String> {
    v.as_f64().ok_or_else(|| format!("{what} is not a number"))
}

fn whole(v: &Value, what: &str) -> Result<usize, String> {
    v.as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| format!("{what} is not a whole number"))
}

fn pair(v: &Value, what: &str) -> Result<(Value, Value), String> {
    match v.as_array().map(Vec::as_slice) {
        Some([a, b]) => Ok((a.clone(), b.clone())),
        _ => Err(format!("{what} is not a pair")),
    }
}

impl Model {
    /// Reads the model from a plan JSON.
    pub fn from_plan_json(v: &Value) -> Result<Model, String> {
        let p = &v["params"];
        let n_slots = v["slots"].as_array().ok_or("no slots")?.len();
        let problem = &v["problem"];
        if problem["frozen_until"].as_u64().unwrap_or(0) > 0 {
            return Err("a re-planned night (problem.frozen_until > 0) is not modelled".into());
        }
        let empty = vec![];
        let pz = problem["zones"].as_array().unwrap_or(&empty);
        let pu = problem["units"].as_array().unwrap_or(&empty);
        let mut zones = Vec::new();
        for z in v["zones"].as_array().ok_or("no zones")? {
            let id = z["id"].as_str().ok_or("zone without id")?.to_string();
            let risk = z["risk"]
                .as_array()
                .ok_or_else(|| format!("zone {id}: no risk"))?
                .iter()
                .map(|r| num(r, &format!("zone {id}: risk")))
                .collect::<Result<Vec<_>, _>>()?;
            if risk.len() != n_slots {
                return Err(format!("zone {id}: {} risk values", risk.len()));
            }
            let c = pz
                .iter()
                .find(|c| c["id"].as_str() == Some(id.as_str()))
                .ok_or_else(|| format!("zone {id}: no projected centre in problem.zones"))?;
            let (x, y) = (num(&c["x"], "x")?, num(&c["y"], "y")?);
            zones.push(Zone { id, x, y, risk });
        }
        let mut units = Vec::new();
        for u in v["units"].as_array().ok_or("no units")? {
            let callsign = u["callsign"].as_str().ok_or("unit without callsign")?;
            let what = |f: &str| format!("unit {callsign}: {f}");
            let (a, e) = pair(&u["shift_slots"], &what("shift_slots"))?;
            let (wf, wt) = pair(&u["break"]["window_slots"], &what("break.window_slots"))?;
            let c = pu
                .iter()
                .find(|c| c["callsign"].as_str() == Some(callsign))
                .ok_or_else(|| what("no projected station in problem.units"))?;
            if !c["left_at"].is_null() {
                return Err(what("a unit that dropped out (left_at) is not modelled"));
            }
            let (sx, sy) = pair(&c["start"], &what("problem start"))?;
            units.push(Unit {
                callsign: callsign.to_string(),
                size: u["size"].as_u64().unwrap_or(1),
                shift: (whole(&a, "shift")?, whole(&e, "shift")?),
                station: (num(&sx, "start")?, num(&sy, "start")?),
                break_slots: whole(&u["break"]["slots"], &what("break.slots"))?,
                window: (whole(&wf, "window")?, whole(&wt, "window")?),
            });
        }
        Ok(Model {
            n_slots,
            slot_minutes: num(&p["slot_minutes"], "params.slot_minutes")?,
            speed_kmh: num(&p["walking_speed_kmh"], "params.walking_speed_kmh")?,
            detour: num(&p["detour"], "params.detour")?,
            d: num(&p["second_unit_factor"], "params.second_unit_factor")?,
            gap: whole(&p["revisit_gap_slots"], "params.revisit_gap_slots")?,
            zones,
            units,
        })
    }

    /// Walking slots between two projected points: `ceil(distance x detour / speed / slot)`,
    /// at least 1 (every move takes a slot, even between coinciding centres).
    pub fn walk(&self, a: (f64, f64), b: (f64, f64)) -> usize {
        let metres = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        let per_slot = self.speed_kmh * 1000.0 / 60.0 * self.slot_minutes;
        ((metres * self.detour / per_slot).ceil() as usize).max(1)
    }

    /// Walks whose length in slots is within `eps` of a whole number: where rounding could
    /// make two implementations of the formula disagree.
    pub fn near_ties(&self, eps: f64) -> usize {
        let per_slot = self.speed_kmh * 1000.0 / 60.0 * self.slot_minutes;
        let frac = |a: (f64, f64), b: (f64, f64)| {
            let s = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt() * self.detour / per_slot;
            s > 0.5 && (s - s.round()).abs() < eps
        };
        let places: Vec<(f64, f64)> = self.zones.iter().map(|z| (z.x, z.y)).collect();
        let mut n = 0;
        for (i, a) in places.iter().enumerate() {
            n += places[i + 1..].iter().filter(|b| frac(*a, **b)).count();
        }
        for u in &self.units {
            n += places.iter().filter(|b| frac(u.station, **b)).count();
        }
        n
    }

    /// The objective of assignments in the JSON form: the sum over zones and slots of
    /// risk x (1 + d + ... + d^(k-1)) for the k units present.
    pub fn objective_of(&self, assignments: &[Vec<Value>]) -> f64 {
        let mut total = 0.0;
        for (z, zone) in self.zones.iter().enumerate() {
            for t in 0..self.n_slots {
                let k = assignments
                    .iter()
                    .filter(|row| row[t]["zone"].as_str() == Some(&self.zones[z].id))
                    .count();
                total += zone.risk[t] * (0..k).map(|j| self.d.powi(j as i32)).sum::<f64>();
            }
        }
        total
    }
}

/// Which rules the programme keeps: all of them, or (to show that it matters) all but the
/// revisit rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub revisit: bool,
}

impl Rules {
    pub const ALL: Rules = Rules { revisit: true };
    pub const WITHOUT_REVISIT: Rules = Rules { revisit: false };
}

/// A node of a unit's time-expanded network: where it is at the start of slot `t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Node {
    /// At the station.
    Stn(usize),
    /// Has just walked to zone z (must visit it before leaving; may break first).
    Arr(usize, usize),
    /// Has visited zone z in the previous slot.
    Vis(usize, usize),
    /// In zone z after a visit and then the break.
    VisB(usize, usize),
}

impl Node {
    fn t(self) -> usize {
        match self {
            Node::Stn(t) | Node::Arr(_, t) | Node::Vis(_, t) | Node::VisB(_, t) => t,
        }
    }
}

/// What a unit does on an arc, for every slot of `[from.t, to.t)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Off,
    Break,
    Visit(usize),
    Walk(Option<usize>, Option<usize>),
}

#[derive(Debug, Clone, Copy)]
struct Arc {
    from: Node,
    to: Node,
    act: Act,
}

/// Every arc of unit `u`'s network that lies on some path from `Stn(first)` to `Stn(end)`.
///
/// A second visit without leaving the zone (`Vis -> Vis`, or `VisB -> Vis` after the break)
/// is an arc only where the revisit rule could allow it: for `g <= 1`, or after a break of
/// at least `g - 1` slots (or when the rule is off). The rule's rows forbid those arcs
/// anyway; leaving them out keeps the linear relaxation from "staying" in a zone with
/// fractions of a unit, which makes it much tighter.
fn arcs(m: &Model, u: &Unit, rules: Rules) -> Vec<Arc> {
    let (first, end) = u.shift;
    let nz = m.zones.len();
    let ts: Vec<usize> = m
        .zones
        .iter()
        .map(|z| m.walk(u.station, (z.x, z.y)))
        .collect();
    let tt: Vec<usize> = m
        .zones
        .iter()
        .flat_map(|a| m.zones.iter().map(|b| m.walk((a.x, a.y), (b.x, b.y))))
        .collect();
    let mut out = Vec::new();
    let mut add = |from: Node, to: Node, act: Act| {
        if to.t() <= end {
            out.push(Arc { from, to, act });
        }
    };
    // Breaks start in [from, to - break_slots] of the window (and end within the shift).
    let break_ok =
        |t: usize| u.break_slots > 0 && t >= u.window.0 && t + u.break_slots <= u.window.1.min(end);
    let bs = u.break_slots;
    for t in first..end {
        add(Node::Stn(t), Node::Stn(t + 1), Act::Off);
        if break_ok(t) {
            add(Node::Stn(t), Node::Stn(t + bs), Act::Break);
        }
        for z in 0..nz {
            add(
                Node::Stn(t),
                Node::Arr(z, t + ts[z]),
                Act::Walk(None, Some(z)),
            );
            add(Node::Arr(z, t), Node::Vis(z, t + 1), Act::Visit(z));
            if !rules.revisit || m.gap <= 1 {
                add(Node::Vis(z, t), Node::Vis(z, t + 1), Act::Visit(z));
            }
            if !rules.revisit || bs + 1 >= m.gap {
                add(Node::VisB(z, t), Node::Vis(z, t + 1), Act::Visit(z));
            }
            if break_ok(t) {
                add(Node::Arr(z, t), Node::Arr(z, t + bs), Act::Break);
                add(Node::Vis(z, t), Node::VisB(z, t + bs), Act::Break);
            }
            for here in [Node::Vis(z, t), Node::VisB(z, t)] {
                add(here, Node::Stn(t + ts[z]), Act::Walk(Some(z), None));
                for z2 in (0..nz).filter(|&z2| z2 != z) {
                    let w = tt[z * nz + z2];
                    add(here, Node::Arr(z2, t + w), Act::Walk(Some(z), Some(z2)));
                }
            }
        }
    }
    // Keep only arcs on a path from the source to the sink (time always moves forward).
    out.sort_by_key(|a| a.from.t());
    let mut fwd = HashSet::from([Node::Stn(first)]);
    for a in &out {
        if fwd.contains(&a.from) {
            fwd.insert(a.to);
        }
    }
    let mut bwd = HashSet::from([Node::Stn(end)]);
    for a in out.iter().rev() {
        if bwd.contains(&a.to) {
            bwd.insert(a.from);
        }
    }
    out.retain(|a| fwd.contains(&a.from) && bwd.contains(&a.to));
    out
}

/// Size and result of one solve.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// HiGHS's model status, e.g. `Optimal`, `ReachedTimeLimit`.
    pub status: String,
    pub optimal: bool,
    /// HiGHS's objective of the best solution found (`None` if none was found). Before
    /// optimality it can be below the value of that solution's itineraries (some `q` not
    /// yet at their largest).
    pub objective: Option<f64>,
    /// The value of the best solution's itineraries by the plan JSON's objective.
    pub value: Option<f64>,
    /// HiGHS's proven upper bound on the optimum (its MIP dual bound).
    pub bound: f64,
    /// The best plan found, per unit per slot, in the plan JSON's form.
    pub assignments: Vec<Vec<Value>>,
    pub columns: usize,
    pub rows: usize,
    pub seconds: f64,
}

/// The arcs (indices into `arcs`) that a unit's row of plan JSON assignments follows, or
/// why the row is not a path of the unit's network.
fn row_arcs(m: &Model, u: &Unit, arcs: &[Arc], row: &[Value]) -> Result<Vec<usize>, String> {
    let (first, end) = u.shift;
    let zone = |v: &Value| -> Result<Option<usize>, String> {
        match v.as_str() {
            None => Ok(None),
            Some(id) => m
                .zones
                .iter()
                .position(|z| z.id == id)
                .map(Some)
                .ok_or_else(|| format!("unknown zone {id}")),
        }
    };
    for (t, a) in row.iter().enumerate() {
        if (t < first || t >= end) && a["off"] != true {
            return Err(format!("slot {t}: {a} outside the shift"));
        }
    }
    let mut out = Vec::new();
    let mut at = Node::Stn(first);
    let mut t = first;
    while t < end {
        let a = &row[t];
        let act = if a["off"] == true {
            Act::Off
        } else if a["break"] == true {
            Act::Break
        } else if a.get("zone").is_some() {
            Act::Visit(zone(&a["zone"])?.ok_or("a visit to no zone")?)
        } else if let Some(w) = a.get("travel") {
            Act::Walk(zone(&w["from"])?, zone(&w["to"])?)
        } else {
            return Err(format!("slot {t}: {a} is not an assignment"));
        };
        let i = arcs
            .iter()
            .position(|arc| arc.from == at && arc.act == act)
            .ok_or_else(|| format!("slot {t}: no arc {act:?} from {at:?}"))?;
        let next = arcs[i].to.t();
        if row[t..next].iter().any(|b| b != a) {
            return Err(format!("slot {t}: {a} does not last {} slots", next - t));
        }
        out.push(i);
        at = arcs[i].to;
        t = next;
    }
    Ok(out)
}

/// Builds the programme for `m` under `rules` and solves it with HiGHS (one thread, at most
/// `time_limit` seconds, optimality gap 0). With `start` (a plan's assignments, one row
/// per unit), that plan is first checked to be a point of the programme (every arc in the
/// unit's network, one break, the revisit rule: an `Err` says where it is not) and given
/// to HiGHS as its first solution.
pub fn solve(
    m: &Model,
    rules: Rules,
    time_limit: f64,
    start: Option<&[Vec<Value>]>,
) -> Result<Outcome, String> {
    let started = Instant::now();
    let (nz, ns) = (m.zones.len(), m.n_slots);
    let mut pb = RowProblem::default();
    // x[u][a]: unit u follows arc a (binary).
    let per_unit: Vec<Vec<Arc>> = m
        .units
        .iter()
        .map(|u| {
            if u.shift.0 < u.shift.1 {
                arcs(m, u, rules)
            } else {
                Vec::new()
            }
        })
        .collect();
    let cols: Vec<Vec<highs::Col>> = per_unit
        .iter()
        .map(|a| {
            a.iter()
                .map(|_| pb.add_integer_column(0.0, 0..=1))
                .collect()
        })
        .collect();
    // v(u, z, t): the visit arcs of unit u in zone z and slot t.
    let mut visits: Vec<Vec<Vec<highs::Col>>> = vec![vec![Vec::new(); nz * ns]; m.units.len()];
    for (u, arcs) in per_unit.iter().enumerate() {
        for (a, arc) in arcs.iter().enumerate() {
            if let Act::Visit(z) = arc.act {
                visits[u][arc.from.t() * nz + z].push(cols[u][a]);
            }
        }
    }
    // Presence: q(z, t, k) in [0, 1] for the k-th unit in zone z and slot t, worth
    // risk x d^(k-1); sum_k q(z, t, k) <= sum_u v(u, z, t). The increments decrease, so the
    // optimum fills k = 1, 2, ... in order and the sum is risk x (1 + d + ... + d^(n-1)).
    let mut presence: Vec<(usize, usize, Vec<highs::Col>)> = Vec::new();
    for z in 0..nz {
        for t in 0..ns {
            let risk = m.zones[z].risk[t];
            let present: Vec<highs::Col> = (0..m.units.len())
                .flat_map(|u| visits[u][t * nz + z].iter().copied())
                .collect();
            let k_max = (0..m.units.len())
                .filter(|&u| !visits[u][t * nz + z].is_empty())
                .count();
            if risk <= 0.0 || k_max == 0 {
                continue;
            }
            let mut row: Vec<(highs::Col, f64)> = present.iter().map(|&c| (c, -1.0)).collect();
            let mut ks = Vec::new();
            for k in 0..k_max {
                let value = risk * m.d.powi(k as i32);
                if value > 0.0 {
                    let q = pb.add_column(value, 0.0..=1.0);
                    ks.push(q);
                    row.push((q, 1.0));
                }
            }
            pb.add_row(..=0.0, &row);
            presence.push((z, t, ks));
        }
    }
    for (u, unit) in m.units.iter().enumerate() {
        let arcs = &per_unit[u];
        if arcs.is_empty() {
            continue;
        }
        // Flow conservation: one path from Stn(first) to Stn(end).
        let mut balance: BTreeMap<Node, Vec<(highs::Col, f64)>> = BTreeMap::new();
        for (a, arc) in arcs.iter().enumerate() {
            balance
                .entry(arc.from)
                .or_default()
                .push((cols[u][a], -1.0));
            balance.entry(arc.to).or_default().push((cols[u][a], 1.0));
        }
        let (first, end) = unit.shift;
        for (node, row) in balance {
            let rhs = if node == Node::Stn(first) {
                -1.0
            } else if node == Node::Stn(end) {
                1.0
            } else {
                0.0
            };
            pb.add_row(rhs..=rhs, &row);
        }
        // Exactly one break (when one is owed).
        if unit.break_slots > 0 {
            let row: Vec<(highs::Col, f64)> = arcs
                .iter()
                .enumerate()
                .filter(|(_, a)| a.act == Act::Break)
                .map(|(a, _)| (cols[u][a], 1.0))
                .collect();
            pb.add_row(1.0..=1.0, &row);
        }
        // Revisit rule: at most one visit of unit u to zone z in any `gap` consecutive slots.
        if rules.revisit && m.gap >= 2 {
            for z in 0..nz {
                for t0 in first..end {
                    let row: Vec<(highs::Col, f64)> = (t0..(t0 + m.gap).min(end))
                        .flat_map(|t| visits[u][t * nz + z].iter().map(|&c| (c, 1.0)))
                        .collect();
                    if row.len() >= 2 {
                        pb.add_row(..=1.0, &row);
                    }
                }
            }
        }
    }
    let (columns, rows) = (pb.num_cols(), pb.num_rows());
    // The starting plan as a point of the programme.
    let mut x0 = None;
    if let Some(start) = start {
        if start.len() != m.units.len() {
            return Err(format!("{} rows for {} units", start.len(), m.units.len()));
        }
        let mut x = vec![0.0; columns];
        let mut count = vec![0usize; nz * ns];
        for (u, unit) in m.units.iter().enumerate() {
            let who = |e: String| format!("unit {}: {e}", unit.callsign);
            if per_unit[u].is_empty() {
                continue;
            }
            let path = row_arcs(m, unit, &per_unit[u], &start[u]).map_err(who)?;
            let mut breaks = 0;
            let mut last = vec![None; nz];
            for &a in &path {
                x[cols[u][a].index()] = 1.0;
                let arc = per_unit[u][a];
                match arc.act {
                    Act::Break => breaks += 1,
                    Act::Visit(z) => {
                        let t = arc.from.t();
                        if let Some(l) = last[z]
                            && rules.revisit
                            && t - l < m.gap
                        {
                            return Err(who(format!(
                                "revisits {} after {} slots",
                                m.zones[z].id,
                                t - l
                            )));
                        }
                        last[z] = Some(t);
                        count[t * nz + z] += 1;
                    }
                    _ => {}
                }
            }
            if breaks != usize::from(unit.break_slots > 0) {
                return Err(who(format!("{breaks} breaks")));
            }
        }
        for (z, t, ks) in &presence {
            for k in ks.iter().take(count[t * nz + z]) {
                x[k.index()] = 1.0;
            }
        }
        x0 = Some(x);
    }
    let mut model = pb.optimise(Sense::Maximise);
    if let Some(x) = &x0 {
        model.set_solution(Some(x), None, None, None);
    }
    // ROTA_MIP_LOG=1 shows HiGHS's log.
    if std::env::var_os("ROTA_MIP_LOG").is_some() {
        model.set_option("output_flag", true);
        model.set_option("log_to_console", true);
    } else {
        model.make_quiet();
    }
    // ROTA_MIP_OPTIONS="name=value,..." passes more HiGHS options (e.g. mip_lp_solver=ipm).
    for opt in std::env::var("ROTA_MIP_OPTIONS")
        .unwrap_or_default()
        .split(',')
    {
        if let Some((k, v)) = opt.split_once('=') {
            let ok = v
                .parse::<i32>()
                .is_ok_and(|n| model.try_set_option(k, n).is_ok())
                || v.parse::<f64>()
                    .is_ok_and(|x| model.try_set_option(k, x).is_ok())
                || v.parse::<bool>()
                    .is_ok_and(|b| model.try_set_option(k, b).is_ok())
                || model.try_set_option(k, v).is_ok();
            assert!(ok, "ROTA_MIP_OPTIONS: HiGHS refuses {k}={v}");
        }
    }
    model.set_option("threads", 1);
    model.set_option("time_limit", time_limit);
    model.set_option("mip_rel_gap", 0.0);
    model.set_option("mip_abs_gap", 1e-9);
    model.set_option("random_seed", 0);
    let solved = model.solve();
    let status = solved.status();
    let optimal = status == HighsModelStatus::Optimal;
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .unwrap_or(f64::INFINITY);
    let found = solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible;
    let mut assignments = Vec::new();
    let mut objective = None;
    if found {
        let x = solved.get_solution().columns().to_vec();
        objective = Some(solved.objective_value());
        for (u, unit) in m.units.iter().enumerate() {
            let mut row = vec![json!({"off": true}); ns];
            let chosen: Vec<&Arc> = per_unit[u]
                .iter()
                .enumerate()
                .filter(|&(a, _)| x[cols[u][a].index()] > 0.5)
                .map(|(_, arc)| arc)
                .collect();
            let mut at = Node::Stn(unit.shift.0);
            while let Some(arc) = chosen.iter().find(|a| a.from == at) {
                let id = |z: usize| json!(m.zones[z].id);
                let place = |p: Option<usize>| p.map_or(Value::Null, id);
                let a = match arc.act {
                    Act::Off => json!({"off": true}),
                    Act::Break => json!({"break": true}),
                    Act::Visit(z) => json!({"zone": id(z)}),
                    Act::Walk(f, t) => json!({"travel": {"from": place(f), "to": place(t)}}),
                };
                for slot in &mut row[arc.from.t()..arc.to.t()] {
                    *slot = a.clone();
                }
                at = arc.to;
            }
            assignments.push(row);
        }
    }
    let bound = if optimal {
        bound.max(objective.unwrap_or(bound))
    } else {
        bound
    };
    let value = objective.map(|_| m.objective_of(&assignments));
    Ok(Outcome {
        status: format!("{status:?}"),
        optimal,
        objective,
        value,
        bound,
        assignments,
        columns,
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}
