//! What commands print: text for people, JSON for scripts. Results go to standard output;
//! progress and notes to standard error.

use std::io::Write;

use serde_json::Value;

use crate::args::OutputFormat;
use crate::failure::CliError;

/// The output settings of a run.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Text or JSON.
    pub format: OutputFormat,
    /// No progress bars.
    pub quiet: bool,
}

impl Output {
    /// True for `--output json`.
    pub fn json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Prints one JSON document on one line.
    pub fn print_json(&self, value: &Value) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, value)
            .map_err(|e| CliError::new(crate::failure::Exit::Failure, e.to_string()))?;
        out.write_all(b"\n")?;
        Ok(())
    }

    /// Prints `value` indented, for people.
    pub fn print_pretty(&self, value: &Value) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value)
            .map_err(|e| CliError::new(crate::failure::Exit::Failure, e.to_string()))?;
        out.write_all(b"\n")?;
        Ok(())
    }

    /// Prints a line for people (text mode only).
    pub fn line(&self, text: &str) -> Result<(), CliError> {
        if !self.json() {
            writeln!(std::io::stdout().lock(), "{text}")?;
        }
        Ok(())
    }
}

/// Widest cell of a table.
const MAX_CELL: usize = 40;

/// A table of JSON rows whose columns are fixed by the first rows seen (properties that only
/// later rows have are not shown; use JSON lines for those).
#[derive(Debug, Default)]
pub struct Table {
    columns: Vec<String>,
    widths: Vec<usize>,
}

impl Table {
    /// Renders `rows`: the header before the first batch, then one line per row.
    pub fn render(&mut self, rows: &[Value], out: &mut impl Write) -> std::io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let first = self.columns.is_empty();
        if first {
            for row in rows {
                match row {
                    Value::Object(o) => {
                        for k in o.keys() {
                            if !self.columns.contains(k) {
                                self.columns.push(k.clone());
                            }
                        }
                    }
                    _ => {
                        if !self.columns.iter().any(|c| c == "value") {
                            self.columns.push("value".into());
                        }
                    }
                }
            }
        }
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .map(|c| match row {
                        Value::Object(o) => o.get(c).map(cell).unwrap_or_default(),
                        v if c == "value" => cell(v),
                        _ => String::new(),
                    })
                    .collect()
            })
            .collect();
        if first {
            self.widths = self
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cells
                        .iter()
                        .map(|r| r[i].chars().count())
                        .chain([c.chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
        }
        let widths = &self.widths;
        if first {
            let header: Vec<String> = self.columns.iter().map(|c| truncate(c)).collect();
            write_row(out, &header, widths)?;
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            write_row(out, &rule, widths)?;
        }
        for r in &cells {
            write_row(out, r, widths)?;
        }
        Ok(())
    }
}

fn write_row(out: &mut impl Write, cells: &[String], widths: &[usize]) -> std::io::Result<()> {
    let line: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    writeln!(out, "{}", line.join("  ").trim_end())
}

/// A value as a table cell: strings bare, everything else as compact JSON, cut to `MAX_CELL`.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => truncate(s),
        other => truncate(&other.to_string()),
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_CELL {
        s.replace(['\n', '\t'], " ")
    } else {
        let cut: String = s.chars().take(MAX_CELL - 1).collect();
        format!("{}…", cut.replace(['\n', '\t'], " "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_columns_from_the_first_rows() {
        let mut t = Table::default();
        let mut out = Vec::new();
        t.render(
            &[
                json!({"id": "a", "n": 1}),
                json!({"id": "bbbb", "n": [1, 2]}),
            ],
            &mut out,
        )
        .unwrap();
        t.render(&[json!({"id": "c", "extra": true})], &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "id    n\n----  -----\na     1\nbbbb  [1,2]\nc\n");
    }

    #[test]
    fn long_cells_are_cut_and_scalars_get_a_value_column() {
        let mut t = Table::default();
        let mut out = Vec::new();
        t.render(&[json!("x".repeat(50)), json!(7)], &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("value\n"));
        assert!(text.contains(&format!("{}…", "x".repeat(39))));
        assert!(text.ends_with("7\n"));
    }
}
