//! Training records: which licensed premises had their staff trained (to spot predatory
//! behaviour and support victims), when, and when the refresher is due.

use jiff::civil::Date;
use jiff::{Span, ToSpan};
use serde::{Deserialize, Serialize};

/// Refreshers fall due this many months after training unless configured otherwise.
pub const DEFAULT_REFRESHER_MONTHS: i32 = 12;

/// One training session at one premises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// The premises' `source_id`.
    pub premises_id: String,
    pub date: Date,
    pub course: String,
    pub staff_trained: u32,
    pub trainer: String,
    pub notes: Option<String>,
}

impl TrainingRecord {
    /// When a refresher is due, `months` after the session.
    pub fn refresher_due(&self, months: i32) -> Date {
        let span: Span = months.months();
        self.date.checked_add(span).unwrap_or(Date::MAX)
    }
}

/// A venue's training status on a given day, as the liaison officer reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingStatus {
    NeverTrained,
    Trained,
    /// Refresher due within 30 days.
    DueSoon,
    Overdue,
}

/// The status of a venue from all its records (any order), on `today`.
pub fn training_status(records: &[TrainingRecord], today: Date, months: i32) -> TrainingStatus {
    let Some(latest) = records.iter().max_by_key(|r| r.date) else {
        return TrainingStatus::NeverTrained;
    };
    let due = latest.refresher_due(months);
    if due < today {
        TrainingStatus::Overdue
    } else if due <= today.checked_add(30.days()).unwrap_or(Date::MAX) {
        TrainingStatus::DueSoon
    } else {
        TrainingStatus::Trained
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn record(d: Date) -> TrainingRecord {
        TrainingRecord {
            premises_id: "osm:node/1".into(),
            date: d,
            course: "Ask for Angela".into(),
            staff_trained: 4,
            trainer: "PC 1234".into(),
            notes: None,
        }
    }

    #[test]
    fn refresher_is_twelve_months_on_including_leap_days() {
        assert_eq!(
            record(date(2024, 3, 15)).refresher_due(12),
            date(2025, 3, 15)
        );
        assert_eq!(
            record(date(2024, 2, 29)).refresher_due(12),
            date(2025, 2, 28)
        );
    }

    #[test]
    fn status_from_history() {
        let today = date(2025, 6, 1);
        assert_eq!(
            training_status(&[], today, 12),
            TrainingStatus::NeverTrained
        );
        assert_eq!(
            training_status(&[record(date(2025, 1, 10))], today, 12),
            TrainingStatus::Trained
        );
        assert_eq!(
            training_status(&[record(date(2024, 6, 20))], today, 12),
            TrainingStatus::DueSoon
        );
        assert_eq!(
            training_status(&[record(date(2024, 5, 31))], today, 12),
            TrainingStatus::Overdue
        );
        // The latest record counts, whatever the order.
        let history = [record(date(2025, 1, 10)), record(date(2023, 1, 1))];
        assert_eq!(
            training_status(&history, today, 12),
            TrainingStatus::Trained
        );
    }
}
