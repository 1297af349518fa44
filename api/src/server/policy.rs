//! Who may see what: the contract's roles as one table. A handler names the policy it needs
//! in its signature (`Require<IncidentPoints>`); the extractor in `auth` enforces it, so no
//! handler checks a role itself.
//!
//! | policy | planner | officer | liaison | admin | guards |
//! |---|---|---|---|---|---|
//! | [`AnyUser`] | yes | yes | yes | yes | `/api/v1/me`, logout |
//! | [`IncidentPoints`] | yes | | | yes | `/api/v1/incidents` (victims' locations) |
//! | [`HotspotCells`] | yes | yes | yes | yes | `/api/v1/hotspots` |
//! | [`Zones`] | yes | yes | | yes | `/api/v1/zones` (the planner's, for plans) |
//! | [`PremisesRead`] | yes | yes | yes | yes | `/api/v1/premises`, `/api/v1/premises/{id}` (planners place zones and brief officers on venues) |
//! | [`AuditLog`] | | | | yes | `/api/v1/audit` |
//! | [`MetricsRead`] | | | | yes | `/metrics` (Prometheus with an admin's bearer token) |
//! | [`PlansWrite`] | yes | | | yes | `POST /api/v1/plans`, `.../{id}/publish`, `.../{id}/replan` |
//! | [`PlansRead`] | yes | yes | | yes | `GET /api/v1/plans`, `GET /api/v1/plans/{id}`, `.../rota.csv`, `.../units/{callsign}/calendar.ics` (officers: published plans only, and only their own unit's calendar: `plans::may_read`) |
//! | [`PlanDosage`] | yes | | | yes | `GET /api/v1/plans/{id}/dosage` (officers' check-ins) |
//! | [`OwnItinerary`] | | yes | | | `GET /api/v1/me/assignments` (the officer's unit: `plans::OfficerUnit`) |
//! | [`CheckIns`] | | yes | | | `POST /api/v1/checkins` |
//! | [`ImportIncidents`] | yes | | | yes | `POST /api/v1/imports/incidents` |
//! | [`PremisesWrite`] | | | yes | yes | `POST /api/v1/premises`, `PATCH /api/v1/premises/{id}`, `POST /api/v1/imports/premises` |
//! | [`TrainingRecords`] | | | yes | yes | `GET\|POST /api/v1/premises/{id}/training`, `POST /api/v1/imports/training` (records name trainers; everyone sees the status in `/premises`) |
//! | [`TrainingImpact`] | | | yes | yes | `GET /api/v1/premises/{id}/impact` |

use crate::roles::Role;

/// A set of roles allowed to do something.
pub trait Policy: Send + Sync + 'static {
    /// What the policy guards, for the 403 message ("... may not see {WHAT}").
    const WHAT: &'static str;
    const ROLES: &'static [Role];

    fn allows(role: Role) -> bool {
        Self::ROLES.contains(&role)
    }
}

macro_rules! policy {
    ($(#[$doc:meta])* $name:ident, $what:literal, [$($role:ident),+]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl Policy for $name {
            const WHAT: &'static str = $what;
            const ROLES: &'static [Role] = &[$(Role::$role),+];
        }
    };
}

policy!(
    /// Any logged-in user.
    AnyUser, "this", [Planner, Officer, Liaison, Admin]
);
policy!(
    /// Incident points: victims' locations, for planners only.
    IncidentPoints, "incident points", [Planner, Admin]
);
policy!(
    /// Scored grid cells (no incident points).
    HotspotCells, "hotspot cells", [Planner, Officer, Liaison, Admin]
);
policy!(
    /// Patrol zones.
    Zones, "patrol zones", [Planner, Officer, Admin]
);
policy!(
    /// Licensed premises and their training status.
    PremisesRead, "premises", [Planner, Officer, Liaison, Admin]
);
policy!(
    /// The audit log.
    AuditLog, "the audit log", [Admin]
);
policy!(
    /// User accounts: disable, enable, passwords, sessions.
    UserAccounts, "user accounts", [Admin]
);
policy!(
    /// The server's metrics: routes, error rates, login failures.
    MetricsRead, "the server's metrics", [Admin]
);
policy!(
    /// Making plans: create, publish, re-plan.
    PlansWrite, "the making of plans (create, publish, re-plan)", [Planner, Admin]
);
policy!(
    /// Reading plans; officers only published ones, and only their own unit's calendar.
    PlansRead, "plans", [Planner, Officer, Admin]
);
policy!(
    /// A plan's planned against achieved visits (from officers' check-ins).
    PlanDosage, "check-ins against plans", [Planner, Admin]
);
policy!(
    /// The officer's own itinerary (their user's unit).
    OwnItinerary, "an own itinerary (officers, by their unit)", [Officer]
);
policy!(
    /// Checking in at a zone.
    CheckIns, "check-ins (officers, by their unit)", [Officer]
);
policy!(
    /// Importing incident files (victims' locations: the planner's data).
    ImportIncidents, "incident imports", [Planner, Admin]
);
policy!(
    /// Creating, editing and importing licensed premises.
    PremisesWrite, "premises edits and imports", [Liaison, Admin]
);
policy!(
    /// Training records (they name trainers): reading, adding, importing.
    TrainingRecords, "training records", [Liaison, Admin]
);
policy!(
    /// Before and after training figures of a venue.
    TrainingImpact, "training impact figures", [Liaison, Admin]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_may_do_everything() {
        assert!(AnyUser::allows(Role::Admin));
        assert!(IncidentPoints::allows(Role::Admin));
        assert!(HotspotCells::allows(Role::Admin));
        assert!(Zones::allows(Role::Admin));
        assert!(PremisesRead::allows(Role::Admin));
        assert!(AuditLog::allows(Role::Admin));
    }

    #[test]
    fn incident_points_are_for_planners_only() {
        assert!(IncidentPoints::allows(Role::Planner));
        assert!(!IncidentPoints::allows(Role::Officer));
        assert!(!IncidentPoints::allows(Role::Liaison));
    }
}
