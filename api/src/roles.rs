//! The four roles of the contract, and what each may see. The HTTP server checks them in
//! one place (`server::auth::Require`); the CLI assigns them (`firefly users add --role`).

use serde::{Deserialize, Serialize};

/// A user's role (DESIGN.md, "Roles").
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Plans, incidents (the points), hotspots, zones.
    Planner,
    /// Hotspot cells (never incident points), zones, premises, published plans, their own
    /// itinerary and calendar, check-ins.
    Officer,
    /// Premises and training, venue risk and impact, hotspot cells.
    Liaison,
    /// Users, audit, everything.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Planner, Role::Officer, Role::Liaison, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Planner => "planner",
            Role::Officer => "officer",
            Role::Liaison => "liaison",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that names no role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role (planner, officer, liaison, admin)")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_text() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
