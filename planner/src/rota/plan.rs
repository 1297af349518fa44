//! A plan: where every unit is in every slot, with its objective, bound and gap, and its
//! JSON shape (DESIGN.md, "Plan JSON": `assignments`, `objective`, `bound`, `gap`).
//!
//! Inside the crate an [`Assignment`] names zones by index; the JSON names them by id
//! (`{"zone": id}`, `{"travel": {"from": id|null, "to": id|null}}` with `null` the unit's
//! station, `{"break": true}`, `{"off": true}`), so a [`Plan`] carries its zone ids and
//! callsigns and serialises to, and reads back from, the contract's shape directly.

use super::slots::Slot;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What one unit does in one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Assignment {
    /// A visible visit to the zone with this index.
    Zone(usize),
    /// Walking from one place to another; `None` is the unit's station.
    Travel {
        from: Option<usize>,
        to: Option<usize>,
    },
    /// Meal break, taken where the unit is.
    Break,
    /// Not deployed: outside the shift, or at the station.
    Off,
}

/// An assignment as the contract writes it, zones named by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    Zone(String),
    Travel {
        from: Option<String>,
        to: Option<String>,
    },
    Break(bool),
    Off(bool),
}

/// How the plan's `bound` was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundMethod {
    /// The instance was small enough to search exhaustively: the bound is the optimum.
    Exact,
    /// A Lagrangian relaxation (see `rota::bound`): the optimum is at most this.
    Lagrangian,
}

/// An optimised rota for one night.
///
/// ```
/// use planner::rota::{Assignment, BoundMethod, Plan};
/// let plan = Plan {
///     slots: vec![],
///     zone_ids: vec!["z1".into()],
///     callsigns: vec!["LN-FF1".into()],
///     assignments: vec![vec![
///         Assignment::Travel { from: None, to: Some(0) },
///         Assignment::Zone(0),
///         Assignment::Break,
///         Assignment::Off,
///     ]],
///     objective: 1.0,
///     bound: 1.0,
///     gap: 0.0,
///     bound_method: BoundMethod::Exact,
///     seed: 7,
/// };
/// let json = serde_json::to_string(&plan).unwrap();
/// assert!(json.contains(r#"[{"travel":{"from":null,"to":"z1"}},{"zone":"z1"},{"break":true},{"off":true}]"#));
/// let back: Plan = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, plan);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "PlanJson", try_from = "PlanJson")]
pub struct Plan {
    pub slots: Vec<Slot>,
    /// Zone ids, by zone index.
    pub zone_ids: Vec<String>,
    /// Callsigns, by unit index.
    pub callsigns: Vec<String>,
    /// Per unit, per slot.
    pub assignments: Vec<Vec<Assignment>>,
    /// Risk covered (DESIGN.md's objective), evaluated by [`super::objective`].
    pub objective: f64,
    /// An upper bound on the best objective any valid plan can reach.
    pub bound: f64,
    /// `(bound - objective) / bound`, 0 when the bound is 0: 0.013 means the plan is
    /// within 1.3 % of optimal.
    pub gap: f64,
    pub bound_method: BoundMethod,
    pub seed: u64,
}

impl Plan {
    /// The contract's form of an assignment.
    pub fn placement(&self, a: &Assignment) -> Placement {
        let id = |z: usize| self.zone_ids.get(z).cloned().unwrap_or_default();
        match *a {
            Assignment::Zone(z) => Placement::Zone(id(z)),
            Assignment::Travel { from, to } => Placement::Travel {
                from: from.map(id),
                to: to.map(id),
            },
            Assignment::Break => Placement::Break(true),
            Assignment::Off => Placement::Off(true),
        }
    }

    /// Gap between an objective and a bound, as [`Plan::gap`] defines it.
    pub fn gap_of(objective: f64, bound: f64) -> f64 {
        if !bound.is_finite() {
            1.0
        } else if bound > 0.0 {
            ((bound - objective) / bound).max(0.0)
        } else {
            0.0
        }
    }
}

/// The serialised shape of a [`Plan`].
#[derive(Serialize, Deserialize)]
struct PlanJson {
    slots: Vec<Slot>,
    zone_ids: Vec<String>,
    callsigns: Vec<String>,
    assignments: Vec<Vec<Placement>>,
    objective: f64,
    bound: f64,
    gap: f64,
    bound_method: BoundMethod,
    seed: u64,
}

impl From<Plan> for PlanJson {
    fn from(p: Plan) -> PlanJson {
        let assignments = p
            .assignments
            .iter()
            .map(|row| row.iter().map(|a| p.placement(a)).collect())
            .collect();
        PlanJson {
            assignments,
            slots: p.slots,
            zone_ids: p.zone_ids,
            callsigns: p.callsigns,
            objective: p.objective,
            bound: p.bound,
            gap: p.gap,
            bound_method: p.bound_method,
            seed: p.seed,
        }
    }
}

/// Why a plan's JSON could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanJsonError(String);

impl fmt::Display for PlanJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<PlanJson> for Plan {
    type Error = PlanJsonError;

    fn try_from(j: PlanJson) -> Result<Plan, PlanJsonError> {
        let index = |id: &str| {
            j.zone_ids
                .iter()
                .position(|z| z == id)
                .ok_or_else(|| PlanJsonError(format!("assignment names unknown zone {id:?}")))
        };
        let opt = |id: &Option<String>| id.as_deref().map(index).transpose();
        let mut assignments = Vec::with_capacity(j.assignments.len());
        for row in &j.assignments {
            let mut out = Vec::with_capacity(row.len());
            for p in row {
                out.push(match p {
                    Placement::Zone(id) => Assignment::Zone(index(id)?),
                    Placement::Travel { from, to } => Assignment::Travel {
                        from: opt(from)?,
                        to: opt(to)?,
                    },
                    Placement::Break(true) => Assignment::Break,
                    Placement::Off(true) => Assignment::Off,
                    Placement::Break(false) | Placement::Off(false) => {
                        return Err(PlanJsonError(
                            "{\"break\": false} and {\"off\": false} are not assignments".into(),
                        ));
                    }
                });
            }
            assignments.push(out);
        }
        Ok(Plan {
            slots: j.slots,
            zone_ids: j.zone_ids,
            callsigns: j.callsigns,
            assignments,
            objective: j.objective,
            bound: j.bound,
            gap: j.gap,
            bound_method: j.bound_method,
            seed: j.seed,
        })
    }
}

/// One slot of one unit that a re-plan changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotChange {
    pub unit: usize,
    pub callsign: String,
    pub slot: usize,
    pub before: Assignment,
    pub after: Assignment,
}
