//! Solves the rota model of a plan JSON exactly with HiGHS and sets the result beside the
//! plan's own objective and bound (docs/rota-model.md).
//!
//! ```text
//! cargo run --release -p planner --example rota_exact -- PLAN.json [--time-limit S] [--without-revisit] [--warm-start] [--rota]
//! ```
//!
//! The programme is built from the JSON alone (`tests/common/rota_mip.rs`). The planner is
//! used only to re-run the optimiser on the JSON's `problem` (to time it) and to validate
//! the solver's itineraries.

#![allow(clippy::unwrap_used)] // a command-line example: a panic is the error report

#[path = "../tests/common/rota_mip.rs"]
mod rota_mip;

use planner::rota::{Plan, Problem, optimise, validate};
use rota_mip::{Model, Rules, solve};
use serde_json::{Value, json};
use std::time::Instant;

fn take<T: serde::de::DeserializeOwned>(p: &Value, name: &str) -> T {
    serde_json::from_value(p[name].clone()).expect(name)
}

fn main() {
    let mut path = None;
    let mut time_limit = 120.0;
    let mut rules = Rules::ALL;
    let mut warm = false;
    let mut show = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--time-limit" => {
                time_limit = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--time-limit SECONDS")
            }
            "--without-revisit" => rules = Rules::WITHOUT_REVISIT,
            "--warm-start" => warm = true,
            "--rota" => show = true,
            _ if path.is_none() => path = Some(a),
            _ => {
                eprintln!(
                    "usage: rota_exact PLAN.json [--time-limit S] [--without-revisit] [--warm-start] [--rota]"
                );
                std::process::exit(2);
            }
        }
    }
    let Some(path) = path else {
        eprintln!(
            "usage: rota_exact PLAN.json [--time-limit S] [--without-revisit] [--warm-start] [--rota]"
        );
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&path).expect("cannot read the plan JSON");
    let v: Value = serde_json::from_str(&text).expect("not JSON");
    let model = Model::from_plan_json(&v).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    let objective = v["objective"].as_f64().unwrap_or(f64::NAN);
    let bound = v["bound"].as_f64().unwrap_or(f64::NAN);
    println!(
        "{path}: {} units, {} zones, {} slots, revisit gap {} slots, d = {}",
        model.units.len(),
        model.zones.len(),
        model.n_slots,
        model.gap,
        model.d
    );
    println!(
        "plan:   objective {objective:.6}, bound {bound:.6} ({}), gap {:.3} %",
        v["bound_method"].as_str().unwrap_or("?"),
        100.0 * v["gap"].as_f64().unwrap_or(f64::NAN)
    );
    // Re-run the optimiser on the same problem to time it (the plan's own run is not timed
    // in the JSON).
    let p = &v["problem"];
    let problem = Problem::new(
        take(p, "slots"),
        take(p, "zones"),
        take(p, "units"),
        take(p, "params"),
    )
    .expect("the JSON's problem");
    let started = Instant::now();
    let again = optimise(&problem);
    println!(
        "planner optimise on the JSON's problem: {:.3} s, objective {:.6}, bound {:.6}",
        started.elapsed().as_secs_f64(),
        again.objective,
        again.bound
    );
    let ties = model.near_ties(1e-6);
    if ties > 0 {
        println!("warning: {ties} walks lie within 1e-6 slot of a whole number of slots");
    }
    let rows: Vec<Vec<Value>> =
        serde_json::from_value(v["assignments"].clone()).expect("assignments");
    let out = solve(&model, rules, time_limit, warm.then_some(&rows[..])).unwrap_or_else(|e| {
        eprintln!("{path}: the plan is not a point of the programme: {e}");
        std::process::exit(1);
    });
    let which = if rules.revisit {
        "with every rule"
    } else {
        "WITHOUT the revisit rule"
    };
    println!(
        "HiGHS ({which}{}; {} columns, {} rows; time limit {time_limit} s): {} after {:.1} s",
        if warm { ", started from the plan" } else { "" },
        out.columns,
        out.rows,
        out.status,
        out.seconds
    );
    match out.objective {
        Some(best) => println!(
            "HiGHS:  best objective {best:.6} (its itineraries are worth {:.6}), best bound {:.6}, gap {:.3} %",
            out.value.unwrap_or(best),
            out.bound,
            100.0 * (out.bound - best) / out.bound
        ),
        None => println!("HiGHS:  no plan found, best bound {:.6}", out.bound),
    }
    if let Some(best) = out.value {
        let mut solved = v.clone();
        solved["assignments"] = json!(out.assignments);
        let solved: Plan = serde_json::from_value(solved).expect("solver's plan");
        let broken = validate(&problem, &solved);
        println!(
            "HiGHS's plan: {} (value by the planner's objective: {:.6})",
            if broken.is_empty() {
                "valid".to_string()
            } else {
                format!("{} violations, first {}", broken.len(), broken[0])
            },
            planner::rota::objective(&problem, &solved.assignments)
        );
        if show {
            println!("HiGHS's rota (zone id: visit, ~: walking, B: break, .: off):");
            for (unit, row) in model.units.iter().zip(&out.assignments) {
                let cells: Vec<String> = row
                    .iter()
                    .map(|a| {
                        if let Some(z) = a["zone"].as_str() {
                            z.to_string()
                        } else if a.get("travel").is_some() {
                            "~".into()
                        } else if a["break"] == true {
                            "B".into()
                        } else {
                            ".".into()
                        }
                    })
                    .collect();
                println!("  {:<8} {}", unit.callsign, cells.join(" "));
            }
        }
        println!(
            "check:  plan objective <= HiGHS bound: {}; HiGHS best <= plan bound: {}",
            objective <= out.bound + 1e-6,
            best <= bound + 1e-6
        );
    }
}
