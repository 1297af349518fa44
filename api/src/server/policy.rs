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
