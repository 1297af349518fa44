//! Time windows: weekend nights, `DAYS@HH:MM-HH:MM` specs and busy-period calendars.
//!
//! Firefly scores the hours officers can actually be deployed in, so every score, zone and
//! backtest is filtered through a window first. Three rules from DESIGN.md ("Time") shape
//! this module:
//!
//! - **A night belongs to the date it starts on.** `fri@18:00-06:00` is one period that runs
//!   from Friday evening into Saturday morning, and [`WindowSpec::night_of`] answers "Friday".
//! - **DST changes happen inside weekend nights.** Boundaries are local wall-clock times,
//!   resolved to instants by [`WindowSpec::night_bounds`]: the night of Saturday 30 March 2024
//!   in Europe/London lasts 11 real hours and the night of Saturday 26 October 2024 lasts 13,
//!   and both instants that read "01:30" on 27 October lie in the Saturday night.
//!   Membership ([`WindowSpec::contains`]) is decided on those instants, so `contains`,
//!   `night_of` and `night_bounds` always agree.
//! - **Month-only incidents count for place, never for hour.** [`WindowSpec::contains`] takes a
//!   [`Timestamp`], so an incident without one cannot be asked about by accident;
//!   [`WindowSpec::select`] decides for an [`OccurredAt`] and says
//!   [`Selection::PlaceOnly`] for month-only incidents, which a [`WindowTally`] counts so that
//!   outputs can report how many incidents located a hotspot but not its hours.
//!
//! A [`BusyCalendar`] (bank holidays, New Year's Eve, fixtures, freshers' week) makes extra
//! dates count like the window's own days: see [`WindowSpec::with_calendar`].
//!
//! Boundary rule at DST changes: a period starts at the first instant whose local clock reads
//! the start time (a start inside a skipped hour starts when the clock jumps; a start inside a
//! repeated hour starts at its first occurrence) and ends at the last instant at which the local
//! clock reads the end time (an end inside a repeated hour is its second occurrence; an end
//! inside a skipped hour is the jump). Ends are exclusive.
//!
//! ```
//! use planner::window::WindowSpec;
//! use jiff::{Timestamp, tz::TimeZone};
//!
//! let window: WindowSpec = "weekend-nights".parse().unwrap();
//! let london = TimeZone::get("Europe/London").unwrap();
//! // 23:30 BST on Friday 7 June 2024.
//! let ts: Timestamp = "2024-06-07T22:30:00Z".parse().unwrap();
//! assert!(window.contains(ts, &london));
//! assert_eq!(window.night_of(ts, &london).unwrap().to_string(), "2024-06-07");
//! ```

use crate::time::OccurredAt;
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// Days of the week as a set (bit 0 = Monday … bit 6 = Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Days(u8);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_LONG_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl Days {
    /// Every day of the week.
    pub const ALL: Days = Days(0x7f);
    /// Friday and Saturday (the nights that start on them are the weekend nights).
    pub const FRI_SAT: Days = Days((1 << 4) | (1 << 5));

    /// Whether the set holds `day`.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.to_monday_zero_offset()) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn day_index(name: &str) -> Option<u8> {
        let n = name.trim().to_ascii_lowercase();
        DAY_NAMES
            .iter()
            .position(|d| *d == n)
            .or_else(|| DAY_LONG_NAMES.iter().position(|d| *d == n))
            .map(|i| i as u8)
    }

    /// Parses `fri,sat`, `mon-sun`, `sat-mon` (wraps past Sunday), `fri`, and full names.
    fn parse(text: &str, part: &str) -> Result<Days, WindowError> {
        let mut bits = 0u8;
        for item in text.split(',') {
            let unknown = |day: &str| WindowError::UnknownDay {
                part: part.to_string(),
                day: day.trim().to_string(),
            };
            if let Some((a, b)) = item.split_once('-') {
                let from = Days::day_index(a).ok_or_else(|| unknown(a))?;
                let to = Days::day_index(b).ok_or_else(|| unknown(b))?;
                let mut d = from;
                loop {
                    bits |= 1 << d;
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            } else {
                let d = Days::day_index(item).ok_or_else(|| unknown(item))?;
                bits |= 1 << d;
            }
        }
        Ok(Days(bits))
    }
}

impl fmt::Display for Days {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Days::ALL {
            return f.write_str("mon-sun");
        }
        let names: Vec<&str> = (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| DAY_NAMES[i])
            .collect();
        f.write_str(&names.join(","))
    }
}

/// One `DAYS@HH:MM-HH:MM` range: on each of `days`, from `start` to `end` local time.
///
/// Times are minutes after local midnight. `end <= start` means the period runs past midnight
/// into the next day (and `end == start` means a full 24 hours); `end` may be 24:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DailyRange {
    pub days: Days,
    /// Minutes after midnight, 0..1440.
    pub start: u16,
    /// Minutes after midnight, 1..=1440 (1440 = 24:00, the end of the start day).
    pub end: u16,
}

impl DailyRange {
    /// Whether the period runs past midnight into the next day.
    pub fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }

    /// Local start and (exclusive) end of the period that starts on `date`.
    fn local_bounds(&self, date: Date) -> (DateTime, DateTime) {
        let start = date.to_datetime(minutes_to_time(self.start));
        let end_date = if self.crosses_midnight() || self.end == MINUTES_PER_DAY {
            date.tomorrow().unwrap_or(date)
        } else {
            date
        };
        let end = end_date.to_datetime(minutes_to_time(self.end % MINUTES_PER_DAY));
        (start, end)
    }
}

impl fmt::Display for DailyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}@{}-{}", self.days, hm(self.start), hm(self.end))
    }
}

fn minutes_to_time(m: u16) -> Time {
    let m = m % MINUTES_PER_DAY;
    Time::constant((m / 60) as i8, (m % 60) as i8, 0, 0)
}

/// Why a window spec could not be read. The caller should show the message and stop: nothing
/// can be scored with a window the user did not mean.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The spec was blank.
    #[error("empty window: use weekend-nights, all, or DAYS@HH:MM-HH:MM[;DAYS@HH:MM-HH:MM...]")]
    Empty,
    /// A `;`-separated part is not `DAYS@HH:MM-HH:MM`.
    #[error("window part {part:?}: {reason} (expected DAYS@HH:MM-HH:MM, e.g. fri,sat@18:00-06:00)")]
    Syntax { part: String, reason: &'static str },
    /// A day name is not one of mon, tue, wed, thu, fri, sat, sun (or the full name).
    #[error(
        "window part {part:?}: unknown day {day:?} (expected mon, tue, wed, thu, fri, sat or sun)"
    )]
    UnknownDay { part: String, day: String },
    /// A time is not HH:MM on a 24-hour clock (24:00 is allowed as an end).
    #[error(
        "window part {part:?}: invalid time {time:?} (expected HH:MM, 00:00 to 23:59; 24:00 as an end)"
    )]
    BadTime { part: String, time: String },
}

/// Which hours a score, zone or backtest looks at.
///
/// Parsed from `weekend-nights` (Friday and Saturday 18:00-06:00 local), `all`, or
/// `DAYS@HH:MM-HH:MM[;DAYS@HH:MM-HH:MM...]`. `Display` writes a spec that parses back to the
/// same window (a busy calendar, which comes from its own file, is not part of the text).
///
/// ```
/// use planner::window::WindowSpec;
/// let w: WindowSpec = "sat-sun@22:00-04:00;fri@20:00-24:00".parse().unwrap();
/// assert_eq!(w.to_string(), "sat,sun@22:00-04:00;fri@20:00-24:00");
/// assert!("fri@18:00".parse::<WindowSpec>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpec {
    kind: Kind,
    calendar: BusyCalendar,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    All,
    WeekendNights,
    Ranges(Vec<DailyRange>),
}

/// The weekend nights: Friday and Saturday 18:00-06:00.
const WEEKEND_NIGHTS: DailyRange = DailyRange {
    days: Days::FRI_SAT,
    start: 18 * 60,
    end: 6 * 60,
};

impl Default for WindowSpec {
    /// `weekend-nights`, the contract's default.
    fn default() -> Self {
        WindowSpec::weekend_nights()
    }
}

impl WindowSpec {
    /// Friday and Saturday nights, 18:00 to 06:00 local.
    pub fn weekend_nights() -> WindowSpec {
        WindowSpec {
            kind: Kind::WeekendNights,
            calendar: BusyCalendar::default(),
        }
    }

    /// Every hour of every day.
    pub fn all() -> WindowSpec {
        WindowSpec {
            kind: Kind::All,
            calendar: BusyCalendar::default(),
        }
    }

    /// A window of explicit ranges. An empty list is a window that contains nothing.
    pub fn from_ranges(ranges: Vec<DailyRange>) -> WindowSpec {
        WindowSpec {
            kind: Kind::Ranges(ranges),
            calendar: BusyCalendar::default(),
        }
    }

    /// Adds busy dates: on each calendar date, every range of the window applies as if the
    /// date were one of the range's days. For `weekend-nights` that is the date's 18:00-06:00
    /// night; for `all` the calendar changes nothing.
    pub fn with_calendar(mut self, calendar: BusyCalendar) -> WindowSpec {
        self.calendar = calendar;
        self
    }

    /// The busy calendar in force (empty unless [`WindowSpec::with_calendar`] was used).
    pub fn calendar(&self) -> &BusyCalendar {
        &self.calendar
    }

    /// Whether this is the `all` window.
    pub fn is_all(&self) -> bool {
        matches!(self.kind, Kind::All)
    }

    /// The daily ranges (`weekend-nights` is `fri,sat@18:00-06:00`; `all` has none).
    pub fn ranges(&self) -> &[DailyRange] {
        match &self.kind {
            Kind::All => &[],
            Kind::WeekendNights => std::slice::from_ref(&WEEKEND_NIGHTS),
            Kind::Ranges(r) => r,
        }
    }

    fn applies(&self, range: &DailyRange, date: Date) -> bool {
        range.days.contains(date.weekday()) || self.calendar.contains(date)
    }

    /// The periods (start, exclusive end) that start on local `date`, in the order of the
    /// spec's ranges. For `all`, the one period from local midnight to the next.
    pub fn periods(&self, date: Date, tz: &TimeZone) -> Vec<(Timestamp, Timestamp)> {
        if self.is_all() {
            let next = date.tomorrow().unwrap_or(date);
            return vec![(
                resolve_start(date.to_datetime(Time::midnight()), tz),
                resolve_end(next.to_datetime(Time::midnight()), tz),
            )];
        }
        self.ranges()
            .iter()
            .filter(|r| self.applies(r, date))
            .map(|r| {
                let (s, e) = r.local_bounds(date);
                (resolve_start(s, tz), resolve_end(e, tz))
            })
            .collect()
    }

    /// The night that starts on local `date`: from the earliest start to the latest end of
    /// the periods starting that day, or `None` if none does. For `weekend-nights` on a
    /// Friday, Friday 18:00 to Saturday 06:00 as instants (11 or 13 hours on DST nights).
    pub fn night_bounds(&self, date: Date, tz: &TimeZone) -> Option<(Timestamp, Timestamp)> {
        let periods = self.periods(date, tz);
        let start = periods.iter().map(|p| p.0).min()?;
        let end = periods.iter().map(|p| p.1).max()?;
        Some((start, end))
    }

    /// The local date on which the period holding `ts` started, or `None` if `ts` is outside
    /// the window. Where periods overlap, the earliest-starting date wins. For `all`, the
    /// local date of `ts`.
    pub fn night_of(&self, ts: Timestamp, tz: &TimeZone) -> Option<Date> {
        let local = tz.to_datetime(ts).date();
        if self.is_all() {
            return Some(local);
        }
        // A period starting on date d ends at the latest on d + 1 (local), so only the local
        // date and the day before can hold `ts`.
        let candidates = [local.yesterday().ok(), Some(local)];
        for date in candidates.into_iter().flatten() {
            for range in self.ranges() {
                if !self.applies(range, date) {
                    continue;
                }
                let (s, e) = range.local_bounds(date);
                if resolve_start(s, tz) <= ts && ts < resolve_end(e, tz) {
                    return Some(date);
                }
            }
        }
        None
    }

    /// Whether the instant `ts` lies in the window. Month-only incidents have no instant:
    /// use [`WindowSpec::select`] for an [`OccurredAt`].
    pub fn contains(&self, ts: Timestamp, tz: &TimeZone) -> bool {
        self.night_of(ts, tz).is_some()
    }

    /// Decides an incident's time against the window. Month-only incidents are
    /// [`Selection::PlaceOnly`]: they locate hotspots but never count for an hour.
    pub fn select(&self, occurred: &OccurredAt, tz: &TimeZone) -> Selection {
        match occurred.instant() {
            None => Selection::PlaceOnly,
            Some(ts) => match self.night_of(ts, tz) {
                Some(night) => Selection::InWindow { night },
                None => Selection::Outside,
            },
        }
    }

    /// Keeps the items that count for place in this window (timed incidents inside it and
    /// every month-only incident), in order, and tallies every decision.
    pub fn filter<T>(
        &self,
        items: impl IntoIterator<Item = T>,
        occurred: impl Fn(&T) -> OccurredAt,
        tz: &TimeZone,
    ) -> (Vec<T>, WindowTally) {
        let mut tally = WindowTally::default();
        let kept = items
            .into_iter()
            .filter(|item| {
                let s = self.select(&occurred(item), tz);
                tally.add(s);
                s.counts_for_place()
            })
            .collect();
        (kept, tally)
    }
}

/// First instant whose local clock reads `dt` or later (gap: the jump; fold: first pass).
fn resolve_start(dt: DateTime, tz: &TimeZone) -> Timestamp {
    let amb = tz.to_ambiguous_timestamp(dt);
    match amb.offset() {
        AmbiguousOffset::Unambiguous { offset } => to_ts(dt, offset),
        AmbiguousOffset::Gap { after, .. } => transition_after(dt, after, tz),
        AmbiguousOffset::Fold { before, .. } => to_ts(dt, before),
    }
}

/// Last instant at which the local clock reads `dt` (gap: the jump; fold: second pass).
fn resolve_end(dt: DateTime, tz: &TimeZone) -> Timestamp {
    let amb = tz.to_ambiguous_timestamp(dt);
    match amb.offset() {
        AmbiguousOffset::Unambiguous { offset } => to_ts(dt, offset),
        AmbiguousOffset::Gap { after, .. } => transition_after(dt, after, tz),
        AmbiguousOffset::Fold { after, .. } => to_ts(dt, after),
    }
}

fn to_ts(dt: DateTime, offset: jiff::tz::Offset) -> Timestamp {
    // Only fails for datetimes at the very ends of jiff's range, never for a real night.
    offset.to_timestamp(dt).unwrap_or(Timestamp::MIN)
}

/// The instant the clock jumps over a gap that holds local `dt`. Read with the offset after
/// the gap, `dt` is an instant before the jump, so the jump is the next transition.
fn transition_after(dt: DateTime, after: jiff::tz::Offset, tz: &TimeZone) -> Timestamp {
    let before_jump = to_ts(dt, after);
    tz.following(before_jump)
        .next()
        .map(|t| t.timestamp())
        .unwrap_or(before_jump)
}

impl FromStr for WindowSpec {
    type Err = WindowError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "" => return Err(WindowError::Empty),
            "weekend-nights" => return Ok(WindowSpec::weekend_nights()),
            "all" => return Ok(WindowSpec::all()),
            _ => {}
        }
        let mut ranges = Vec::new();
        for part in s.split(';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            ranges.push(parse_range(part)?);
        }
        if ranges.is_empty() {
            return Err(WindowError::Empty);
        }
        Ok(WindowSpec::from_ranges(ranges))
    }
}

fn parse_range(part: &str) -> Result<DailyRange, WindowError> {
    let syntax = |reason| WindowError::Syntax {
        part: part.to_string(),
        reason,
    };
    let (days, times) = part.split_once('@').ok_or_else(|| syntax("missing '@'"))?;
    let days = Days::parse(days, part)?;
    if days.is_empty() {
        return Err(syntax("no days"));
    }
    let (start, end) = times
        .split_once('-')
        .ok_or_else(|| syntax("missing '-' between start and end times"))?;
    let start = parse_hhmm(start, part, false)?;
    let end = parse_hhmm(end, part, true)?;
    Ok(DailyRange { days, start, end })
}

fn parse_hhmm(text: &str, part: &str, is_end: bool) -> Result<u16, WindowError> {
    let bad = || WindowError::BadTime {
        part: part.to_string(),
        time: text.trim().to_string(),
    };
    let t = text.trim();
    let (h, m) = t.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    let minutes = h * 60 + m;
    if m >= 60 || minutes > MINUTES_PER_DAY || (minutes == MINUTES_PER_DAY && !is_end) {
        return Err(bad());
    }
    Ok(minutes)
}

impl fmt::Display for WindowSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::All => f.write_str("all"),
            Kind::WeekendNights => f.write_str("weekend-nights"),
            Kind::Ranges(r) => {
                let parts: Vec<String> = r.iter().map(|r| r.to_string()).collect();
                f.write_str(&parts.join(";"))
            }
        }
    }
}

/// How a window treats one incident's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// A timed incident inside the window, in the night that started on `night`.
    InWindow { night: Date },
    /// A timed incident outside the window.
    Outside,
    /// A month-only incident: it counts for place but never for an hour.
    PlaceOnly,
}

impl Selection {
    /// Whether the incident should be used to locate hotspots.
    pub fn counts_for_place(self) -> bool {
        !matches!(self, Selection::Outside)
    }

    /// Whether the incident may count towards an hour (profiles, hour-based filters).
    pub fn counts_for_hour(self) -> bool {
        matches!(self, Selection::InWindow { .. })
    }
}

/// How many incidents a window kept, dropped, or kept for place only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowTally {
    /// Timed incidents inside the window.
    pub in_window: usize,
    /// Timed incidents outside the window (dropped).
    pub outside: usize,
    /// Month-only incidents, kept for place only (`n_untimed` in outputs).
    pub place_only: usize,
}

impl WindowTally {
    pub fn add(&mut self, s: Selection) {
        match s {
            Selection::InWindow { .. } => self.in_window += 1,
            Selection::Outside => self.outside += 1,
            Selection::PlaceOnly => self.place_only += 1,
        }
    }
}

/// Busy dates beyond weekends (bank holidays, New Year's Eve, fixtures, freshers' week), whose
/// nights count like the window's own days.
///
/// Text form: one `YYYY-MM-DD[,label]` per line; `#` starts a comment; blank lines are
/// ignored. A date listed twice keeps both labels.
///
/// ```
/// use planner::window::BusyCalendar;
/// let cal = BusyCalendar::parse("# 2024\n2024-12-31,New Year's Eve\n2024-08-26\n").unwrap();
/// assert_eq!(cal.len(), 2);
/// assert_eq!(cal.label("2024-12-31".parse().unwrap()), Some("New Year's Eve"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BusyCalendar {
    dates: BTreeMap<Date, String>,
}

/// One bad line of a busy calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarProblem {
    /// 1-based line number.
    pub line: usize,
    /// `date` (the only checked field).
    pub field: &'static str,
    pub reason: String,
}

/// A busy calendar had bad lines; every one is listed, so the user can fix the file at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.iter().map(|p| format!("line {}: {}: {}", p.line, p.field, p.reason)).collect::<Vec<_>>().join("\n"))]
pub struct CalendarError {
    pub problems: Vec<CalendarProblem>,
}

impl BusyCalendar {
    /// Reads the text form. Fails with every bad line listed.
    pub fn parse(text: &str) -> Result<BusyCalendar, CalendarError> {
        let mut cal = BusyCalendar::default();
        let mut problems = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (date, label) = match line.split_once(',') {
                Some((d, l)) => (d.trim(), l.trim()),
                None => (line, ""),
            };
            match date.parse::<Date>() {
                Ok(d) if date.len() == 10 => cal.insert(d, label),
                _ => problems.push(CalendarProblem {
                    line: i + 1,
                    field: "date",
                    reason: format!("{date:?} is not a date (expected YYYY-MM-DD)"),
                }),
            }
        }
        if problems.is_empty() {
            Ok(cal)
        } else {
            Err(CalendarError { problems })
        }
    }

    /// Adds a date (an empty label for none). A second label for the same date is appended.
    pub fn insert(&mut self, date: Date, label: &str) {
        let entry = self.dates.entry(date).or_default();
        if !label.is_empty() {
            if !entry.is_empty() {
                entry.push_str("; ");
            }
            entry.push_str(label);
        }
    }

    pub fn contains(&self, date: Date) -> bool {
        self.dates.contains_key(&date)
    }

    /// The label of a listed date (`None` if unlisted or unlabelled).
    pub fn label(&self, date: Date) -> Option<&str> {
        self.dates
            .get(&date)
            .map(String::as_str)
            .filter(|l| !l.is_empty())
    }

    pub fn len(&self) -> usize {
        self.dates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }

    /// The listed dates, in order.
    pub fn dates(&self) -> impl Iterator<Item = Date> + '_ {
        self.dates.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{YearMonth, london};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }
    fn hours(a: Timestamp, b: Timestamp) -> f64 {
        b.duration_since(a).as_secs_f64() / 3600.0
    }

    #[test]
    fn parses_the_contract_forms() {
        let w: WindowSpec = "weekend-nights".parse().unwrap();
        assert_eq!(w, WindowSpec::weekend_nights());
        assert_eq!(w.ranges(), &[WEEKEND_NIGHTS]);
        assert!("all".parse::<WindowSpec>().unwrap().is_all());
        let w: WindowSpec = "fri,sat@18:00-06:00".parse().unwrap();
        assert_eq!(w.ranges(), &[WEEKEND_NIGHTS]);
        let w: WindowSpec = "mon-sun@22:00-02:00;fri@12:00-14:00".parse().unwrap();
        assert_eq!(w.ranges().len(), 2);
        assert_eq!(w.ranges()[0].days, Days::ALL);
        assert!(w.ranges()[0].crosses_midnight());
        assert!(!w.ranges()[1].crosses_midnight());
        // Wrapping day ranges and full names.
        let w: WindowSpec = "Sat-Mon@20:00-24:00".parse().unwrap();
        let d = w.ranges()[0].days;
        assert!(d.contains(Weekday::Saturday) && d.contains(Weekday::Sunday));
        assert!(d.contains(Weekday::Monday) && !d.contains(Weekday::Tuesday));
        assert_eq!(w.to_string(), "mon,sat,sun@20:00-24:00");
        let w: WindowSpec = "friday@18:00-06:00".parse().unwrap();
        assert_eq!(w.to_string(), "fri@18:00-06:00");
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "weekend-nights",
            "all",
            "fri,sat@18:00-06:00",
            "mon-sun@00:00-00:00",
            "tue@09:30-17:45;sun@23:00-24:00",
        ] {
            let w: WindowSpec = s.parse().unwrap();
            assert_eq!(w.to_string(), s);
            assert_eq!(w.to_string().parse::<WindowSpec>().unwrap(), w);
        }
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!("".parse::<WindowSpec>(), Err(WindowError::Empty));
        assert_eq!(" ; ".parse::<WindowSpec>(), Err(WindowError::Empty));
        let e = "fri18:00-06:00".parse::<WindowSpec>().unwrap_err();
        assert!(matches!(e, WindowError::Syntax { .. }), "{e}");
        assert!(e.to_string().contains("missing '@'"), "{e}");
        let e = "fri@18:00".parse::<WindowSpec>().unwrap_err();
        assert!(e.to_string().contains("missing '-'"), "{e}");
        let e = "fri,sab@18:00-06:00".parse::<WindowSpec>().unwrap_err();
        assert_eq!(
            e,
            WindowError::UnknownDay {
                part: "fri,sab@18:00-06:00".into(),
                day: "sab".into()
            }
        );
        assert!(e.to_string().contains("\"sab\""), "{e}");
        for bad in [
            "fri@25:00-06:00",
            "fri@18:60-06:00",
            "fri@6:00-07:00",
            "fri@24:00-06:00",
            "fri@18:00-24:01",
            "fri@ab:cd-06:00",
        ] {
            let e = bad.parse::<WindowSpec>().unwrap_err();
            assert!(matches!(e, WindowError::BadTime { .. }), "{bad}: {e}");
        }
        let e = "weekend-nights;fri@18:00-06:00"
            .parse::<WindowSpec>()
            .unwrap_err();
        assert!(matches!(e, WindowError::Syntax { .. }), "{e}");
    }

    #[test]
    fn weekend_nights_membership_and_night_of() {
        let w = WindowSpec::weekend_nights();
        let tz = london();
        // Friday 7 June 2024, BST (UTC+1).
        let cases = [
            ("2024-06-07T16:59:59Z", None),               // Fri 17:59:59 local
            ("2024-06-07T17:00:00Z", Some("2024-06-07")), // Fri 18:00
            ("2024-06-08T04:59:59Z", Some("2024-06-07")), // Sat 05:59:59
            ("2024-06-08T05:00:00Z", None),               // Sat 06:00 (exclusive end)
            ("2024-06-08T12:00:00Z", None),               // Sat 13:00
            ("2024-06-08T20:00:00Z", Some("2024-06-08")), // Sat 21:00
            ("2024-06-09T03:00:00Z", Some("2024-06-08")), // Sun 04:00
            ("2024-06-09T20:00:00Z", None),               // Sun 21:00: Sunday nights are out
            ("2024-06-06T23:00:00Z", None),               // Fri 00:00 is Thursday's night: out
        ];
        for (t, want) in cases {
            let got = w.night_of(ts(t), &tz).map(|d| d.to_string());
            assert_eq!(got.as_deref(), want, "{t}");
            assert_eq!(w.contains(ts(t), &tz), want.is_some(), "{t}");
        }
    }

    #[test]
    fn dst_nights_last_11_and_13_hours() {
        let w = WindowSpec::weekend_nights();
        let tz = london();
        // Last Saturday of March 2024: clocks go forward at 01:00 UTC on Sunday 31 March.
        let (s, e) = w.night_bounds(date("2024-03-30"), &tz).unwrap();
        assert_eq!(s, ts("2024-03-30T18:00:00Z"));
        assert_eq!(e, ts("2024-03-31T05:00:00Z"));
        assert_eq!(hours(s, e), 11.0);
        // Last Saturday of October 2024: clocks go back at 01:00 UTC on Sunday 27 October.
        let (s, e) = w.night_bounds(date("2024-10-26"), &tz).unwrap();
        assert_eq!(s, ts("2024-10-26T17:00:00Z"));
        assert_eq!(e, ts("2024-10-27T06:00:00Z"));
        assert_eq!(hours(s, e), 13.0);
        // An ordinary night lasts 12.
        let (s, e) = w.night_bounds(date("2024-10-19"), &tz).unwrap();
        assert_eq!(hours(s, e), 12.0);
        // No night starts on a Sunday.
        assert_eq!(w.night_bounds(date("2024-10-27"), &tz), None);
    }

    #[test]
    fn both_0130s_of_27_october_are_in_saturdays_night() {
        let w = WindowSpec::weekend_nights();
        let tz = london();
        for t in ["2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z"] {
            assert_eq!(
                ts(t).to_zoned(tz.clone()).time(),
                Time::constant(1, 30, 0, 0)
            );
            assert_eq!(w.night_of(ts(t), &tz), Some(date("2024-10-26")), "{t}");
        }
        // The last instant of the 13-hour night and the first after it.
        assert!(w.contains(ts("2024-10-27T05:59:59Z"), &tz));
        assert!(!w.contains(ts("2024-10-27T06:00:00Z"), &tz));
        // In March the night ends at 06:00 BST = 05:00 UTC.
        assert!(w.contains(ts("2024-03-31T04:59:59Z"), &tz));
        assert!(!w.contains(ts("2024-03-31T05:00:00Z"), &tz));
    }

    #[test]
    fn contains_agrees_with_night_bounds_minute_by_minute() {
        // Independent check: walk every minute of DST weekends and compare with bounds.
        let w: WindowSpec = "fri,sat@18:00-06:00;sun@00:30-01:30".parse().unwrap();
        let tz = london();
        for (from, days) in [("2024-03-29T00:00:00Z", 4), ("2024-10-25T00:00:00Z", 4)] {
            let start = ts(from);
            let mut nights: Vec<(Date, Timestamp, Timestamp)> = Vec::new();
            let first = start.to_zoned(tz.clone()).date().yesterday().unwrap();
            for k in 0..=days {
                let d = first.checked_add(jiff::Span::new().days(k)).unwrap();
                for (s, e) in w.periods(d, &tz) {
                    nights.push((d, s, e));
                }
            }
            for m in 0..(days * 24 * 60) {
                let t = start
                    .checked_add(jiff::SignedDuration::from_mins(m))
                    .unwrap();
                let want = nights
                    .iter()
                    .filter(|(_, s, e)| *s <= t && t < *e)
                    .map(|n| n.0)
                    .min();
                assert_eq!(w.night_of(t, &tz), want, "{t}");
            }
        }
    }

    #[test]
    fn bounds_inside_dst_gaps_and_folds() {
        let tz = london();
        // Starts at 01:30 on 31 March 2024 (skipped): the period starts at the jump, 01:00Z.
        let w: WindowSpec = "sun@01:30-03:00".parse().unwrap();
        let (s, e) = w.night_bounds(date("2024-03-31"), &tz).unwrap();
        assert_eq!(s, ts("2024-03-31T01:00:00Z"));
        assert_eq!(e, ts("2024-03-31T02:00:00Z"));
        // Ends at 01:30 on 27 October 2024 (repeated): the period ends at the second 01:30.
        let w: WindowSpec = "sat@22:00-01:30".parse().unwrap();
        let (s, e) = w.night_bounds(date("2024-10-26"), &tz).unwrap();
        assert_eq!(s, ts("2024-10-26T21:00:00Z"));
        assert_eq!(e, ts("2024-10-27T01:30:00Z"));
        // Starts at 01:30 on 27 October: from the first 01:30.
        let w: WindowSpec = "sun@01:30-02:00".parse().unwrap();
        let (s, e) = w.night_bounds(date("2024-10-27"), &tz).unwrap();
        assert_eq!(s, ts("2024-10-27T00:30:00Z"));
        assert_eq!(e, ts("2024-10-27T02:00:00Z"));
    }

    #[test]
    fn ranges_within_a_day_and_full_days() {
        let tz = TimeZone::UTC;
        let w: WindowSpec = "wed@12:00-14:00".parse().unwrap();
        // 5 June 2024 is a Wednesday.
        assert!(w.contains(ts("2024-06-05T12:00:00Z"), &tz));
        assert!(w.contains(ts("2024-06-05T13:59:00Z"), &tz));
        assert!(!w.contains(ts("2024-06-05T14:00:00Z"), &tz));
        assert!(!w.contains(ts("2024-06-06T12:30:00Z"), &tz));
        // 24:00 ends at midnight; equal start and end is 24 hours.
        let w: WindowSpec = "wed@20:00-24:00".parse().unwrap();
        assert!(w.contains(ts("2024-06-05T23:59:59Z"), &tz));
        assert!(!w.contains(ts("2024-06-06T00:00:00Z"), &tz));
        let w: WindowSpec = "wed@06:00-06:00".parse().unwrap();
        let (s, e) = w.night_bounds(date("2024-06-05"), &tz).unwrap();
        assert_eq!(hours(s, e), 24.0);
        assert_eq!(
            w.night_of(ts("2024-06-06T05:59:00Z"), &tz),
            Some(date("2024-06-05"))
        );
    }

    #[test]
    fn all_contains_everything_and_has_23_and_25_hour_days() {
        let w = WindowSpec::all();
        let tz = london();
        assert!(w.contains(ts("2024-06-05T03:00:00Z"), &tz));
        assert_eq!(
            w.night_of(ts("2024-06-04T23:30:00Z"), &tz),
            Some(date("2024-06-05"))
        );
        let (s, e) = w.night_bounds(date("2024-03-31"), &tz).unwrap();
        assert_eq!(hours(s, e), 23.0);
        let (s, e) = w.night_bounds(date("2024-10-27"), &tz).unwrap();
        assert_eq!(hours(s, e), 25.0);
    }

    #[test]
    fn busy_dates_count_like_weekend_nights() {
        let tz = london();
        let cal = BusyCalendar::parse(
            "# bank holidays\n2024-08-26,Summer bank holiday\n\n2024-12-31 , New Year's Eve # NYE\n",
        )
        .unwrap();
        assert_eq!(cal.len(), 2);
        let plain = WindowSpec::weekend_nights();
        let busy = WindowSpec::weekend_nights().with_calendar(cal.clone());
        // Monday 26 August 2024, 23:00 BST.
        let t = ts("2024-08-26T22:00:00Z");
        assert!(!plain.contains(t, &tz));
        assert_eq!(busy.night_of(t, &tz), Some(date("2024-08-26")));
        // Tuesday 31 December 2024, 18:00 GMT to 1 January 06:00.
        let (s, e) = busy.night_bounds(date("2024-12-31"), &tz).unwrap();
        assert_eq!(
            (s, e),
            (ts("2024-12-31T18:00:00Z"), ts("2025-01-01T06:00:00Z"))
        );
        assert!(busy.contains(ts("2025-01-01T02:00:00Z"), &tz));
        assert!(!busy.contains(ts("2025-01-01T18:30:00Z"), &tz));
        // The day after a busy date is not busy.
        assert!(!busy.contains(ts("2024-08-27T22:00:00Z"), &tz));
        // Weekend nights still count.
        assert!(busy.contains(ts("2024-08-23T22:00:00Z"), &tz));
        // A custom window applies its own ranges on busy dates.
        let w: WindowSpec = "fri@21:00-03:00".parse().unwrap();
        let w = w.with_calendar(cal);
        let (s, e) = w.night_bounds(date("2024-08-26"), &tz).unwrap();
        assert_eq!(
            (s, e),
            (ts("2024-08-26T20:00:00Z"), ts("2024-08-27T02:00:00Z"))
        );
    }

    #[test]
    fn calendar_lists_every_bad_line_and_merges_labels() {
        let err = BusyCalendar::parse("2024-12-31\n31/12/2024\nfoo,bar\n2024-02-30\n2024-1-1\n")
            .unwrap_err();
        let lines: Vec<usize> = err.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5]);
        assert!(err.to_string().contains("line 2: date:"), "{err}");
        let cal =
            BusyCalendar::parse("2024-12-26,Boxing Day\n2024-12-26,Fixture\n2024-12-25").unwrap();
        assert_eq!(cal.len(), 2);
        assert_eq!(cal.label(date("2024-12-26")), Some("Boxing Day; Fixture"));
        assert_eq!(cal.label(date("2024-12-25")), None);
        assert!(cal.contains(date("2024-12-25")));
        assert!(BusyCalendar::parse("# nothing\n\n").unwrap().is_empty());
    }

    #[test]
    fn month_only_incidents_count_for_place_only() {
        let tz = london();
        let w = WindowSpec::weekend_nights();
        let month = OccurredAt::Month(YearMonth {
            year: 2024,
            month: 6,
        });
        let inside = OccurredAt::Exact(ts("2024-06-07T22:00:00Z"));
        let outside = OccurredAt::Exact(ts("2024-06-05T12:00:00Z"));
        assert_eq!(w.select(&month, &tz), Selection::PlaceOnly);
        assert_eq!(
            w.select(&inside, &tz),
            Selection::InWindow {
                night: date("2024-06-07")
            }
        );
        assert_eq!(w.select(&outside, &tz), Selection::Outside);
        // Even the `all` window never gives a month-only incident an hour.
        assert_eq!(WindowSpec::all().select(&month, &tz), Selection::PlaceOnly);
        assert!(!Selection::PlaceOnly.counts_for_hour());
        assert!(Selection::PlaceOnly.counts_for_place());

        let items = vec![(1, month), (2, inside), (3, outside), (4, month)];
        let (kept, tally) = w.filter(items, |i| i.1, &tz);
        assert_eq!(kept.iter().map(|i| i.0).collect::<Vec<_>>(), vec![1, 2, 4]);
        assert_eq!(
            tally,
            WindowTally {
                in_window: 1,
                outside: 1,
                place_only: 2
            }
        );
    }
}
