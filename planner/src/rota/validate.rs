//! Every hard constraint of a plan, checked from its assignments alone.
//!
//! The rules (DESIGN.md, "Zones and the rota"; the optimiser keeps all of them):
//!
//! - **One place per unit per slot**: by construction, one [`Assignment`] each.
//! - **Shift hours**: outside `[first, end)` a unit is off; inside, a unit is off only at
//!   its station. It starts its shift at the station and is back there when the shift
//!   ends (the walk out and back is planned like any other walk).
//! - **Travel**: a walk from A to B is a run of exactly `walk(A, B)` slots of
//!   `Travel { from: A, to: B }`, starting where the unit is; a walk to a zone ends in a
//!   visit to it (after the break, if the unit takes its break on arrival), never passing
//!   through.
//! - **Breaks**: exactly one run of `break_slots` Break slots inside the break window,
//!   taken where the unit is (station or zone), never in the middle of a walk.
//! - **Koper spacing**: two visits of one unit to one zone are at least `revisit_gap`
//!   slots apart.
//! - **Re-plans**: the fixed past is unchanged; a unit that dropped out is off from the slot
//!   it left and owes neither its return nor its break.

use super::plan::{Assignment, Plan};
use super::problem::Problem;
use std::fmt;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The unit, or `None` for the plan as a whole.
    pub unit: Option<usize>,
    pub slot: Option<usize>,
    pub kind: ViolationKind,
}

/// Which rule is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViolationKind {
    /// The plan does not have one row per unit and one assignment per slot.
    Shape(String),
    /// An assignment names a zone index that does not exist.
    UnknownZone(usize),
    /// Not off outside the shift (or after the unit dropped out).
    OutsideShift,
    /// A visit to a zone the unit has not walked to.
    NotThere { zone: usize },
    /// A walk that does not start where the unit is, or goes nowhere.
    WrongTravel,
    /// A walk that stopped before its walking time.
    TravelCut { expected: usize, got: usize },
    /// The unit walked to a zone and left without visiting it.
    PassedThrough { zone: usize },
    /// Off while away from the station.
    OffAway,
    /// The shift ends with the unit away from the station or still walking.
    NotBack,
    /// A revisit sooner than the Koper spacing allows.
    Revisit { zone: usize, after: usize },
    /// Not exactly one break.
    BreakCount { runs: usize },
    /// A break of the wrong length.
    BreakLength { expected: usize, got: usize },
    /// A break outside the window.
    BreakOutsideWindow,
    /// A slot of the fixed past differs from it.
    ChangedPast,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = self.unit {
            write!(f, "unit {u}")?;
        } else {
            write!(f, "plan")?;
        }
        if let Some(t) = self.slot {
            write!(f, ", slot {t}")?;
        }
        write!(f, ": ")?;
        match &self.kind {
            ViolationKind::Shape(s) => write!(f, "{s}"),
            ViolationKind::UnknownZone(z) => write!(f, "zone {z} does not exist"),
            ViolationKind::OutsideShift => write!(f, "must be off outside the shift"),
            ViolationKind::NotThere { zone } => write!(f, "visits zone {zone} without being there"),
            ViolationKind::WrongTravel => write!(f, "walk does not start where the unit is"),
            ViolationKind::TravelCut { expected, got } => {
                write!(f, "walk takes {expected} slots but lasts {got}")
            }
            ViolationKind::PassedThrough { zone } => {
                write!(f, "walked to zone {zone} and left without a visit")
            }
            ViolationKind::OffAway => write!(f, "off away from the station"),
            ViolationKind::NotBack => write!(f, "not back at the station when the shift ends"),
            ViolationKind::Revisit { zone, after } => {
                write!(f, "revisits zone {zone} after {after} slots")
            }
            ViolationKind::BreakCount { runs } => write!(f, "{runs} breaks instead of one"),
            ViolationKind::BreakLength { expected, got } => {
                write!(f, "break of {got} slots instead of {expected}")
            }
            ViolationKind::BreakOutsideWindow => write!(f, "break outside its window"),
            ViolationKind::ChangedPast => write!(f, "differs from the fixed past"),
        }
    }
}

/// Every violation of a hard constraint in `plan` (empty: the plan is valid).
pub fn validate(problem: &Problem, plan: &Plan) -> Vec<Violation> {
    validate_assignments(problem, &plan.assignments)
}

/// [`validate`] on bare assignments.
pub fn validate_assignments(problem: &Problem, assignments: &[Vec<Assignment>]) -> Vec<Violation> {
    let mut out = Vec::new();
    let n = problem.n_slots();
    if assignments.len() != problem.units().len() {
        out.push(Violation {
            unit: None,
            slot: None,
            kind: ViolationKind::Shape(format!(
                "{} rows for {} units",
                assignments.len(),
                problem.units().len()
            )),
        });
        return out;
    }
    for (u, row) in assignments.iter().enumerate() {
        if row.len() != n {
            out.push(Violation {
                unit: Some(u),
                slot: None,
                kind: ViolationKind::Shape(format!("{} assignments for {n} slots", row.len())),
            });
            continue;
        }
        check_unit(problem, u, row, &mut out);
        if let Some(past) = problem.history_of(u) {
            for (t, (a, b)) in row.iter().zip(past).enumerate() {
                if a != b {
                    out.push(Violation {
                        unit: Some(u),
                        slot: Some(t),
                        kind: ViolationKind::ChangedPast,
                    });
                }
            }
        }
    }
    out
}

fn check_unit(problem: &Problem, u: usize, row: &[Assignment], out: &mut Vec<Violation>) {
    let unit = &problem.units()[u];
    let nz = problem.zones().len();
    let gap = problem.params().revisit_gap;
    let (first, end) = unit.shift;
    let stop = unit.left_at.map_or(end, |l| l.min(end));
    let mut push = |slot: Option<usize>, kind| {
        out.push(Violation {
            unit: Some(u),
            slot,
            kind,
        })
    };
    let mut pos: Option<usize> = None;
    let mut trip: Option<(Option<usize>, Option<usize>, usize, usize)> = None; // from, to, total, done
    let mut must_visit = false;
    let mut last_visit: Vec<Option<usize>> = vec![None; nz];
    let mut breaks: Vec<(usize, usize)> = Vec::new();
    for (t, &a) in row.iter().enumerate() {
        if t < first || t >= stop {
            if a != Assignment::Off {
                push(Some(t), ViolationKind::OutsideShift);
            }
            continue;
        }
        if let Some((from, to, total, done)) = trip {
            if a == (Assignment::Travel { from, to }) {
                if done + 1 == total {
                    trip = None;
                    pos = to;
                    must_visit = to.is_some();
                } else {
                    trip = Some((from, to, total, done + 1));
                }
                continue;
            }
            push(
                Some(t),
                ViolationKind::TravelCut {
                    expected: total,
                    got: done,
                },
            );
            trip = None;
            pos = to;
            must_visit = false;
        }
        match a {
            Assignment::Zone(z) => {
                if z >= nz {
                    push(Some(t), ViolationKind::UnknownZone(z));
                    continue;
                }
                if pos != Some(z) {
                    push(Some(t), ViolationKind::NotThere { zone: z });
                    pos = Some(z);
                }
                if let Some(l) = last_visit[z]
                    && t - l < gap
                {
                    push(
                        Some(t),
                        ViolationKind::Revisit {
                            zone: z,
                            after: t - l,
                        },
                    );
                }
                last_visit[z] = Some(t);
                must_visit = false;
            }
            Assignment::Travel { from, to } => {
                if must_visit {
                    push(
                        Some(t),
                        ViolationKind::PassedThrough {
                            zone: pos.unwrap_or(usize::MAX),
                        },
                    );
                    must_visit = false;
                }
                if [from, to].iter().flatten().any(|z| *z >= nz) {
                    push(Some(t), ViolationKind::UnknownZone(nz));
                    continue;
                }
                if from != pos || from == to {
                    push(Some(t), ViolationKind::WrongTravel);
                }
                let total = problem.walk(u, from, to);
                if total <= 1 {
                    pos = to;
                    must_visit = to.is_some();
                } else {
                    trip = Some((from, to, total, 1));
                }
            }
            Assignment::Break => match breaks.last_mut() {
                Some((s, len)) if *s + *len == t => *len += 1,
                _ => breaks.push((t, 1)),
            },
            Assignment::Off => {
                if pos.is_some() {
                    push(Some(t), ViolationKind::OffAway);
                }
            }
        }
    }
    let left = unit.left_at.is_some_and(|l| l < end);
    if !left && first < end && (trip.is_some() || pos.is_some()) {
        push(Some(end.min(row.len())), ViolationKind::NotBack);
    }
    let (wf, wt) = unit.break_window;
    let b = unit.break_slots;
    let cut_by_leaving = |s: usize, len: usize| left && s + len == stop;
    if breaks.len() > 1 || (breaks.is_empty() && b > 0 && !left) || (b == 0 && !breaks.is_empty()) {
        push(None, ViolationKind::BreakCount { runs: breaks.len() });
    }
    for &(s, len) in &breaks {
        if len != b && !(cut_by_leaving(s, len) && len < b) {
            push(
                Some(s),
                ViolationKind::BreakLength {
                    expected: b,
                    got: len,
                },
            );
        }
        if s < wf || s + len.max(b) > wt {
            push(Some(s), ViolationKind::BreakOutsideWindow);
        }
    }
}
