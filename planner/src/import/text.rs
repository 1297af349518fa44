//! The one check on text people will read: names, addresses, courses, trainers, places.
//!
//! Anyone can edit OpenStreetMap, and a venue's name becomes a zone name in the rota CSV,
//! the unit calendars and the map. So every importer refuses, as a row error naming the
//! field, text holding:
//!
//! * a **control character** (`char::is_control`: C0 and C1 controls, among them NUL, tab,
//!   CR, LF, ESC and NEL), which can end a CSV row or an iCalendar line early, move a
//!   terminal's cursor, or hide part of a value;
//! * a **bidirectional override or isolate** (U+202A to U+202E, U+2066 to U+2069), which
//!   makes text display in another order than it is stored ("Trojan Source");
//! * a **line or paragraph separator** (U+2028, U+2029), line breaks to JavaScript and to
//!   some spreadsheet and calendar readers.
//!
//! Surrounding whitespace is trimmed first (a trailing tab or CRLF is not refused). Other
//! invisible format characters are kept: the UK pub list names a pub `\u{200B}Lock
//! \u{200B}Keeper` (zero-width spaces), which is odd but harmless. Free-text notes may
//! hold line breaks and tabs ([`TextKind::MultiLine`]); the other controls are refused
//! there too.
//!
//! Refusing is only half of it: a name may still start with `=` or `+` (a spreadsheet
//! formula). That is for the writers to neutralise, with [`crate::export`].

/// What a field may hold besides one line of plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// One line: names, addresses, places, codes, ids.
    Line,
    /// Free-text notes: line feeds and tabs allowed as well.
    MultiLine,
}

/// Why `c` may not appear in a field of `kind`, or `None` if it may.
pub fn forbidden(c: char, kind: TextKind) -> Option<&'static str> {
    match c {
        '\n' | '\t' if kind == TextKind::MultiLine => None,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => Some(
            "a bidirectional-text control, which makes text display in another order than it is stored",
        ),
        '\u{2028}' | '\u{2029}' => Some("a line or paragraph separator"),
        c if c.is_control() => Some("a control character"),
        _ => None,
    }
}

/// Checks one field's (already trimmed) text, naming the first offending character by
/// code point and position, never by printing it.
///
/// ```
/// use planner::import::text::{TextKind, check_text};
/// assert!(check_text("The George", TextKind::Line).is_ok());
/// assert!(check_text("=HYPERLINK(\"http://x\")", TextKind::Line).is_ok()); // quoted on export
/// let e = check_text("Bar\rEvil", TextKind::Line).unwrap_err();
/// assert_eq!(e, "contains a control character (U+000D) at character 4; expected plain text");
/// assert!(check_text("line one\nline two", TextKind::MultiLine).is_ok());
/// ```
pub fn check_text(text: &str, kind: TextKind) -> Result<(), String> {
    match text
        .chars()
        .enumerate()
        .find_map(|(i, c)| forbidden(c, kind).map(|why| (i, c, why)))
    {
        None => Ok(()),
        Some((i, c, why)) => Err(format!(
            "contains {why} (U+{:04X}) at character {}; expected plain text",
            c as u32,
            i + 1
        )),
    }
}

/// `Some(trimmed)` unless empty or `NA` (as [`super::non_empty`]), checked as one line of
/// plain text.
pub fn optional_line(text: &str) -> Result<Option<String>, String> {
    let t = super::non_empty(text);
    if let Some(t) = &t {
        check_text(t, TextKind::Line)?;
    }
    Ok(t)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn refuses_controls_bidi_and_separators_and_keeps_the_rest() {
        for bad in [
            "a\0b",
            "a\rb",
            "a\nb",
            "a\tb",
            "a\u{1b}[2Jb",
            "a\u{85}b",
            "a\u{7f}b",
            "a\u{202E}b",
            "a\u{202A}b",
            "a\u{2066}b",
            "a\u{2069}b",
            "a\u{2028}b",
        ] {
            assert!(check_text(bad, TextKind::Line).is_err(), "{bad:?}");
        }
        for good in [
            "The George",
            "Café Rouge",
            "老虎酒吧",
            "\u{200B}Lock \u{200B}Keeper",
            "O'Neill's",
            "=1+1",
            "Bar \"Soviet\"",
        ] {
            assert_eq!(check_text(good, TextKind::Line), Ok(()), "{good:?}");
        }
        assert!(check_text("a\nb\tc", TextKind::MultiLine).is_ok());
        assert!(check_text("a\rb", TextKind::MultiLine).is_err());
        assert!(check_text("a\u{202E}b", TextKind::MultiLine).is_err());
        let e = check_text("ab\u{202E}", TextKind::Line).unwrap_err();
        assert!(e.contains("U+202E") && e.contains("character 3"), "{e}");
    }

    #[test]
    fn optional_lines_trim_then_check() {
        assert_eq!(
            optional_line("  The George\r\n"),
            Ok(Some("The George".into()))
        );
        assert_eq!(optional_line(" NA "), Ok(None));
        assert_eq!(optional_line(""), Ok(None));
        assert!(optional_line("The\u{0}George").is_err());
    }
}
