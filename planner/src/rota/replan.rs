//! Re-planning a night when a unit drops out or joins at slot T.
//!
//! The past (slots before T) is fixed for every unit. The unit that dropped out is off from
//! T on and owes neither its walk back nor its break; a joining unit starts at its station
//! at T (or at its shift start, if later), with its break window clipped to what is left
//! of its shift (the middle third of what is left if the break no longer fits).
//!
//! The other units keep their itineraries unless changing them is worth it. The re-plan is
//! lexicographic with a tolerance: it maximises `objective + mu x (future slots kept)`,
//! with `mu = replan_tolerance x (objective of the remaining night) / (future unit-slots)`,
//! so that keeping every slot is worth at most `replan_tolerance` (0.5 %) of the objective:
//! a unit changes its route only where that buys more cover than the slots it changes
//! are worth. It starts from the previous itineraries and runs best-response sweeps
//! (each an exact longest path for one unit, reward included), so units far from the gap
//! stay as they were.

use super::objective::objective;
use super::plan::{Assignment, BoundMethod, Plan, SlotChange};
use super::problem::{PlanUnit, Problem, middle_third};
use super::rng::Rng;
use super::route::UnitModel;
use super::search::Search;
use super::{RotaError, SWEEPS, bound, finish};

/// Steps of the subgradient descent for a re-plan's bound (it starts from the previous
/// plan's prices, so it needs fewer than a fresh plan).
const REPLAN_BOUND_ITERATIONS: usize = 60;

/// What happened at `from_slot`.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Unit `unit` (an index into the problem's units) is off from `from_slot` on.
    DropOut { unit: usize, from_slot: usize },
    /// A new unit is available from `from_slot` on.
    Join { unit: PlanUnit, from_slot: usize },
}

/// The result of [`replan`].
#[derive(Debug, Clone)]
pub struct Replan {
    /// The problem the new plan solves: the units as changed, the past fixed. Validate
    /// the new plan against this, and keep it to re-plan again.
    pub problem: Problem,
    pub plan: Plan,
    /// Every slot that differs from the previous plan (for a joining unit, every slot it is
    /// not off).
    pub changes: Vec<SlotChange>,
}

/// Re-optimises `previous` (a plan for `problem`) from the change's slot on.
pub fn replan(problem: &Problem, previous: &Plan, change: Change) -> Result<Replan, RotaError> {
    let ns = problem.n_slots();
    let n_prev = problem.units().len();
    let same_units = previous.callsigns.len() == n_prev
        && previous
            .callsigns
            .iter()
            .zip(problem.units())
            .all(|(c, u)| *c == u.callsign);
    if !same_units
        || previous.assignments.len() != n_prev
        || previous.assignments.iter().any(|r| r.len() != ns)
        || previous.zone_ids.len() != problem.zones().len()
    {
        return Err(RotaError::PlanMismatch(
            "the plan's units, zones or slots differ from the problem's".into(),
        ));
    }
    let from = match &change {
        Change::DropOut { from_slot, .. } | Change::Join { from_slot, .. } => *from_slot,
    };
    if from > ns {
        return Err(RotaError::Change(format!(
            "slot {from} is beyond the night's {ns} slots"
        )));
    }
    let frozen = from.max(problem.frozen_until());
    let mut units = problem.units().to_vec();
    match change {
        Change::DropOut { unit, .. } => {
            let u = units.get_mut(unit).ok_or_else(|| {
                RotaError::Change(format!("there is no unit {unit} ({n_prev} units)"))
            })?;
            u.left_at = Some(u.left_at.map_or(frozen, |l| l.min(frozen)));
        }
        Change::Join { unit: mut u, .. } => {
            u.shift.0 = u.shift.0.max(frozen);
            if u.shift.0 + u.break_slots >= u.shift.1 {
                return Err(RotaError::Unit {
                    callsign: u.callsign,
                    reason: format!("nothing left of its shift to plan from slot {frozen}"),
                });
            }
            let (wf, wt) = (
                u.break_window.0.max(u.shift.0),
                u.break_window.1.min(u.shift.1),
            );
            u.break_window = if wt >= wf + u.break_slots {
                (wf, wt)
            } else {
                middle_third(u.shift, u.break_slots)
            };
            u.left_at = None;
            units.push(u);
        }
    }
    let problem = problem
        .with_units(units)?
        .with_history(frozen, previous.assignments.clone())?;
    let models: Vec<UnitModel> = (0..problem.units().len())
        .map(|u| UnitModel::new(&problem, u))
        .collect();
    let params = problem.params();
    let mut s = Search::new(&problem, &models, Rng::stream(params.seed, 2));
    for (u, row) in previous.assignments.iter().enumerate() {
        if models[u].active {
            s.place(u, row.clone());
        }
    }
    // The reward per kept slot.
    let start = s.rows();
    let mut future = start.clone();
    for row in &mut future {
        row[..frozen].fill(Assignment::Off);
    }
    let future_value = objective(&problem, &future);
    let future_slots: usize = (0..n_prev)
        .filter(|&u| models[u].active)
        .map(|u| models[u].end.saturating_sub(models[u].entry.t))
        .sum();
    let mu = params.replan_tolerance * future_value / future_slots.max(1) as f64;
    for (u, row) in previous.assignments.iter().enumerate() {
        if models[u].active {
            s.set_keep(u, row.clone(), mu);
        }
    }
    // The start misses the joining unit; the bound's descent needs a valid plan's value as
    // its target, and the start without it is one.
    let target = objective(&problem, &start);
    let bound = std::thread::scope(|scope| {
        let h = scope.spawn(|| {
            bound::lagrangian(&problem, &models, &start, target, REPLAN_BOUND_ITERATIONS)
        });
        s.construct();
        s.sweeps(SWEEPS);
        h.join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    let rows = s.into_routes();
    let mut changes = Vec::new();
    for (u, row) in rows.iter().enumerate() {
        for (t, after) in row.iter().enumerate() {
            let before = previous
                .assignments
                .get(u)
                .map_or(Assignment::Off, |r| r[t]);
            if before != *after {
                changes.push(SlotChange {
                    unit: u,
                    callsign: problem.units()[u].callsign.clone(),
                    slot: t,
                    before,
                    after: *after,
                });
            }
        }
    }
    let plan = finish(&problem, rows, bound, BoundMethod::Lagrangian);
    drop(models);
    Ok(Replan {
        problem,
        plan,
        changes,
    })
}
