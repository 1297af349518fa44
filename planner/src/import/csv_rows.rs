//! Reading CSV rows with their line numbers and byte-exact field checks.
//!
//! Fields are decoded one by one so that a non-UTF-8 byte is reported against the field
//! that holds it, not as a failure of the whole file.

use super::RowError;
use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;

/// A CSV file with a header, read row by row.
pub struct CsvRows<R: Read> {
    file: Rc<str>,
    reader: csv::Reader<R>,
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
            .from_reader(input);
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
        let columns = Rc::new(headers.iter().enumerate().map(|(i, h)| (h.clone(), i)).collect());
        Ok(CsvRows { file: Rc::from(file), reader, columns, headers, done: false })
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
                Some(Ok(Row { file: self.file.clone(), line, record, columns: self.columns.clone() }))
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }) {
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
