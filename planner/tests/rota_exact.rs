//! The rota's objective and bound checked against an exact solver (issue 15).
//!
//! Every instance goes through the plan JSON: the optimiser's plan is written in the shape
//! `firefly plan -o` writes (`params` with `revisit_gap_slots`, `zones[].risk`,
//! `units[].shift_slots` and `break`, `slots`, `assignments`, `objective`, `bound`, and the
//! projected centres under `problem`), and the mixed-integer programme of
//! docs/rota-model.md is built from that JSON alone (`common/rota_mip.rs`, no planner
//! type) and solved to optimality by HiGHS. Each instance must satisfy
//!
//!   plan objective <= optimum <= plan bound   (to 1e-6)
//!
//! and the solver's optimal itineraries must pass the planner's own `validate`, with the
//! objective the solver reports. The check can fail either way: a programme looser than the
//! planner's rules would give an optimum above a correct bound (or itineraries `validate`
//! rejects), a tighter one an optimum below the plan's objective. The programme without
//! the revisit rule (the "rebuilt without it") shows the rule matters: its optimum
//! exceeds the plan's bound.
//!
//! Instances: 24 generated ones (fixed seeds; 2 to 4 units, 3 to 8 zones, 8 to 24 slots,
//! pairs, breaks, walks of up to 4 slots, revisit gaps 1 to 5) and the demo night with 3
//! units and 8 zones (`data/rota_demo_3x8.json`, written by the HEAD `firefly plan`; the
//! command is in `data/rota_demo_3x8.md`). Print the table with `-- --nocapture`.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/rota_mip.rs"]
mod rota_mip;

use jiff::civil::{date, time};
use planner::rota::{
    Plan, PlanParams, PlanUnit, PlanZone, Problem, night_slots, optimise, validate,
};
use rota_mip::{Model, Outcome, Rules, solve};
use serde_json::{Value, json};

const TOL: f64 = 1e-6;
/// HiGHS time limit per solve with every rule (the instances here take well under a
/// second), and without the revisit rule (where only a good plan is needed).
const TIME_LIMIT: f64 = 30.0;
const LOOSE_TIME_LIMIT: f64 = 10.0;

/// SplitMix64: a fixed, dependency-free stream for the instance generator.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// 0..n
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

/// A generated night: `n_slots` slots from 20:00 on a Friday in June.
fn generated(seed: u64) -> Problem {
    let mut g = Gen(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5EED);
    let n_units = g.range(2, 4);
    let n_zones = g.range(3, 8);
    let n_slots = g.range(8, 24);
    let end = 20 * 60 + 15 * n_slots;
    let slots = night_slots(
        date(2024, 6, 7),
        &planner::time::london(),
        time(20, 0, 0, 0),
        time(((end / 60) % 24) as i8, (end % 60) as i8, 0, 0),
        15,
    )
    .unwrap();
    assert_eq!(slots.len(), n_slots);
    // A town centre of `side` metres: 865 m is one slot of walking at 4.5 km/h x 1.3.
    let side = [500.0, 1200.0, 2000.0, 3000.0][g.below(4)];
    let zones: Vec<PlanZone> = (0..n_zones)
        .map(|z| {
            let base = 0.5 + 3.0 * g.f64();
            let peak = g.below(n_slots);
            let risk = (0..n_slots)
                .map(|t| {
                    if g.below(6) == 0 {
                        0.0
                    } else {
                        let near = 1.0 / (1.0 + (t as f64 - peak as f64).abs() / 3.0);
                        (base * (0.3 + near + 0.4 * g.f64()) * 1000.0).round() / 1000.0
                    }
                })
                .collect();
            PlanZone {
                id: format!("Z{z}"),
                name: format!("zone {z}"),
                x: 500_000.0 + side * g.f64(),
                y: 220_000.0 + side * g.f64(),
                risk,
            }
        })
        .collect();
    let stations = [
        (500_000.0 - 300.0 * g.f64(), 220_000.0 - 400.0 * g.f64()),
        (
            500_000.0 + side + 500.0 * g.f64(),
            220_000.0 + side * g.f64(),
        ),
    ];
    let units: Vec<PlanUnit> = (0..n_units)
        .map(|u| {
            let (a, e) = if g.below(2) == 0 {
                (0, n_slots)
            } else {
                let a = g.below(n_slots / 4 + 1);
                (a, (n_slots - g.below(n_slots / 4 + 1)).max(a + 6))
            };
            let b = g.range(0, 2).min(e - a - 1);
            // The first unit is a pair; the others are pairs or single officers.
            let size = if u == 0 { 2 } else { 1 + g.below(2) as u8 };
            PlanUnit::new(&format!("U{u}"), size, (a, e), stations[g.below(2)], b)
        })
        .collect();
    let params = PlanParams {
        revisit_gap: [4, 4, 4, 4, 2, 3, 5, 1][g.below(8)],
        second_unit_factor: [0.5, 0.5, 0.5, 0.3, 0.8, 1.0][g.below(6)],
        seed,
        ..PlanParams::default()
    };
    Problem::new(slots, zones, units, params).unwrap()
}

/// The plan JSON as `firefly plan -o` writes it (api/src/commands/plan.rs, `plan_json`),
/// without the map-only members (polygons, venues, lon/lat).
fn plan_json(problem: &Problem, plan: &Plan) -> Value {
    let mut v = serde_json::to_value(plan).unwrap();
    let p = problem.params();
    v["params"] = json!({
        "slot_minutes": p.slot_minutes, "walking_speed_kmh": p.walking_speed_kmh,
        "detour": p.detour, "second_unit_factor": p.second_unit_factor, "seed": p.seed,
        "revisit_gap_slots": p.revisit_gap,
    });
    v["zones"] = problem
        .zones()
        .iter()
        .map(|z| json!({"id": z.id, "name": z.name, "risk": z.risk}))
        .collect();
    v["units"] = problem
        .units()
        .iter()
        .map(|u| {
            json!({
                "callsign": u.callsign, "size": u.size, "shift_slots": [u.shift.0, u.shift.1],
                "break": {"slots": u.break_slots, "window_slots": [u.break_window.0, u.break_window.1]},
            })
        })
        .collect();
    v["problem"] = json!({
        "crs": "EPSG:27700", "frozen_until": problem.frozen_until(), "slots": problem.slots(),
        "zones": problem.zones(), "units": problem.units(), "params": p,
    });
    v
}

/// The problem a plan JSON was made for, read back as `firefly` does (`problem` member).
fn problem_of(v: &Value) -> Problem {
    let p = &v["problem"];
    fn take<T: serde::de::DeserializeOwned>(p: &Value, name: &str) -> T {
        serde_json::from_value(p[name].clone()).unwrap()
    }
    Problem::new(
        take(p, "slots"),
        take(p, "zones"),
        take(p, "units"),
        take(p, "params"),
    )
    .unwrap()
}

/// What one instance gave.
struct Checked {
    name: String,
    method: String,
    objective: f64,
    bound: f64,
    optimum: f64,
    /// The best plan HiGHS found without the revisit rule (optimal, or the best within
    /// its time limit: a lower bound on that optimum).
    without_revisit: f64,
    /// Seconds: the planner's optimiser, HiGHS with every rule, HiGHS without the rule.
    seconds: (f64, f64, f64),
}

/// Solves the programme of plan JSON `v` with and without the revisit rule and checks
/// objective <= optimum <= bound, and the solver's itineraries against the planner.
fn check(name: &str, v: &Value) -> Checked {
    let model = Model::from_plan_json(v).unwrap();
    assert_eq!(
        model.near_ties(1e-6),
        0,
        "{name}: a walk within rounding of a slot"
    );
    let objective = v["objective"].as_f64().unwrap();
    let bound = v["bound"].as_f64().unwrap();
    let plan_rows: Vec<Vec<Value>> = serde_json::from_value(v["assignments"].clone()).unwrap();
    let recomputed = model.objective_of(&plan_rows);
    assert!(
        (recomputed - objective).abs() <= TOL * objective.max(1.0),
        "{name}: the plan's objective {objective} is not its assignments' {recomputed}"
    );

    // The plan is a point of the programme (so the programme is not tighter than the
    // planner's rules, for this plan) and HiGHS's first solution.
    let exact: Outcome = solve(&model, Rules::ALL, TIME_LIMIT, Some(&plan_rows))
        .unwrap_or_else(|e| panic!("{name}: the plan is not a point of the programme: {e}"));
    assert!(exact.optimal, "{name}: HiGHS {}", exact.status);
    let optimum = exact.objective.unwrap();
    assert!(
        objective <= exact.bound + TOL,
        "{name}: plan objective {objective} above the optimum {optimum}: the programme is \
         tighter than the planner's rules"
    );
    assert!(
        optimum <= bound + TOL,
        "{name}: optimum {optimum} above the plan's bound {bound}: the bound is wrong \
         (or the programme looser than the rules)"
    );
    // The optimum's itineraries are a valid plan with the value HiGHS reports.
    let problem = problem_of(v);
    let mut optimal_plan = v.clone();
    optimal_plan["assignments"] = json!(exact.assignments);
    let optimal_plan: Plan = serde_json::from_value(optimal_plan).unwrap();
    let broken = validate(&problem, &optimal_plan);
    assert!(broken.is_empty(), "{name}: solver's plan breaks {broken:?}");
    let value = planner::rota::objective(&problem, &optimal_plan.assignments);
    assert!(
        (value - optimum).abs() <= TOL * optimum.max(1.0),
        "{name}: solver says {optimum}, its itineraries are worth {value}"
    );
    assert!((model.objective_of(&exact.assignments) - value).abs() <= TOL * value.max(1.0));
    if v["bound_method"] == "exact" {
        assert!(
            (optimum - objective).abs() <= TOL * optimum.max(1.0),
            "{name}: the planner's exact search found {objective}, the optimum is {optimum}"
        );
    }

    // The deliberately wrong programme: without the revisit rule. A relaxation, so its
    // optimum is at least the true one; where it is higher its itineraries break the rule.
    // It has many more optimal plans (staying is allowed), so HiGHS may take longer to
    // prove one: its best plan within the limit is enough to show the rule matters.
    let loose = solve(
        &model,
        Rules::WITHOUT_REVISIT,
        LOOSE_TIME_LIMIT,
        Some(&plan_rows),
    )
    .unwrap();
    let without_revisit = loose.objective.unwrap();
    if loose.optimal {
        assert!(
            without_revisit >= optimum - TOL,
            "{name}: the relaxation is below the optimum"
        );
    }
    if without_revisit > optimum + TOL {
        let mut loose_plan = v.clone();
        loose_plan["assignments"] = json!(loose.assignments);
        let loose_plan: Plan = serde_json::from_value(loose_plan).unwrap();
        let broken = validate(&problem, &loose_plan);
        assert!(
            broken
                .iter()
                .any(|b| matches!(b.kind, planner::rota::ViolationKind::Revisit { .. })),
            "{name}: a better plan without the rule must break it: {broken:?}"
        );
    }
    Checked {
        name: name.to_string(),
        method: v["bound_method"].as_str().unwrap_or("?").to_string(),
        objective,
        bound,
        optimum,
        without_revisit,
        seconds: (0.0, exact.seconds, loose.seconds),
    }
}

fn print_table(rows: &[Checked]) {
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>10} {:>12} {:>22}",
        "instance",
        "method",
        "objective",
        "optimum",
        "bound",
        "no revisit",
        "seconds (plan, HiGHS)"
    );
    for r in rows {
        println!(
            "{:<34} {:>10} {:>10.4} {:>10.4} {:>10.4} {:>12.4} {:>8.2} {:>6.2} {:>6.2}",
            r.name,
            r.method,
            r.objective,
            r.optimum,
            r.bound,
            r.without_revisit,
            r.seconds.0,
            r.seconds.1,
            r.seconds.2
        );
    }
}

#[test]
fn generated_plans_lie_between_objective_and_bound() {
    let mut rows = Vec::new();
    for seed in 1..=24u64 {
        let problem = generated(seed);
        let started = std::time::Instant::now();
        let plan = optimise(&problem);
        let planned = started.elapsed().as_secs_f64();
        assert!(validate(&problem, &plan).is_empty());
        let v = plan_json(&problem, &plan);
        let p = problem.params();
        let name = format!(
            "seed {seed}: {}u {}z {}s gap {} d {}",
            problem.units().len(),
            problem.zones().len(),
            problem.n_slots(),
            p.revisit_gap,
            p.second_unit_factor
        );
        let mut r = check(&name, &v);
        r.seconds.0 = planned;
        rows.push(r);
    }
    print_table(&rows);
    // Both kinds of bound were checked, and the revisit rule changes the optimum: without
    // it some plans would beat the bound the planner proves for the model with it.
    assert!(rows.iter().any(|r| r.method == "exact"));
    assert!(rows.iter().filter(|r| r.method == "lagrangian").count() >= 10);
    let above = rows
        .iter()
        .filter(|r| r.without_revisit > r.bound + TOL)
        .count();
    assert!(
        above >= 5,
        "only {above} instances gain from dropping the rule"
    );
}

#[test]
fn demo_night_with_three_units_and_eight_zones() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/rota_demo_3x8.json"
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let model = Model::from_plan_json(&v).unwrap();
    assert_eq!((model.units.len(), model.zones.len()), (3, 8));
    assert_eq!(model.gap, 4);
    let r = check("demo night 3 units, 8 zones", &v);
    print_table(std::slice::from_ref(&r));
    // The point: without the rule, plans beat the bound by far (HiGHS proves an
    // optimum of 2.457 in under a minute, 1.7 times the bound of 1.439; the best plan it
    // finds within the limit here is enough).
    assert!(r.without_revisit > r.bound + 0.1, "{}", r.without_revisit);
}
