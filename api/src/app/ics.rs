//! iCalendar (RFC 5545) files for a unit's itinerary: one event per run of the same
//! activity, in the force's local time. For Europe/London the events carry
//! `TZID=Europe/London` with its VTIMEZONE (as RFC 5545 requires); other zones are written
//! in UTC, which every calendar shows in the reader's own time.
//!
//! Written by hand: the `icalendar` crate cannot emit a VTIMEZONE; the tests read the
//! output back with its parser.

use super::plan::Rota;
use planner::rota::Assignment;

/// Europe/London since 1996: BST from 01:00 UTC on the last Sunday of March, GMT from 01:00
/// UTC (02:00 BST) on the last Sunday of October.
const LONDON_VTIMEZONE: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nTZNAME:BST\r\nDTSTART:19810329T010000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nTZNAME:GMT\r\nDTSTART:19961027T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

/// Escapes TEXT values (RFC 5545 3.3.11): venue names come from OpenStreetMap, which
/// anyone edits, so a CR or another control character must not start a property of its own.
fn text(s: &str) -> String {
    planner::export::ical_text(s)
}

/// Folds a content line at 75 octets (RFC 5545 3.1), on character boundaries.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut len = 0;
    for c in line.chars() {
        if len + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            len = 1;
        }
        out.push(c);
        len += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

fn stamp(t: jiff::Timestamp, london: bool) -> String {
    if london {
        let z = t.to_zoned(planner::time::london());
        format!(";TZID=Europe/London:{}", z.strftime("%Y%m%dT%H%M%S"))
    } else {
        format!(":{}", t.strftime("%Y%m%dT%H%M%SZ"))
    }
}

/// The calendar of unit `u`.
pub fn unit_calendar(p: &Rota, u: usize) -> String {
    let plan = &p.plan;
    let callsign = &plan.callsigns[u];
    let tz = plan
        .slots
        .first()
        .map(|s| s.start_local.time_zone().clone());
    let london = tz.as_ref().and_then(|t| t.iana_name()) == Some("Europe/London");
    let mut s = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Firefly//patrol plan//EN\r\nCALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n",
    );
    s.push_str(&fold(&format!(
        "X-WR-CALNAME:{}",
        text(&format!("Firefly {callsign}, night of {}", p.night))
    )));
    if london {
        s.push_str(LONDON_VTIMEZONE);
    }
    let now = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let row = &plan.assignments[u];
    let mut i = 0;
    while i < row.len() {
        let a = row[i];
        let mut j = i + 1;
        while j < row.len() && row[j] == a {
            j += 1;
        }
        let summary = match a {
            Assignment::Zone(z) => p
                .problem
                .zones()
                .get(z)
                .map(|z| format!("Patrol {} {}", z.id, z.name)),
            Assignment::Travel { to, .. } => {
                Some(match to.and_then(|z| p.problem.zones().get(z)) {
                    Some(z) => format!("Walk to {} {}", z.id, z.name),
                    None => "Walk back to station".to_string(),
                })
            }
            Assignment::Break => Some("Meal break".to_string()),
            Assignment::Off => None,
        };
        if let Some(summary) = summary {
            let start = plan.slots[i].start_utc;
            let end = plan.slots[j - 1].end_utc;
            s.push_str("BEGIN:VEVENT\r\n");
            s.push_str(&fold(&format!(
                "UID:firefly-{}-{}-{}-{i}@firefly",
                p.night,
                text(callsign),
                plan.seed
            )));
            s.push_str(&format!("DTSTAMP:{now}\r\n"));
            s.push_str(&format!("DTSTART{}\r\n", stamp(start, london)));
            s.push_str(&format!("DTEND{}\r\n", stamp(end, london)));
            s.push_str(&fold(&format!("SUMMARY:{}", text(&summary))));
            if let Assignment::Zone(z) = a
                && let (Some(zone), Some(&(lon, lat))) =
                    (p.problem.zones().get(z), p.zone_lonlat.get(z))
            {
                if lon.is_finite() && lat.is_finite() {
                    s.push_str(&format!("GEO:{lat:.6};{lon:.6}\r\n"));
                }
                s.push_str(&fold(&format!("LOCATION:{}", text(&zone.name))));
            }
            s.push_str("END:VEVENT\r\n");
        }
        i = j;
    }
    s.push_str("END:VCALENDAR\r\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_escaping() {
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        // issue 13: a CR cannot end the line and inject a property.
        let injected = text("Bar\rATTENDEE:mailto:x@example.org");
        assert!(
            !injected.contains('\r') && !injected.contains('\n'),
            "{injected}"
        );
        let long = "X".repeat(160);
        let folded = fold(&long);
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", "").trim_end(), long);
        // Multi-byte characters are never split.
        let accents = "é".repeat(60);
        assert!(fold(&accents).replace("\r\n ", "").trim_end() == accents);
    }
}
