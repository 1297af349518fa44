//! The rota: who is where in each 15-minute slot of a night, optimised for the risk covered.
//!
//! DESIGN.md ("Zones and the rota"): units (one officer or a pair) walk from their station
//! to patrol zones and back within their shift, take a meal break, and make visible visits of
//! one slot (the Koper curve's 10 to 16 minutes) with revisits spaced out. The plan
//! maximises the risk covered, `sum over zones and slots of risk x (1 + d + ... + d^(k-1))`
//! for the k units present, and reports that objective beside an upper bound and the gap,
//! so a planner sees how close to optimal it is.
//!
//! - [`night_slots`]: the night in slots of real time, DST-correct (`slots.rs`).
//! - [`Problem`]: zones, units and parameters, validated, with walking times (`problem.rs`).
//! - [`optimise`]: exact search on small instances, otherwise greedy construction,
//!   best-response sweeps (each an exact longest path for one unit) and
//!   ruin-and-recreate (`search.rs`, `route.rs`, `exact.rs`), with a Lagrangian upper bound
//!   computed on a second thread (`bound.rs`).
//! - [`objective`] and [`validate`]: independent checks of any plan (`objective.rs`,
//!   `validate.rs`).
//! - [`replan`]: a unit drops out or joins at slot T; the past stays, the future is
//!   re-optimised with as few changes as the objective allows (`replan.rs`).
//!
//! ```
//! use jiff::civil::{date, time};
//! use planner::rota::*;
//!
//! let london = planner::time::london();
//! let slots = night_slots(date(2024, 6, 7), &london, time(22, 0, 0, 0), time(0, 0, 0, 0), 15).unwrap();
//! let zone = |id: &str, x: f64, peak: usize| PlanZone {
//!     id: id.into(), name: id.into(), x, y: 0.0,
//!     risk: (0..8).map(|t| if t == peak { 3.0 } else { 1.0 }).collect(),
//! };
//! let zones = vec![zone("high-st", 0.0, 3), zone("castle-st", 500.0, 5)];
//! let units = vec![PlanUnit::new("LN-FF1", 2, (0, 8), (250.0, 400.0), 0)];
//! let problem = Problem::new(slots, zones, units, PlanParams::default()).unwrap();
//! let plan = optimise(&problem);
//! assert!(validate(&problem, &plan).is_empty());
//! assert_eq!(plan.objective, objective(&problem, &plan.assignments));
//! assert!(plan.bound >= plan.objective && plan.gap < 0.02);
//! ```

mod bound;
mod exact;
mod objective;
mod plan;
mod problem;
mod replan;
mod rng;
mod route;
mod search;
mod slots;
mod validate;

#[cfg(test)]
mod tests;

pub use objective::{objective, presence_value};
pub use plan::{Assignment, BoundMethod, Placement, Plan, PlanJsonError, SlotChange};
pub use problem::{PlanParams, PlanUnit, PlanZone, Problem, middle_third};
pub use replan::{Change, Replan, replan};
pub use slots::{Slot, night_slots};
pub use validate::{Violation, ViolationKind, validate, validate_assignments};

use rng::Rng;
use route::UnitModel;
use search::Search;

/// Best-response sweeps before giving up on convergence (they converge in a handful).
const SWEEPS: usize = 50;
/// Steps of the subgradient descent for the bound.
const BOUND_ITERATIONS: usize = 250;
/// Ruin-and-recreate steps per unit on the first thread, and on the second (which starts
/// after the bound).
const RR_PER_UNIT: usize = 16;
const RR_PER_UNIT_SECOND: usize = 13;

/// Why a rota cannot be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RotaError {
    /// A parameter is out of range: fix the parameter.
    #[error("plan parameters: {0}")]
    Params(String),
    /// A zone cannot be planned with: fix its data or leave it out.
    #[error("zone {zone}: {reason}")]
    Zone { zone: String, reason: String },
    /// A unit cannot be planned with on this night: fix the roster row or the night.
    #[error("unit {callsign}: {reason}")]
    Unit { callsign: String, reason: String },
    /// The plan given does not belong to this problem: re-plan from the plan made for it.
    #[error("plan does not match the problem: {0}")]
    PlanMismatch(String),
    /// The requested change cannot be applied (unknown unit, slot beyond the night).
    #[error("re-plan: {0}")]
    Change(String),
}

/// The optimised plan for `problem`, reproducible for its seed.
///
/// Small instances (at most 4 units, 6 zones and 16 slots) are solved exactly and report
/// their optimum as the bound. Otherwise: seeded greedy construction on tilted values,
/// best-response sweeps, a polish on the true risk, then ruin-and-recreate while a second
/// thread computes the Lagrangian bound.
pub fn optimise(problem: &Problem) -> Plan {
    let models: Vec<UnitModel> = (0..problem.units().len())
        .map(|u| UnitModel::new(problem, u))
        .collect();
    if exact::small(problem, &models)
        && let Some(rows) = exact::solve(problem, &models)
    {
        let value = objective(problem, &rows);
        return finish(problem, rows, value, BoundMethod::Exact);
    }
    let (rows, bound) = heuristic(problem, &models);
    finish(problem, rows, bound, BoundMethod::Lagrangian)
}

/// The heuristic and its Lagrangian bound.
///
/// After construction and sweeps, two threads work: the first runs ruin-and-recreate; the
/// second computes the bound, then runs its own ruin-and-recreate chain (another random
/// stream) from the same plan. The better of the two plans is kept (the first on a tie),
/// so the result does not depend on which thread finishes first.
pub(crate) fn heuristic(problem: &Problem, models: &[UnitModel]) -> (Vec<Vec<Assignment>>, f64) {
    let params = problem.params();
    let mut s = Search::new(problem, models, Rng::stream(params.seed, 1));
    s.set_jitter(params.jitter, params.seed);
    s.construct();
    s.sweeps(SWEEPS);
    s.clear_jitter();
    s.sweeps(SWEEPS);
    let primal = s.rows();
    let target = objective(problem, &primal);
    let active = models.iter().filter(|m| m.active).count();
    let mut other = s.fork(Rng::stream(params.seed, 3));
    let (bound, other) = std::thread::scope(|scope| {
        let primal = &primal;
        let h = scope.spawn(move || {
            let bound = bound::lagrangian(problem, models, primal, target, BOUND_ITERATIONS);
            other.ruin_recreate(RR_PER_UNIT_SECOND * active);
            other.sweeps(SWEEPS);
            (bound, other)
        });
        s.ruin_recreate(RR_PER_UNIT * active);
        s.sweeps(SWEEPS);
        h.join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    let rows = if other.total() > s.total() {
        other.into_routes()
    } else {
        s.into_routes()
    };
    (rows, bound)
}

/// The plan for `rows`, with its objective evaluated independently.
fn finish(problem: &Problem, rows: Vec<Vec<Assignment>>, bound: f64, method: BoundMethod) -> Plan {
    let value = objective(problem, &rows);
    // The bound is proven >= the optimum; rounding in its sums can leave it a hair below.
    let bound = bound.max(value);
    Plan {
        slots: problem.slots().to_vec(),
        zone_ids: problem.zones().iter().map(|z| z.id.clone()).collect(),
        callsigns: problem.units().iter().map(|u| u.callsign.clone()).collect(),
        assignments: rows,
        objective: value,
        bound,
        gap: Plan::gap_of(value, bound),
        bound_method: method,
        seed: problem.params().seed,
    }
}
