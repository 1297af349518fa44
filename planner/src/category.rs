//! Normalised offence categories.
//!
//! Sources name offences differently (police.uk's "Violence and sexual offences", Houston's
//! "aggravated assault", Chicago's assault file). Scoring works on one shared vocabulary so
//! that a harm table and the default night-time-economy filter mean the same everywhere.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A normalised offence category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// police.uk publishes violence and sexual offences as one type.
    ViolenceAndSexual,
    Violence,
    Sexual,
    PublicOrder,
    Robbery,
    TheftFromPerson,
    AntiSocialBehaviour,
    PossessionOfWeapons,
    Drugs,
    Burglary,
    VehicleCrime,
    Shoplifting,
    CriminalDamageArson,
    BicycleTheft,
    OtherTheft,
    Other,
}

impl Category {
    pub const ALL: [Category; 16] = [
        Category::ViolenceAndSexual,
        Category::Violence,
        Category::Sexual,
        Category::PublicOrder,
        Category::Robbery,
        Category::TheftFromPerson,
        Category::AntiSocialBehaviour,
        Category::PossessionOfWeapons,
        Category::Drugs,
        Category::Burglary,
        Category::VehicleCrime,
        Category::Shoplifting,
        Category::CriminalDamageArson,
        Category::BicycleTheft,
        Category::OtherTheft,
        Category::Other,
    ];

    /// The stable snake_case name used in the database, the CLI (`--category`) and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::ViolenceAndSexual => "violence_and_sexual",
            Category::Violence => "violence",
            Category::Sexual => "sexual",
            Category::PublicOrder => "public_order",
            Category::Robbery => "robbery",
            Category::TheftFromPerson => "theft_from_person",
            Category::AntiSocialBehaviour => "anti_social_behaviour",
            Category::PossessionOfWeapons => "possession_of_weapons",
            Category::Drugs => "drugs",
            Category::Burglary => "burglary",
            Category::VehicleCrime => "vehicle_crime",
            Category::Shoplifting => "shoplifting",
            Category::CriminalDamageArson => "criminal_damage_arson",
            Category::BicycleTheft => "bicycle_theft",
            Category::OtherTheft => "other_theft",
            Category::Other => "other",
        }
    }

    /// Offences the night-time economy drives; scored by default (DESIGN.md, Hotspot scoring).
    pub fn is_night_time_economy(self) -> bool {
        matches!(
            self,
            Category::ViolenceAndSexual
                | Category::Violence
                | Category::Sexual
                | Category::PublicOrder
                | Category::Robbery
                | Category::TheftFromPerson
                | Category::AntiSocialBehaviour
                | Category::PossessionOfWeapons
        )
    }

    /// Maps a police.uk "Crime type" (exactly as published) to a category.
    /// Returns `None` for a type police.uk does not publish, so an importer can name it.
    pub fn from_police_uk(crime_type: &str) -> Option<Category> {
        Some(match crime_type.trim() {
            "Violence and sexual offences" => Category::ViolenceAndSexual,
            "Anti-social behaviour" => Category::AntiSocialBehaviour,
            "Public order" => Category::PublicOrder,
            "Robbery" => Category::Robbery,
            "Theft from the person" => Category::TheftFromPerson,
            "Possession of weapons" => Category::PossessionOfWeapons,
            "Drugs" => Category::Drugs,
            "Burglary" => Category::Burglary,
            "Vehicle crime" => Category::VehicleCrime,
            "Shoplifting" => Category::Shoplifting,
            "Criminal damage and arson" => Category::CriminalDamageArson,
            "Bicycle theft" => Category::BicycleTheft,
            "Other theft" => Category::OtherTheft,
            "Other crime" => Category::Other,
            // Published before police.uk split "Public disorder and weapons" (2013).
            "Public disorder and weapons" => Category::PublicOrder,
            "Violent crime" => Category::ViolenceAndSexual,
            _ => return None,
        })
    }

    /// Maps a free-text offence name from other sources (force CSVs, US open data) by
    /// keywords. Unknown text becomes `Other` rather than an error: a force may use its own
    /// codes, and the raw text is always kept beside the normalised category.
    pub fn from_free_text(text: &str) -> Category {
        if let Ok(c) = text.parse::<Category>() {
            return c;
        }
        if let Some(c) = Category::from_police_uk(text) {
            return c;
        }
        let t = text.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
        if has(&["rape", "sexual", "indecent"]) {
            Category::Sexual
        } else if has(&["robbery"]) {
            Category::Robbery
        } else if has(&[
            "murder", "homicide", "violen", "assault", "battery", "wounding", "gbh", "abh",
        ]) {
            Category::Violence
        } else if has(&["weapon", "firearm", "knife"]) {
            Category::PossessionOfWeapons
        } else if has(&["public order", "disorder", "affray"]) {
            Category::PublicOrder
        } else if has(&["anti-social", "antisocial", "asb"]) {
            Category::AntiSocialBehaviour
        } else if has(&["auto theft", "vehicle", "motor"]) {
            Category::VehicleCrime
        } else if has(&["burglary"]) {
            Category::Burglary
        } else if has(&["shoplifting"]) {
            Category::Shoplifting
        } else if has(&["drug", "narcotic"]) {
            Category::Drugs
        } else if has(&["bicycle"]) {
            Category::BicycleTheft
        } else if has(&["arson", "damage", "vandalism"]) {
            Category::CriminalDamageArson
        } else if has(&["pickpocket", "theft from the person", "snatch"]) {
            Category::TheftFromPerson
        } else if has(&["theft", "larceny"]) {
            Category::OtherTheft
        } else {
            Category::Other
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the snake_case category names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category {0:?} (expected one of: {list})", list = Category::ALL.map(|c| c.as_str()).join(", "))]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| UnknownCategory(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_police_uk_type_in_the_bedfordshire_files_maps() {
        // The 14 types found in the 12 Bedfordshire months (SOURCES.md).
        let types = [
            "Violence and sexual offences",
            "Anti-social behaviour",
            "Vehicle crime",
            "Other theft",
            "Public order",
            "Criminal damage and arson",
            "Shoplifting",
            "Burglary",
            "Drugs",
            "Other crime",
            "Possession of weapons",
            "Bicycle theft",
            "Robbery",
            "Theft from the person",
        ];
        let mapped: std::collections::HashSet<_> = types
            .iter()
            .map(|t| Category::from_police_uk(t).unwrap())
            .collect();
        assert_eq!(mapped.len(), 14, "each type maps to its own category");
        assert_eq!(Category::from_police_uk("Cybercrime"), None);
    }

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), c);
        }
        assert!("violent".parse::<Category>().is_err());
    }

    #[test]
    fn free_text_keywords() {
        assert_eq!(
            Category::from_free_text("aggravated assault"),
            Category::Violence
        );
        assert_eq!(Category::from_free_text("rape"), Category::Sexual);
        assert_eq!(
            Category::from_free_text("personal robbery"),
            Category::Robbery
        );
        assert_eq!(
            Category::from_free_text("auto theft"),
            Category::VehicleCrime
        );
        assert_eq!(Category::from_free_text("theft"), Category::OtherTheft);
        assert_eq!(Category::from_free_text("murder"), Category::Violence);
        assert_eq!(
            Category::from_free_text("public_order"),
            Category::PublicOrder
        );
        assert_eq!(Category::from_free_text("something else"), Category::Other);
    }
}
