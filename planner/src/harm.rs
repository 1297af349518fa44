//! Harm weights per category, and recency decay.
//!
//! Counting every incident as 1 ranks a street with ten shouted insults above a doorway with
//! two sexual assaults. Firefly weighs each incident by the harm of its category instead, in
//! the spirit of the Cambridge Crime Harm Index (CCHI; Sherman, Neyroud and Neyroud 2016),
//! which weighs an offence by the days of imprisonment its starting-point sentence carries for
//! a first offender.
//!
//! # The default table
//!
//! The CCHI is defined per offence (rape, GBH with intent, common assault, …), while Firefly's
//! categories are broad (police.uk publishes "violence and sexual offences" as one type). The
//! default therefore uses category-level values on a relative scale where one anti-social
//! behaviour report weighs 1. **They are not official CCHI figures**: they keep the CCHI's
//! order (sexual > robbery and violence > weapons > burglary > minor theft, disorder and ASB)
//! and its rough proportions, so that a sexual assault outweighs a public-order offence many
//! times over. A force with its own harm index loads it with [`HarmTable::parse`].
//!
//! | category | weight | why |
//! |---|---|---|
//! | `sexual` | 100 | rape and sexual assault carry the longest starting points |
//! | `violence_and_sexual` | 40 | police.uk's merged type; mostly violence, some sexual |
//! | `robbery` | 40 | personal robbery, typically a year or more |
//! | `violence` | 30 | from common assault to wounding; assault-heavy mix |
//! | `possession_of_weapons` | 10 | |
//! | `burglary` | 10 | |
//! | `theft_from_person` | 5 | pickpocketing and snatches in crowds |
//! | `drugs` | 3 | |
//! | `criminal_damage_arson` | 3 | |
//! | `vehicle_crime` | 3 | |
//! | `public_order` | 2 | mostly fines at the starting point |
//! | `bicycle_theft`, `other_theft`, `other` | 2 | |
//! | `shoplifting` | 1 | |
//! | `anti_social_behaviour` | 1 | not a crime; the reference unit |
//!
//! # Recency
//!
//! [`recency`] halves an incident's weight every `half_life_days`, so last month's fights count
//! for more than those of two years ago without forgetting stable hotspots.

use crate::category::Category;
use std::fmt;

/// Harm weight for every category.
///
/// ```
/// use planner::{Category, harm::HarmTable};
/// let harm = HarmTable::default();
/// assert!(harm.weight(Category::Sexual) > harm.weight(Category::PublicOrder));
/// let custom = HarmTable::parse("category,weight\npublic_order,5\n").unwrap();
/// assert_eq!(custom.weight(Category::PublicOrder), 5.0);
/// assert_eq!(custom.weight(Category::Sexual), harm.weight(Category::Sexual));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HarmTable {
    weights: [f64; Category::ALL.len()],
}

fn slot(c: Category) -> usize {
    // `Category::ALL` lists every variant once; the position is the table index.
    Category::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

impl Default for HarmTable {
    /// The CCHI-style default documented in the module docs.
    fn default() -> Self {
        let mut t = HarmTable::uniform(1.0);
        for (c, w) in [
            (Category::Sexual, 100.0),
            (Category::ViolenceAndSexual, 40.0),
            (Category::Robbery, 40.0),
            (Category::Violence, 30.0),
            (Category::PossessionOfWeapons, 10.0),
            (Category::Burglary, 10.0),
            (Category::TheftFromPerson, 5.0),
            (Category::Drugs, 3.0),
            (Category::CriminalDamageArson, 3.0),
            (Category::VehicleCrime, 3.0),
            (Category::PublicOrder, 2.0),
            (Category::BicycleTheft, 2.0),
            (Category::OtherTheft, 2.0),
            (Category::Other, 2.0),
            (Category::Shoplifting, 1.0),
            (Category::AntiSocialBehaviour, 1.0),
        ] {
            t.set(c, w);
        }
        t
    }
}

impl HarmTable {
    /// Every category weighs `w` (with `w = 1`, weighted counts are plain counts).
    pub fn uniform(w: f64) -> HarmTable {
        HarmTable {
            weights: [w; Category::ALL.len()],
        }
    }

    /// The harm weight of a category.
    pub fn weight(&self, c: Category) -> f64 {
        self.weights[slot(c)]
    }

    /// Sets one category's weight.
    pub fn set(&mut self, c: Category, w: f64) {
        self.weights[slot(c)] = w;
    }

    /// Reads `category,weight` lines over the default table: listed categories replace their
    /// default, unlisted ones keep it. An optional `category,weight` header, blank lines and
    /// `#` comments are allowed. Weights must be finite and not negative; a category may be
    /// listed once. Fails with every bad line listed.
    pub fn parse(text: &str) -> Result<HarmTable, HarmTableError> {
        let mut table = HarmTable::default();
        let mut seen: [Option<usize>; Category::ALL.len()] = [None; Category::ALL.len()];
        let mut problems = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut problem = |field: &'static str, reason: String| {
                problems.push(HarmProblem {
                    line: line_no,
                    field,
                    reason,
                })
            };
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != 2 {
                problem(
                    "line",
                    format!(
                        "expected 2 fields (category,weight), found {}",
                        fields.len()
                    ),
                );
                continue;
            }
            if fields[0].eq_ignore_ascii_case("category")
                && fields[1].eq_ignore_ascii_case("weight")
            {
                continue;
            }
            let category = match fields[0].parse::<Category>() {
                Ok(c) => Some(c),
                Err(e) => {
                    problem("category", e.to_string());
                    None
                }
            };
            let weight = match fields[1].parse::<f64>() {
                Ok(w) if w.is_finite() && w >= 0.0 => Some(w),
                _ => {
                    problem(
                        "weight",
                        format!("{:?} is not a finite number of at least 0", fields[1]),
                    );
                    None
                }
            };
            if let Some(c) = category {
                if let Some(first) = seen[slot(c)] {
                    problem(
                        "category",
                        format!("{c} is listed twice (first on line {first})"),
                    );
                    continue;
                }
                seen[slot(c)] = Some(line_no);
                if let Some(w) = weight {
                    table.set(c, w);
                }
            }
        }
        if problems.is_empty() {
            Ok(table)
        } else {
            Err(HarmTableError { problems })
        }
    }
}

impl fmt::Display for HarmTable {
    /// The text form [`HarmTable::parse`] reads, every category listed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "category,weight")?;
        for c in Category::ALL {
            writeln!(f, "{c},{}", self.weight(c))?;
        }
        Ok(())
    }
}

/// One bad line of a harm table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarmProblem {
    /// 1-based line number.
    pub line: usize,
    /// `category`, `weight`, or `line` for a malformed line.
    pub field: &'static str,
    pub reason: String,
}

/// A harm table had bad lines; each is listed so the file can be fixed in one go. The caller
/// should stop: scoring with half a harm table would silently reweigh categories.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.iter().map(|p| format!("line {}: {}: {}", p.line, p.field, p.reason)).collect::<Vec<_>>().join("\n"))]
pub struct HarmTableError {
    pub problems: Vec<HarmProblem>,
}

/// Recency weight `0.5^(age_days / half_life_days)`: 1 at age 0, ½ at one half-life.
///
/// Negative ages (an incident after the as-of date) count as fresh (1). An infinite half-life
/// means no decay. The half-life must be positive.
///
/// ```
/// use planner::harm::recency;
/// assert_eq!(recency(0.0, 365.0), 1.0);
/// assert_eq!(recency(365.0, 365.0), 0.5);
/// assert_eq!(recency(730.0, 365.0), 0.25);
/// ```
pub fn recency(age_days: f64, half_life_days: f64) -> f64 {
    if half_life_days.is_infinite() || age_days <= 0.0 {
        return 1.0;
    }
    0.5f64.powf(age_days / half_life_days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn default_orders_harm_like_the_cchi() {
        let h = HarmTable::default();
        let w = |c| h.weight(c);
        assert!(w(Category::Sexual) > w(Category::Violence));
        assert!(w(Category::Sexual) > w(Category::ViolenceAndSexual));
        assert!(w(Category::ViolenceAndSexual) >= w(Category::Violence));
        assert!(w(Category::Violence) > w(Category::PossessionOfWeapons));
        assert!(w(Category::Robbery) > w(Category::TheftFromPerson));
        assert!(w(Category::PossessionOfWeapons) > w(Category::PublicOrder));
        assert!(w(Category::PublicOrder) > w(Category::AntiSocialBehaviour));
        assert!(w(Category::Sexual) >= 10.0 * w(Category::PublicOrder));
        for c in Category::ALL {
            assert!(w(c) > 0.0, "{c}");
        }
    }

    #[test]
    fn parses_and_round_trips() {
        let t = HarmTable::parse(
            "# force harm index\ncategory,weight\nsexual, 250\n\nanti_social_behaviour,0.5 # ASB\n",
        )
        .unwrap();
        assert_eq!(t.weight(Category::Sexual), 250.0);
        assert_eq!(t.weight(Category::AntiSocialBehaviour), 0.5);
        assert_eq!(
            t.weight(Category::Robbery),
            HarmTable::default().weight(Category::Robbery)
        );
        assert_eq!(HarmTable::parse(&t.to_string()).unwrap(), t);
        let zero = HarmTable::parse("shoplifting,0").unwrap();
        assert_eq!(zero.weight(Category::Shoplifting), 0.0);
    }

    #[test]
    fn errors_name_every_bad_line() {
        let err = HarmTable::parse(
            "category,weight\nsexual,100\nsexaul,3\nrobbery,-1\nviolence\nsexual,7\ndrugs,NaN\nburglary,inf\n",
        )
        .unwrap_err();
        let got: Vec<(usize, &str)> = err.problems.iter().map(|p| (p.line, p.field)).collect();
        assert_eq!(
            got,
            vec![
                (3, "category"),
                (4, "weight"),
                (5, "line"),
                (6, "category"),
                (7, "weight"),
                (8, "weight")
            ]
        );
        let msg = err.to_string();
        assert!(
            msg.contains("line 3: category: unknown category \"sexaul\""),
            "{msg}"
        );
        assert!(
            msg.contains("line 6: category: sexual is listed twice (first on line 2)"),
            "{msg}"
        );
    }

    #[test]
    fn recency_halves_every_half_life() {
        assert_eq!(recency(0.0, 30.0), 1.0);
        assert_relative_eq!(recency(30.0, 30.0), 0.5, max_relative = 1e-15);
        assert_relative_eq!(recency(90.0, 30.0), 0.125, max_relative = 1e-15);
        assert_relative_eq!(recency(15.0, 30.0), 0.5f64.sqrt(), max_relative = 1e-15);
        assert_eq!(recency(-5.0, 30.0), 1.0);
        assert_eq!(recency(1e6, f64::INFINITY), 1.0);
        // Monotone: older never weighs more.
        let mut last = 1.0;
        for d in 0..1000 {
            let r = recency(d as f64, 45.0);
            assert!(r <= last && r > 0.0);
            last = r;
        }
    }
}
