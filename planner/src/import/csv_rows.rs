//! Reading CSV rows with their line numbers and byte-exact field checks.
//!
//! Fields are decoded one by one so that a non-UTF-8 byte is reported against the field
//! that holds it, not as a failure of the whole file.

use super::RowError;
use super::text::{TextKind, check_text, optional_line};
use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;

/// A CSV file with a header, read row by row.
pub struct CsvRows<R: Read> {
    file: Rc<str>,
    reader: csv::Reader<CrlfToLf<R>>,
    columns: Rc<HashMap<String, usize>>,
    headers: Vec<String>,
    done: bool,
}

/// One data row.
pub struct Row {
    pub file: Rc<str>,
    pub line: u64,
    record: csv::ByteRecord,
    columns: Rc<HashMap<String, usize>>,
}

impl<R: Read> CsvRows<R> {
    /// Opens a CSV with a header row. `delimiter` is usually b','.
    pub fn new(file: &str, input: R, delimiter: u8) -> Result<Self, RowError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(CrlfToLf::new(input));
        let header = reader.byte_headers().map_err(|e| RowError {
            file: file.to_string(),
            line: 1,
            field: "header".into(),
            reason: format!("cannot read the header: {e}"),
        })?;
        let mut headers = Vec::new();
        for (i, h) in header.iter().enumerate() {
            let h = std::str::from_utf8(h).map_err(|_| RowError {
                file: file.to_string(),
                line: 1,
                field: format!("column {}", i + 1),
                reason: "header is not valid UTF-8".into(),
            })?;
            headers.push(h.trim_start_matches('\u{feff}').trim().to_string());
        }
        let columns = Rc::new(
            headers
                .iter()
                .enumerate()
                .map(|(i, h)| (h.clone(), i))
                .collect(),
        );
        Ok(CsvRows {
            file: Rc::from(file),
            reader,
            columns,
            headers,
            done: false,
        })
    }

    /// Opens a tab-separated file without a header row whose columns are `names`, in
    /// order. Quotes are plain characters, as in most TSV exports (a pub called
    /// `The "Local"` stays so).
    pub fn headerless_tsv(file: &str, input: R, names: &[&str]) -> Self {
        let reader = csv::ReaderBuilder::new()
            .delimiter(b'\t')
            .quoting(false)
            .flexible(true)
            .has_headers(false)
            .from_reader(CrlfToLf::new(input));
        let headers: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let columns = Rc::new(
            headers
                .iter()
                .enumerate()
                .map(|(i, h)| (h.clone(), i))
                .collect(),
        );
        CsvRows {
            file: Rc::from(file),
            reader,
            columns,
            headers,
            done: false,
        }
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn has_column(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }

    /// Fails with a header error naming every missing column.
    pub fn require(&self, names: &[&str]) -> Result<(), RowError> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !self.has_column(n))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(RowError {
            file: self.file.to_string(),
            line: 1,
            field: "header".into(),
            reason: format!(
                "missing column(s) {}; found: {}",
                missing.join(", "),
                self.headers.join(", ")
            ),
        })
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Row, RowError>;

    /// The next data row, or an error for a row the CSV parser cannot split. After an I/O
    /// error the iterator ends.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut record = csv::ByteRecord::new();
        match self.reader.read_byte_record(&mut record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                Some(Ok(Row {
                    file: self.file.clone(),
                    line,
                    record,
                    columns: self.columns.clone(),
                }))
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                if !matches!(
                    e.kind(),
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                ) {
                    self.done = true;
                }
                Some(Err(RowError {
                    file: self.file.to_string(),
                    line,
                    field: "row".into(),
                    reason: format!("malformed CSV: {e}"),
                }))
            }
        }
    }
}

impl Row {
    /// The field's text; empty if the row is short. Errors if not UTF-8.
    pub fn get(&self, name: &str) -> Result<&str, RowError> {
        let Some(&i) = self.columns.get(name) else {
            return Ok("");
        };
        let bytes = self.record.get(i).unwrap_or(b"");
        std::str::from_utf8(bytes).map_err(|e| {
            self.error(
                name,
                format!("not valid UTF-8 (byte {})", e.valid_up_to() + 1),
            )
        })
    }

    /// A required field: errors if empty.
    pub fn required(&self, name: &str) -> Result<&str, RowError> {
        let v = self.get(name)?;
        if v.trim().is_empty() {
            return Err(self.error(name, "empty required field"));
        }
        Ok(v.trim())
    }

    /// A required field people will read (a name, a course): trimmed, and refused if
    /// empty or if it holds a control character (see [`super::text`]).
    pub fn required_text(&self, name: &str) -> Result<&str, RowError> {
        let v = self.required(name)?;
        check_text(v, TextKind::Line).map_err(|r| self.error(name, r))?;
        Ok(v)
    }

    /// An optional field people will read: `None` when empty or `NA`, otherwise trimmed
    /// and checked as [`Row::required_text`] is.
    pub fn text(&self, name: &str) -> Result<Option<String>, RowError> {
        optional_line(self.get(name)?).map_err(|r| self.error(name, r))
    }

    /// An optional free-text field (notes): as [`Row::text`], line feeds and tabs allowed.
    pub fn multiline_text(&self, name: &str) -> Result<Option<String>, RowError> {
        let v = super::non_empty(self.get(name)?);
        if let Some(t) = &v {
            check_text(t, TextKind::MultiLine).map_err(|r| self.error(name, r))?;
        }
        Ok(v)
    }

    /// Number of fields in the row.
    pub fn len(&self) -> usize {
        self.record.len()
    }

    pub fn is_empty(&self) -> bool {
        self.record.is_empty()
    }

    /// An error on this row.
    pub fn error(&self, field: &str, reason: impl Into<String>) -> RowError {
        RowError {
            file: self.file.to_string(),
            line: self.line,
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// Turns CRLF line endings into LF before the CSV parser sees them: the csv crate reports
/// the previous line's number for every record of a CRLF file (BurntSushi/rust-csv#395),
/// and councils publish CRLF files. A `\r` inside a quoted field before `\n` goes too.
struct CrlfToLf<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> CrlfToLf<R> {
    fn new(inner: R) -> Self {
        CrlfToLf {
            inner,
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            eof: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            // Keep a trailing '\r' back until we know whether '\n' follows.
            let pending = self.end - self.start;
            let need_more =
                pending == 0 || (pending == 1 && self.buf[self.start] == b'\r' && !self.eof);
            if need_more && !self.eof {
                self.buf.copy_within(self.start..self.end, 0);
                self.end = pending;
                self.start = 0;
                let n = self.inner.read(&mut self.buf[self.end..])?;
                if n == 0 {
                    self.eof = true;
                }
                self.end += n;
                continue;
            }
            let mut written = 0;
            while written < out.len() && self.start < self.end {
                let window = &self.buf[self.start..self.end];
                // Copy the run up to the next '\r' in one go.
                let run = window
                    .iter()
                    .position(|&b| b == b'\r')
                    .unwrap_or(window.len());
                let n = run.min(out.len() - written);
                out[written..written + n].copy_from_slice(&window[..n]);
                written += n;
                self.start += n;
                if n < run || self.start == self.end {
                    break;
                }
                // At a '\r': drop it before '\n', keep it otherwise; wait if it ends the buffer.
                if self.start + 1 < self.end {
                    if self.buf[self.start + 1] != b'\n' {
                        if written == out.len() {
                            break;
                        }
                        out[written] = b'\r';
                        written += 1;
                    }
                    self.start += 1;
                } else if self.eof {
                    if written == out.len() {
                        break;
                    }
                    out[written] = b'\r';
                    written += 1;
                    self.start += 1;
                } else {
                    break;
                }
            }
            if written > 0 || self.eof {
                return Ok(written);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(input: &[u8], chunk: usize) -> Vec<u8> {
        // A reader that hands out `chunk` bytes at a time, to split "\r\n" across reads.
        struct Chunked<'a>(&'a [u8], usize);
        impl Read for Chunked<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        CrlfToLf::new(Chunked(input, chunk))
            .read_to_end(&mut out)
            .unwrap_or_default();
        out
    }

    #[test]
    fn crlf_becomes_lf_across_read_boundaries() {
        let input = b"a,b\r\n1,2\r\nx\ry\r\n\r";
        for chunk in 1..8 {
            assert_eq!(
                through(input, chunk),
                b"a,b\n1,2\nx\ry\n\r",
                "chunk {chunk}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn crlf_adapter_equals_replace(bytes in proptest::collection::vec(proptest::sample::select(vec![b'a', b'\r', b'\n', b',']), 0..200), chunk in 1usize..9) {
            let expected = String::from_utf8(bytes.clone()).unwrap_or_default().replace("\r\n", "\n");
            proptest::prop_assert_eq!(through(&bytes, chunk), expected.into_bytes());
        }
    }

    #[test]
    fn crlf_files_report_true_line_numbers() {
        let rows: Vec<u64> = CsvRows::new("f", &b"h1,h2\r\na,b\r\nc,d\r\n"[..], b',')
            .map(|r| {
                r.into_iter()
                    .map(|row| row.map(|row| row.line).unwrap_or(0))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(rows, [2, 3]);
    }
}
