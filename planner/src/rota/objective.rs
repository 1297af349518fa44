//! The objective, evaluated from assignments alone (DESIGN.md, "Plan JSON"): the sum over
//! zones and slots of risk x (1 + d + d^2 + ... + d^(k-1)) for the k units present.
//!
//! This evaluator shares no code with the optimiser, which works with marginal values, so a
//! plan's reported objective is checked independently of how the plan was found.

use super::plan::Assignment;
use super::problem::Problem;

/// 1 + d + ... + d^(k-1): what k units in one zone and slot are worth per unit of risk.
pub fn presence_value(k: usize, d: f64) -> f64 {
    let mut sum = 0.0;
    let mut term = 1.0;
    for _ in 0..k {
        sum += term;
        term *= d;
    }
    sum
}

/// The risk a plan covers. Assignments naming a zone that does not exist are ignored
/// ([`super::validate`] reports them).
///
/// ```
/// # use planner::rota::*;
/// # let slots = night_slots(jiff::civil::date(2024, 6, 7), &planner::time::london(),
/// #     jiff::civil::time(18, 0, 0, 0), jiff::civil::time(18, 30, 0, 0), 15).unwrap();
/// let zone = PlanZone { id: "z".into(), name: "z".into(), x: 0.0, y: 0.0, risk: vec![2.0, 4.0] };
/// let units = vec![
///     PlanUnit::new("A", 1, (0, 0), (0.0, 0.0), 0),
///     PlanUnit::new("B", 1, (0, 0), (0.0, 0.0), 0),
/// ];
/// let p = Problem::new(slots, vec![zone], units, PlanParams::default()).unwrap();
/// use Assignment::*;
/// // Slot 0: one unit (2.0); slot 1: two units (4.0 x 1.5).
/// assert_eq!(objective(&p, &[vec![Zone(0), Zone(0)], vec![Off, Zone(0)]]), 8.0);
/// ```
pub fn objective(problem: &Problem, assignments: &[Vec<Assignment>]) -> f64 {
    let zones = problem.zones();
    let n = problem.n_slots();
    let mut count = vec![0usize; zones.len() * n];
    for row in assignments {
        for (t, a) in row.iter().enumerate().take(n) {
            if let Assignment::Zone(z) = *a
                && z < zones.len()
            {
                count[z * n + t] += 1;
            }
        }
    }
    let d = problem.params().second_unit_factor;
    zones
        .iter()
        .enumerate()
        .flat_map(|(z, zone)| {
            let count = &count;
            zone.risk
                .iter()
                .enumerate()
                .map(move |(t, r)| r * presence_value(count[z * n + t], d))
        })
        .sum()
}
