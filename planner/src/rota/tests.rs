//! Tests of the rota as a whole: hand-checked objective and violations, property tests on
//! random instances, the optimiser against a brute-force optimum, the gap on a medium
//! instance, and re-plans.

use super::route::UnitModel;
use super::*;
use crate::rota::rng::Rng;
use Assignment::{Break, Off, Travel, Zone};
use jiff::civil::{date, time};
use proptest::prelude::*;
use std::collections::HashMap;

/// `n` quarter-hour slots from 18:00 on Friday 7 June 2024.
fn slots(n: usize) -> Vec<Slot> {
    let end = (18 * 60 + 15 * n) % (24 * 60);
    let s = night_slots(
        date(2024, 6, 7),
        &crate::time::london(),
        time(18, 0, 0, 0),
        time((end / 60) as i8, (end % 60) as i8, 0, 0),
        15,
    )
    .unwrap();
    assert_eq!(s.len(), n);
    s
}

fn zone(id: &str, x: f64, y: f64, risk: Vec<f64>) -> PlanZone {
    PlanZone {
        id: id.into(),
        name: format!("zone {id}"),
        x,
        y,
        risk,
    }
}

/// A normal deviate (Box-Muller) from the crate's generator.
fn normal(r: &mut Rng) -> f64 {
    let u1 = r.next_f64().max(1e-12);
    let u2 = r.next_f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A town-centre night: zones within `side` metres, lognormal weights, risk peaking
/// between 22:30 and 02:00; two stations a kilometre or so out; units on four common
/// shift patterns with a 45-minute break.
fn town(n_units: usize, n_zones: usize, n_slots: usize, side: f64, seed: u64) -> Problem {
    let mut r = Rng::stream(seed, 99);
    let zones = (0..n_zones)
        .map(|z| {
            let weight = (0.8 * normal(&mut r)).exp();
            let peak = 18.0 + 14.0 * r.next_f64();
            let width = 4.0 + 6.0 * r.next_f64();
            let risk = (0..n_slots)
                .map(|t| {
                    let x = (t as f64 - peak) / width;
                    let noise = 1.0 + 0.2 * (r.next_f64() - 0.5);
                    weight * (0.15 + (-0.5 * x * x).exp()) * noise
                })
                .collect();
            zone(
                &format!("z{z}"),
                side * r.next_f64(),
                side * r.next_f64(),
                risk,
            )
        })
        .collect();
    let stations = [(-900.0, side / 2.0), (side + 600.0, side + 400.0)];
    let patterns = [(0, 32), (8, 40), (16, 48), (4, 36)];
    let units = (0..n_units)
        .map(|u| {
            let (a, e) = patterns[u % patterns.len()];
            let shift = (a.min(n_slots), e.min(n_slots));
            PlanUnit::new(
                &format!("U{u}"),
                1 + (u % 2) as u8,
                shift,
                stations[u % 2],
                3,
            )
        })
        .collect();
    Problem::new(slots(n_slots), zones, units, PlanParams::default()).unwrap()
}

// ---------------------------------------------------------------------------------------
// Objective and validation by hand.

/// Two zones 500 m apart (one walking slot); a station 500 m from both.
fn two_zone_problem(n_slots: usize, units: Vec<PlanUnit>, params: PlanParams) -> Problem {
    let zones = vec![
        zone(
            "a",
            0.0,
            0.0,
            (0..n_slots).map(|t| 1.0 + t as f64).collect(),
        ),
        zone("b", 500.0, 0.0, vec![10.0; n_slots]),
    ];
    Problem::new(slots(n_slots), zones, units, params).unwrap()
}

#[test]
fn objective_by_hand_with_two_units() {
    let units = vec![
        PlanUnit::new("A", 1, (0, 6), (250.0, 400.0), 0),
        PlanUnit::new("B", 2, (0, 6), (250.0, 400.0), 0),
    ];
    let p = two_zone_problem(6, units, PlanParams::default());
    let rows = vec![
        vec![
            Travel {
                from: None,
                to: Some(0),
            },
            Zone(0),
            Travel {
                from: Some(0),
                to: Some(1),
            },
            Zone(1),
            Travel {
                from: Some(1),
                to: None,
            },
            Off,
        ],
        vec![
            Travel {
                from: None,
                to: Some(1),
            },
            Travel {
                from: Some(1),
                to: Some(0),
            },
            Off,
            Zone(1),
            Travel {
                from: Some(1),
                to: None,
            },
            Off,
        ],
    ];
    // Slot 1: zone a alone, risk 2. Slot 3: both in b, 10 x (1 + 0.5) = 15.
    assert_eq!(objective(&p, &rows), 2.0 + 15.0);
    // d = 1 counts every unit fully, d = 0 only the first.
    let q = |d: f64| PlanParams {
        second_unit_factor: d,
        ..PlanParams::default()
    };
    let p1 = two_zone_problem(6, p.units().to_vec(), q(1.0));
    assert_eq!(objective(&p1, &rows), 22.0);
    let p0 = two_zone_problem(6, p.units().to_vec(), q(0.0));
    assert_eq!(objective(&p0, &rows), 12.0);
    // Three units: 1 + 0.5 + 0.25.
    assert_eq!(presence_value(3, 0.5), 1.75);
    // The second row breaks rules: passes through b, is off away from the station.
    let v = validate_assignments(&p, &rows);
    assert!(v.iter().all(|v| v.unit == Some(1)), "{v:?}");
    assert!(
        v.iter()
            .any(|v| matches!(v.kind, ViolationKind::PassedThrough { zone: 1 })),
        "{v:?}"
    );
    assert!(v.iter().any(|v| v.kind == ViolationKind::OffAway), "{v:?}");
}

#[test]
fn validate_names_every_broken_rule() {
    let unit = PlanUnit {
        break_window: (2, 8),
        ..PlanUnit::new("A", 1, (1, 9), (250.0, 400.0), 2)
    };
    let p = two_zone_problem(10, vec![unit], PlanParams::default());
    let out = |to| Travel { from: None, to };
    let walk = |from, to| Travel { from, to };
    let good = vec![
        Off,
        out(Some(0)),
        Zone(0),
        Break,
        Break,
        walk(Some(0), Some(1)),
        Zone(1),
        walk(Some(1), None),
        Off,
        Off,
    ];
    assert_eq!(
        validate_assignments(&p, std::slice::from_ref(&good)),
        vec![]
    );
    let kinds = |row: Vec<Assignment>| -> Vec<ViolationKind> {
        validate_assignments(&p, &[row])
            .into_iter()
            .map(|v| v.kind)
            .collect()
    };
    let with = |t: usize, a: Assignment| {
        let mut r = good.clone();
        r[t] = a;
        r
    };
    assert!(kinds(with(0, Zone(0))).contains(&ViolationKind::OutsideShift));
    assert!(kinds(with(9, Break)).contains(&ViolationKind::OutsideShift));
    assert!(kinds(with(6, Zone(0))).contains(&ViolationKind::NotThere { zone: 0 }));
    assert!(kinds(with(5, walk(Some(1), Some(0)))).contains(&ViolationKind::WrongTravel));
    assert!(kinds(with(8, Zone(1))).contains(&ViolationKind::NotBack));
    assert!(
        kinds(with(4, Zone(0))).contains(&ViolationKind::BreakLength {
            expected: 2,
            got: 1
        })
    );
    assert!(kinds(with(8, Break)).contains(&ViolationKind::BreakCount { runs: 2 }));
    assert!(kinds(vec![Off; 10]).contains(&ViolationKind::BreakCount { runs: 0 }));
    // Break too late for its window [2, 8).
    let late = vec![
        Off,
        out(Some(0)),
        Zone(0),
        walk(Some(0), Some(1)),
        Zone(1),
        walk(Some(1), None),
        Off,
        Break,
        Break,
        Off,
    ];
    assert!(kinds(late).contains(&ViolationKind::BreakOutsideWindow));
    // Koper spacing: a, break, a is 3 slots apart, under the default 4.
    let soon = vec![
        Off,
        out(Some(0)),
        Zone(0),
        Break,
        Break,
        Zone(0),
        walk(Some(0), None),
        Off,
        Off,
        Off,
    ];
    assert!(kinds(soon).contains(&ViolationKind::Revisit { zone: 0, after: 3 }));
    // A walk of two slots (station to a zone 1.2 km away) cut short.
    let far = zone("c", 250.0, 1600.0, vec![1.0; 10]);
    let mut zones = p.zones().to_vec();
    zones.push(far);
    let p3 = Problem::new(
        p.slots().to_vec(),
        zones,
        p.units().to_vec(),
        PlanParams::default(),
    )
    .unwrap();
    assert_eq!(p3.walk(0, None, Some(2)), 2);
    let cut = vec![
        Off,
        out(Some(2)),
        Zone(2),
        Off,
        Off,
        Off,
        Off,
        Off,
        Off,
        Off,
    ];
    let v: Vec<ViolationKind> = validate_assignments(&p3, &[cut])
        .into_iter()
        .map(|v| v.kind)
        .collect();
    assert!(
        v.contains(&ViolationKind::TravelCut {
            expected: 2,
            got: 1
        }),
        "{v:?}"
    );
    // Shape.
    assert!(matches!(
        validate_assignments(&p, &[]).first().map(|v| &v.kind),
        Some(ViolationKind::Shape(_))
    ));
    // Messages name the unit and slot.
    let v = validate_assignments(&p, &[with(6, Zone(0))]);
    assert_eq!(
        v[0].to_string(),
        "unit 0, slot 6: visits zone 0 without being there"
    );
}

#[test]
fn a_single_unit_alternates_two_zones_with_koper_spacing() {
    // Slots 0..12, zones a (rising risk) and b (10), one slot apart, station one slot out.
    let units = vec![PlanUnit::new("A", 1, (0, 12), (250.0, 400.0), 0)];
    let p = two_zone_problem(12, units.clone(), PlanParams::default());
    let plan = optimise(&p);
    assert!(validate(&p, &plan).is_empty());
    assert_eq!(plan.bound_method, BoundMethod::Exact);
    // Five visits, one every other slot (out one slot, back one slot, a walk between).
    let visits: Vec<usize> = plan.assignments[0]
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a, Zone(_)))
        .map(|(t, _)| t)
        .collect();
    assert_eq!(visits.len(), 5, "{:?}", plan.assignments[0]);
    assert!(visits.windows(2).all(|w| w[1] - w[0] == 2), "{visits:?}");
    // b, a, b, a, b from slot 2 (a's risk is 1 + t): 3 x 10 + 5 + 9 beats a, b, a, b, a.
    assert_eq!(plan.objective, 44.0, "{:?}", plan.assignments[0]);
    // With revisit_gap 1 the unit may stay: it sits in b, then a when a passes 10.
    let stay = PlanParams {
        revisit_gap: 1,
        ..PlanParams::default()
    };
    let p1 = two_zone_problem(12, units, stay);
    let plan1 = optimise(&p1);
    assert!(validate(&p1, &plan1).is_empty());
    assert!(plan1.objective > plan.objective);
}

// ---------------------------------------------------------------------------------------
// Independent invariant checks and random instances.

/// The invariants of the issue, checked without `validate`.
fn check_invariants(p: &Problem, plan: &Plan) {
    let ns = p.n_slots();
    assert_eq!(plan.assignments.len(), p.units().len());
    for (u, row) in plan.assignments.iter().enumerate() {
        let unit = &p.units()[u];
        let stop = unit.left_at.map_or(unit.shift.1, |l| l.min(unit.shift.1));
        // Every slot accounted for: exactly one assignment per slot.
        assert_eq!(row.len(), ns);
        for (t, a) in row.iter().enumerate() {
            if t < unit.shift.0 || t >= stop {
                assert_eq!(*a, Off, "unit {u} slot {t}: off outside the shift");
            }
        }
        // Travel runs: exactly the walking slots, followed by the destination.
        // (A unit that dropped out may stop anywhere: check up to the slot it left.)
        let mut t = 0;
        let mut pos: Option<usize> = None;
        while t < stop {
            match row[t] {
                Travel { from, to } => {
                    assert_eq!(from, pos, "unit {u} slot {t}: walk starts where it is");
                    let len = p.walk(u, from, to);
                    assert!(len >= 1);
                    for k in 0..len.min(stop - t) {
                        assert_eq!(row[t + k], Travel { from, to }, "unit {u} slot {}", t + k);
                    }
                    t += len;
                    pos = to;
                    if let Some(z) = to
                        && t < stop
                    {
                        let next = row[t..stop].iter().find(|a| **a != Break);
                        assert!(
                            next.is_none_or(|a| *a == Zone(z)),
                            "unit {u}: walk to {z} ends in a visit"
                        );
                    }
                }
                Zone(z) => {
                    assert_eq!(pos, Some(z), "unit {u} slot {t}: in the zone it walked to");
                    t += 1;
                }
                Off => {
                    assert_eq!(pos, None, "unit {u} slot {t}: off only at the station");
                    t += 1;
                }
                Break => t += 1,
            }
        }
        if unit.left_at.is_none() {
            assert_eq!(pos, None, "unit {u} ends at its station");
        }
        // Exactly one break run of the right length inside the window.
        let runs: Vec<(usize, usize)> = row
            .iter()
            .enumerate()
            .filter(|(t, a)| **a == Break && (*t == 0 || row[t - 1] != Break))
            .map(|(t, _)| (t, row[t..].iter().take_while(|a| **a == Break).count()))
            .collect();
        if unit.left_at.is_none() {
            if unit.break_slots == 0 {
                assert!(runs.is_empty());
            } else {
                assert_eq!(runs.len(), 1, "unit {u}: one break");
                let (s, len) = runs[0];
                assert_eq!(len, unit.break_slots);
                assert!(s >= unit.break_window.0 && s + len <= unit.break_window.1);
            }
        }
        // Koper spacing.
        let mut last: HashMap<usize, usize> = HashMap::new();
        for (t, a) in row.iter().enumerate() {
            if let Zone(z) = *a
                && let Some(l) = last.insert(z, t)
            {
                assert!(t - l >= p.params().revisit_gap, "unit {u}: revisit of {z}");
            }
        }
    }
}

/// A random small instance.
fn random_problem(
    seed: u64,
    n_units: usize,
    n_zones: usize,
    n_slots: usize,
    gap: usize,
    d: f64,
    side: f64,
) -> Problem {
    let mut r = Rng::stream(seed, 5);
    let zones = (0..n_zones)
        .map(|z| {
            let risk = (0..n_slots)
                .map(|_| (10.0 * r.next_f64()).round())
                .collect();
            zone(
                &format!("z{z}"),
                side * r.next_f64(),
                side * r.next_f64(),
                risk,
            )
        })
        .collect();
    let units = (0..n_units)
        .map(|u| {
            let a = r.below(n_slots / 3 + 1);
            let e = (n_slots - r.below(n_slots / 3 + 1)).max(a + 1);
            let b = r.below(3).min(e - a - 1);
            let start = (side * r.next_f64(), -300.0 * r.next_f64());
            PlanUnit::new(&format!("U{u}"), 1, (a, e), start, b)
        })
        .collect();
    let params = PlanParams {
        revisit_gap: gap,
        second_unit_factor: d,
        seed,
        ..PlanParams::default()
    };
    Problem::new(slots(n_slots), zones, units, params).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_every_hard_constraint(
        seed in any::<u64>(),
        n_units in 1usize..7,
        n_zones in 1usize..8,
        n_slots in 4usize..28,
        gap in 1usize..6,
        d in prop::sample::select(vec![0.0, 0.5, 1.0]),
        side in prop::sample::select(vec![300.0, 1500.0, 3000.0]),
    ) {
        let p = random_problem(seed, n_units, n_zones, n_slots, gap, d, side);
        let plan = optimise(&p);
        prop_assert_eq!(validate(&p, &plan), vec![]);
        check_invariants(&p, &plan);
        prop_assert_eq!(plan.objective, objective(&p, &plan.assignments));
        prop_assert!(plan.bound.is_finite() && plan.bound >= plan.objective - 1e-9);
        prop_assert!((0.0..=1.0).contains(&plan.gap));
        prop_assert!((plan.gap - Plan::gap_of(plan.objective, plan.bound)).abs() < 1e-12);
        // Same seed, same plan.
        prop_assert_eq!(&optimise(&p), &plan);
    }

    #[test]
    fn replans_keep_the_past_and_every_constraint(
        seed in any::<u64>(),
        n_units in 2usize..6,
        n_zones in 1usize..6,
        n_slots in 6usize..24,
        cut in 0.0f64..1.0,
        join in any::<bool>(),
    ) {
        let p = random_problem(seed, n_units, n_zones, n_slots, 4, 0.5, 1500.0);
        let plan = optimise(&p);
        let from = (cut * n_slots as f64) as usize;
        let change = if join {
            Change::Join {
                unit: PlanUnit::new("NEW", 2, (0, n_slots), (100.0, -100.0), 0),
                from_slot: from,
            }
        } else {
            Change::DropOut { unit: seed as usize % n_units, from_slot: from }
        };
        let Ok(r) = replan(&p, &plan, change) else {
            // Only a join with nothing left of its shift is refused.
            prop_assert!(join && from + 1 >= n_slots);
            return Ok(());
        };
        prop_assert_eq!(validate(&r.problem, &r.plan), vec![]);
        check_invariants(&r.problem, &r.plan);
        for (u, row) in plan.assignments.iter().enumerate() {
            prop_assert_eq!(&r.plan.assignments[u][..from], &row[..from]);
        }
        prop_assert!(r.changes.iter().all(|c| c.slot >= from));
        prop_assert!(r.plan.bound >= r.plan.objective - 1e-9);
    }
}

#[test]
fn dst_nights_plan_on_44_and_52_slots() {
    for (d, n) in [(date(2024, 3, 30), 44), (date(2024, 10, 26), 52)] {
        let s = night_slots(
            d,
            &crate::time::london(),
            time(18, 0, 0, 0),
            time(6, 0, 0, 0),
            15,
        )
        .unwrap();
        assert_eq!(s.len(), n);
        let zones = (0..4)
            .map(|z| {
                zone(
                    &format!("z{z}"),
                    400.0 * z as f64,
                    0.0,
                    vec![1.0 + z as f64; n],
                )
            })
            .collect();
        let units = vec![
            PlanUnit::new("A", 1, (0, n), (0.0, -500.0), 3),
            PlanUnit::new("B", 1, (8, n - 4), (600.0, -500.0), 3),
        ];
        let p = Problem::new(s, zones, units, PlanParams::default()).unwrap();
        let plan = optimise(&p);
        assert!(validate(&p, &plan).is_empty());
        assert_eq!(plan.assignments[0].len(), n);
        assert_eq!(plan.slots.len(), n);
    }
}

// ---------------------------------------------------------------------------------------
// Brute force.

/// Every row of unit `u` that `validate` accepts, enumerated slot by slot (pruning only
/// prefixes that are certainly invalid: off away from the station, a visit elsewhere, a
/// walk not starting where the unit is or cut short).
fn all_rows(p: &Problem, u: usize) -> Vec<Vec<Assignment>> {
    let ns = p.n_slots();
    let nz = p.zones().len();
    let single = Problem::new(
        p.slots().to_vec(),
        p.zones().to_vec(),
        vec![p.units()[u].clone()],
        p.params().clone(),
    )
    .unwrap();
    let unit = &p.units()[u];
    let mut out = Vec::new();
    let mut row = Vec::new();
    #[allow(clippy::too_many_arguments)]
    fn go(
        single: &Problem,
        unit: &PlanUnit,
        nz: usize,
        ns: usize,
        pos: Option<usize>,
        trip: Option<(Option<usize>, Option<usize>, usize)>,
        row: &mut Vec<Assignment>,
        out: &mut Vec<Vec<Assignment>>,
    ) {
        let t = row.len();
        if t == ns {
            if validate_assignments(single, std::slice::from_ref(row)).is_empty() {
                out.push(row.clone());
            }
            return;
        }
        let mut options = Vec::new();
        if t < unit.shift.0 || t >= unit.shift.1 {
            options.push(Off);
        } else if let Some((from, to, _)) = trip {
            options.push(Travel { from, to });
        } else {
            if pos.is_none() {
                options.push(Off);
            }
            options.push(Break);
            if let Some(z) = pos {
                options.push(Zone(z));
            }
            for to in std::iter::once(None).chain((0..nz).map(Some)) {
                if to != pos {
                    options.push(Travel { from: pos, to });
                }
            }
        }
        for a in options {
            let (mut npos, mut ntrip) = (pos, trip);
            if let Travel { from, to } = a {
                let left = match trip {
                    Some((_, _, left)) => left,
                    None => single.walk(0, from, to),
                };
                if left <= 1 {
                    npos = to;
                    ntrip = None;
                } else {
                    ntrip = Some((from, to, left - 1));
                }
            }
            row.push(a);
            go(single, unit, nz, ns, npos, ntrip, row, out);
            row.pop();
        }
    }
    go(&single, unit, nz, ns, None, None, &mut row, &mut out);
    out
}

/// The best objective over every combination of valid rows.
fn brute_force(p: &Problem) -> f64 {
    let nz = p.zones().len();
    // Rows with the same visits are worth the same: keep one of each.
    let options: Vec<Vec<Vec<Assignment>>> = (0..p.units().len())
        .map(|u| {
            let mut seen = std::collections::HashSet::new();
            all_rows(p, u)
                .into_iter()
                .filter(|r| {
                    let visits: Vec<(usize, usize)> = r
                        .iter()
                        .enumerate()
                        .filter_map(|(t, a)| match a {
                            Zone(z) => Some((t, *z)),
                            _ => None,
                        })
                        .collect();
                    seen.insert(visits)
                })
                .collect()
        })
        .collect();
    assert!(options.iter().all(|o| !o.is_empty()));
    let _ = nz;
    let mut best = f64::NEG_INFINITY;
    let mut pick = vec![0usize; options.len()];
    loop {
        let rows: Vec<Vec<Assignment>> = pick
            .iter()
            .zip(&options)
            .map(|(&i, o)| o[i].clone())
            .collect();
        best = best.max(objective(p, &rows));
        let mut k = 0;
        while k < pick.len() {
            pick[k] += 1;
            if pick[k] < options[k].len() {
                break;
            }
            pick[k] = 0;
            k += 1;
        }
        if k == pick.len() {
            return best;
        }
    }
}

#[test]
fn optimise_equals_brute_force_on_tiny_instances() {
    let mut heuristic_hits = 0;
    let cases = 40;
    for seed in 0..cases {
        // 2 units x 3 zones x 6 slots, zones within a kilometre, varied spacing and d.
        let gap = [1, 2, 4][seed as usize % 3];
        let d = [0.5, 0.0, 1.0, 0.5][seed as usize % 4];
        let p = random_problem(seed, 2, 3, 6, gap, d, 1000.0);
        let best = brute_force(&p);
        let plan = optimise(&p);
        assert!(validate(&p, &plan).is_empty());
        assert!(
            (plan.objective - best).abs() < 1e-9,
            "seed {seed}: optimise {} brute force {best}",
            plan.objective
        );
        assert_eq!(plan.bound_method, BoundMethod::Exact);
        // The heuristic alone, and its Lagrangian bound, on the same instance.
        let models: Vec<UnitModel> = (0..2).map(|u| UnitModel::new(&p, u)).collect();
        let (rows, bound) = heuristic(&p, &models);
        let value = objective(&p, &rows);
        assert!(validate_assignments(&p, &rows).is_empty());
        assert!(value <= best + 1e-9);
        assert!(
            bound >= best - 1e-9,
            "seed {seed}: bound {bound} below the optimum {best}"
        );
        if (value - best).abs() < 1e-9 {
            heuristic_hits += 1;
        }
    }
    // The heuristic finds the optimum on (nearly) every tiny instance by itself.
    assert!(
        heuristic_hits >= cases - 2,
        "heuristic optimal on {heuristic_hits} of {cases}"
    );
}

#[test]
fn lagrangian_bound_holds_against_brute_force_with_three_units() {
    for seed in 100..112 {
        let p = random_problem(seed, 3, 2, 7, 2, 0.5, 800.0);
        let best = brute_force(&p);
        let models: Vec<UnitModel> = (0..3).map(|u| UnitModel::new(&p, u)).collect();
        let (_, bound) = heuristic(&p, &models);
        assert!(bound >= best - 1e-9, "seed {seed}: bound {bound} < {best}");
        let plan = optimise(&p);
        assert!((plan.objective - best).abs() < 1e-9, "seed {seed}");
    }
}

// ---------------------------------------------------------------------------------------
// Medium instance, seeds, JSON.

#[test]
fn medium_instance_gap_is_under_two_percent() {
    let p = town(12, 10, 48, 1500.0, 11);
    let plan = optimise(&p);
    assert!(validate(&p, &plan).is_empty());
    check_invariants(&p, &plan);
    eprintln!(
        "12 units x 10 zones x 48 slots: objective {:.3}, bound {:.3}, gap {:.3} %",
        plan.objective,
        plan.bound,
        100.0 * plan.gap
    );
    assert_eq!(plan.bound_method, BoundMethod::Lagrangian);
    assert!(plan.gap < 0.02, "gap {:.4}", plan.gap);
    // Every unit works: out of the station, visits, back.
    for row in &plan.assignments {
        assert!(row.iter().filter(|a| matches!(a, Zone(_))).count() > 5);
    }
}

#[test]
fn same_seed_same_plan_other_seed_other_plan() {
    let p = town(8, 8, 48, 1500.0, 3);
    let a = optimise(&p);
    let b = optimise(&p);
    assert_eq!(a, b);
    let mut params = p.params().clone();
    let mut differ = 0;
    for seed in 1..4 {
        params.seed = seed;
        let q = Problem::new(
            p.slots().to_vec(),
            p.zones().to_vec(),
            p.units().to_vec(),
            params.clone(),
        )
        .unwrap();
        let c = optimise(&q);
        assert!(validate(&q, &c).is_empty());
        assert!(c.gap < 0.03, "seed {seed}: gap {}", c.gap);
        if c.assignments != a.assignments {
            differ += 1;
        }
    }
    assert!(
        differ >= 2,
        "only {differ} of 3 other seeds changed the plan"
    );
}

#[test]
fn plan_json_has_the_contract_shape_and_reads_back() {
    let p = town(3, 4, 48, 1000.0, 5);
    let plan = optimise(&p);
    let json = serde_json::to_value(&plan).unwrap();
    let rows = json["assignments"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        for a in row.as_array().unwrap() {
            let obj = a.as_object().unwrap();
            assert_eq!(obj.len(), 1);
            let (k, v) = obj.iter().next().unwrap();
            match k.as_str() {
                "zone" => assert!(v.as_str().unwrap().starts_with('z')),
                "travel" => {
                    let t = v.as_object().unwrap();
                    assert!(t.contains_key("from") && t.contains_key("to"));
                }
                "break" | "off" => assert_eq!(v, &serde_json::Value::Bool(true)),
                other => panic!("unexpected key {other}"),
            }
        }
    }
    for key in [
        "objective",
        "bound",
        "gap",
        "slots",
        "zone_ids",
        "callsigns",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert!(
        json["slots"][0]["start_local"]
            .as_str()
            .unwrap()
            .contains("[Europe/London]"),
        "{}",
        json["slots"][0]
    );
    let back: Plan = serde_json::from_value(json).unwrap();
    assert_eq!(back, plan);
    let bad = r#"{"slots":[],"zone_ids":[],"callsigns":["A"],"assignments":[[{"zone":"x"}]],
        "objective":0,"bound":0,"gap":0,"bound_method":"exact","seed":0}"#;
    assert!(serde_json::from_str::<Plan>(bad).is_err());
}

// ---------------------------------------------------------------------------------------
// Re-plans.

#[test]
fn drop_out_keeps_the_past_and_changes_few_future_slots() {
    let p = town(12, 10, 48, 1500.0, 11);
    let plan = optimise(&p);
    let (gone, from) = (4, 20);
    let r = replan(
        &p,
        &plan,
        Change::DropOut {
            unit: gone,
            from_slot: from,
        },
    )
    .unwrap();
    assert!(
        validate(&r.problem, &r.plan).is_empty(),
        "{:?}",
        validate(&r.problem, &r.plan)
    );
    check_invariants(&r.problem, &r.plan);
    for (u, row) in plan.assignments.iter().enumerate() {
        assert_eq!(
            r.plan.assignments[u][..from],
            row[..from],
            "unit {u}: past kept"
        );
    }
    assert!(r.plan.assignments[gone][from..].iter().all(|a| *a == Off));
    // Never worse than simply removing the unit, and every change is in the future.
    let mut without = plan.assignments.clone();
    without[gone][from..].fill(Off);
    assert!(r.plan.objective >= objective(&r.problem, &without) - 1e-9);
    assert!(r.changes.iter().all(|c| c.slot >= from));
    // Few changes: against all future slots of the other units, and against planning the
    // rest of the night from scratch.
    let others: Vec<&SlotChange> = r.changes.iter().filter(|c| c.unit != gone).collect();
    let future: usize = (0..12)
        .filter(|&u| u != gone)
        .map(|u| {
            p.units()[u]
                .shift
                .1
                .saturating_sub(from.max(p.units()[u].shift.0))
        })
        .sum();
    let fresh = optimise(&r.problem.clone());
    let fresh_changes = (0..12)
        .filter(|&u| u != gone)
        .flat_map(|u| (from..48).map(move |t| (u, t)))
        .filter(|&(u, t)| fresh.assignments[u][t] != plan.assignments[u][t])
        .count();
    eprintln!(
        "drop-out: {} of {future} future slots of the other units changed (re-optimising \
         from scratch changes {fresh_changes}); objective {:.3} (from scratch {:.3}), gap {:.3} %",
        others.len(),
        r.plan.objective,
        fresh.objective,
        100.0 * r.plan.gap
    );
    assert!(others.len() * 4 <= future, "{} of {future}", others.len());
    assert!(others.len() < fresh_changes);
    assert!(r.plan.objective >= fresh.objective * (1.0 - 0.02));
    // Units that did not change at all exist (far from the gap).
    let changed_units: std::collections::HashSet<usize> = others.iter().map(|c| c.unit).collect();
    assert!(changed_units.len() < 11);
}

#[test]
fn join_adds_a_unit_from_the_slot_it_arrives() {
    let p = town(6, 8, 48, 1500.0, 21);
    let plan = optimise(&p);
    let newcomer = PlanUnit::new("LN-FF9", 2, (10, 44), (700.0, 700.0), 3);
    let r = replan(
        &p,
        &plan,
        Change::Join {
            unit: newcomer,
            from_slot: 24,
        },
    )
    .unwrap();
    assert!(validate(&r.problem, &r.plan).is_empty());
    check_invariants(&r.problem, &r.plan);
    let new = &r.plan.assignments[6];
    assert!(new[..24].iter().all(|a| *a == Off));
    assert!(new.iter().any(|a| matches!(a, Zone(_))));
    assert_eq!(r.problem.units()[6].shift, (24, 44));
    assert!(r.plan.objective > plan.objective);
    assert!(r.changes.iter().all(|c| c.slot >= 24));
    assert_eq!(r.plan.callsigns[6], "LN-FF9");
    // Errors: unknown unit, slot beyond the night, a plan from another problem.
    assert!(
        replan(
            &p,
            &plan,
            Change::DropOut {
                unit: 9,
                from_slot: 3
            }
        )
        .is_err()
    );
    assert!(
        replan(
            &p,
            &plan,
            Change::DropOut {
                unit: 0,
                from_slot: 49
            }
        )
        .is_err()
    );
    assert!(
        replan(
            &r.problem,
            &plan,
            Change::DropOut {
                unit: 0,
                from_slot: 30
            }
        )
        .is_err()
    );
    // A re-plan of a re-plan keeps both pasts.
    let r2 = replan(
        &r.problem,
        &r.plan,
        Change::DropOut {
            unit: 0,
            from_slot: 30,
        },
    )
    .unwrap();
    assert!(validate(&r2.problem, &r2.plan).is_empty());
    for (u, row) in r.plan.assignments.iter().enumerate() {
        assert_eq!(r2.plan.assignments[u][..30], row[..30]);
    }
}

#[test]
fn empty_instances_plan_without_panicking() {
    // No zones: units stay at the station and take their break there.
    let units = vec![PlanUnit::new("A", 1, (0, 12), (0.0, 0.0), 3)];
    let p = Problem::new(slots(12), vec![], units, PlanParams::default()).unwrap();
    let plan = optimise(&p);
    assert!(validate(&p, &plan).is_empty());
    assert_eq!(plan.objective, 0.0);
    assert_eq!(
        plan.assignments[0].iter().filter(|a| **a == Break).count(),
        3
    );
    // No units.
    let zones = vec![zone("a", 0.0, 0.0, vec![1.0; 12])];
    let p = Problem::new(slots(12), zones, vec![], PlanParams::default()).unwrap();
    let plan = optimise(&p);
    assert!(plan.assignments.is_empty() && plan.objective == 0.0 && plan.gap == 0.0);
}
