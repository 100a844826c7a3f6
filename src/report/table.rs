//! Report tables (报表): the rows bureau staff read, with Chinese headers and units, written as
//! a terminal table, CSV (UTF-8 with BOM, so Excel opens it) or XLSX (one sheet per table).

use chrono::NaiveDate;
use std::io::Write;
use unicode_width::UnicodeWidthStr;

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Nothing.
    Empty,
    /// Text.
    Text(String),
    /// A number shown with this many decimals.
    Number(f64, usize),
    /// A whole number.
    Int(i64),
    /// A date.
    Date(NaiveDate),
}

impl Cell {
    /// Text, or empty when none.
    pub fn text(s: Option<impl Into<String>>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
    }

    /// A number, or empty when none.
    pub fn num(v: Option<f64>, decimals: usize) -> Cell {
        v.filter(|v| v.is_finite())
            .map_or(Cell::Empty, |v| Cell::Number(v, decimals))
    }

    /// A share as a percentage number (0.352 → 35.20).
    pub fn percent(v: Option<f64>) -> Cell {
        Cell::num(v.map(|v| v * 100.0), 2)
    }

    fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(v, d) => format!("{v:.d$}", d = *d),
            Cell::Int(i) => i.to_string(),
            Cell::Date(d) => d.to_string(),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

/// A table: a sheet name, headers (Chinese, with units) and rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The sheet name (≤ 31 characters for Excel).
    pub name: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells, as many as headers.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table.
    pub fn new(name: &str, headers: &[&str]) -> Table {
        Table {
            name: name.to_string(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: vec![],
        }
    }

    /// Append a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.headers.len(), "{}", self.name);
        self.rows.push(row);
    }
}

/// The table a CSV holds, chosen by its number (1 = the main table) or its name; the main
/// table when none is asked for.
pub fn pick<'a>(tables: &'a [Table], which: Option<&str>) -> Result<&'a Table, String> {
    let Some(w) = which.map(str::trim) else {
        return tables
            .first()
            .ok_or_else(|| "the report has no table".to_string());
    };
    let found = match w.parse::<usize>() {
        Ok(n) => n.checked_sub(1).and_then(|i| tables.get(i)),
        Err(_) => tables.iter().find(|t| t.name == w),
    };
    found.ok_or_else(|| {
        format!(
            "no table '{w}' in this report; tables: {}",
            table_list(tables)
        )
    })
}

/// The tables of a report as "1 疑似闲置土地, 2 无法判定, …".
pub fn table_list(tables: &[Table]) -> String {
    tables
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} {}", i + 1, t.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Write tables for a terminal: aligned columns (CJK characters are two columns wide).
pub fn write_text(out: &mut dyn Write, tables: &[Table]) -> std::io::Result<()> {
    for (n, t) in tables.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        writeln!(out, "【{}】 {} 行", t.name, t.rows.len())?;
        let cells: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::display).collect())
            .collect();
        let mut widths: Vec<usize> = t.headers.iter().map(|h| h.width()).collect();
        for r in &cells {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.width().min(60));
            }
        }
        let line = |out: &mut dyn Write,
                    items: &[String],
                    row: Option<&Vec<Cell>>|
         -> std::io::Result<()> {
            let mut s = String::new();
            for (i, item) in items.iter().enumerate() {
                let shown: String = if item.width() > 60 {
                    let mut t = String::new();
                    for ch in item.chars() {
                        if t.width() >= 57 {
                            break;
                        }
                        t.push(ch);
                    }
                    t + "…"
                } else {
                    item.clone()
                };
                let pad = widths[i].saturating_sub(shown.width());
                let numeric = row.is_some_and(|r| matches!(r[i], Cell::Number(..) | Cell::Int(_)));
                if numeric {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(&shown);
                } else {
                    s.push_str(&shown);
                    s.push_str(&" ".repeat(pad));
                }
                s.push_str("  ");
            }
            writeln!(out, "{}", s.trim_end())
        };
        line(out, &t.headers, None)?;
        let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
        line(out, &rule, None)?;
        for (r, raw) in cells.iter().zip(&t.rows) {
            line(out, r, Some(raw))?;
        }
    }
    Ok(())
}

/// A text cell as a spreadsheet will take it literally: text beginning with `=`, `+`, `-`,
/// `@`, a tab or a carriage return would be run as a formula by Excel (`=HYPERLINK(…)`,
/// `=cmd|…`), so it gets a leading apostrophe, as OWASP advises for CSV injection. Numbers
/// are written by landwatch and stay numbers (a negative figure is not text).
fn inert_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// Write the first table as CSV, UTF-8 with a byte-order mark so Excel reads the Chinese.
/// Text that a spreadsheet would read as a formula is neutralised ([`inert_text`]).
pub fn write_csv(out: &mut dyn Write, table: &Table) -> std::io::Result<()> {
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(&table.headers)?;
    for r in &table.rows {
        w.write_record(r.iter().map(|c| match c {
            Cell::Number(v, _) => v.to_string(),
            Cell::Text(s) => inert_text(s).into_owned(),
            other => other.display(),
        }))?;
    }
    w.flush()
}

/// Write tables as an XLSX workbook file, one sheet per table.
pub fn write_xlsx(
    path: &std::path::Path,
    tables: &[Table],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    std::fs::write(path, xlsx(tables)?).map_err(rust_xlsxwriter::XlsxError::IoError)
}

/// Tables as the bytes of an XLSX workbook, one sheet per table.
pub fn xlsx(tables: &[Table]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color("#DDEBF7");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for t in tables {
        let sheet = wb.add_worksheet();
        let name: String = t
            .name
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        sheet.set_name(name)?;
        for (c, h) in t.headers.iter().enumerate() {
            sheet.write_with_format(0, c as u16, h, &header)?;
            let width = t
                .rows
                .iter()
                .map(|r| r[c].display().width())
                .chain(std::iter::once(h.width()))
                .max()
                .unwrap_or(8)
                .clamp(6, 50);
            sheet.set_column_width(c as u16, width as f64 + 2.0)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Empty => {}
                    Cell::Text(s) => {
                        sheet.write(r, c, s)?;
                    }
                    Cell::Number(v, d) => {
                        let f = Format::new().set_num_format(if *d == 0 {
                            "0".to_string()
                        } else {
                            format!("0.{}", "0".repeat(*d))
                        });
                        sheet.write_with_format(r, c, *v, &f)?;
                    }
                    Cell::Int(i) => {
                        sheet.write(r, c, *i as f64)?;
                    }
                    Cell::Date(d) => {
                        let xd = rust_xlsxwriter::ExcelDateTime::from_ymd(
                            chrono::Datelike::year(d) as u16,
                            chrono::Datelike::month(d) as u8,
                            chrono::Datelike::day(d) as u8,
                        )?;
                        sheet.write_with_format(r, c, &xd, &date)?;
                    }
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
    }
    wb.save_to_buffer()
}

/// Tables as HTML, for the browser.
pub fn write_html(tables: &[Table]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut out = String::new();
    for t in tables {
        out.push_str(&format!(
            "<h2>{} <small>{} 行</small></h2><div class=\"scroll\"><table><thead><tr>",
            esc(&t.name),
            t.rows.len()
        ));
        for h in &t.headers {
            out.push_str(&format!("<th>{}</th>", esc(h)));
        }
        out.push_str("</tr></thead><tbody>");
        for r in &t.rows {
            out.push_str("<tr>");
            for c in r {
                let numeric = matches!(c, Cell::Number(..) | Cell::Int(_));
                out.push_str(&format!(
                    "<td{}>{}</td>",
                    if numeric { " class=\"num\"" } else { "" },
                    esc(&c.display())
                ));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new("闲置土地", &["宗地编号", "面积(亩)", "闲置起算日"]);
        t.push(vec![
            "甲-1".into(),
            Cell::Number(15.0, 2),
            Cell::Date("2020-03-05".parse().unwrap()),
        ]);
        t.push(vec!["B-22".into(), Cell::Empty, Cell::Empty]);
        t
    }

    #[test]
    fn text_tables_align_chinese_and_numbers() {
        let mut out = vec![];
        write_text(&mut out, &[sample()]).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("【闲置土地】 2 行\n"), "{s}");
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[1], "宗地编号  面积(亩)  闲置起算日");
        assert_eq!(lines[3], "甲-1         15.00  2020-03-05");
    }

    #[test]
    fn a_table_is_picked_by_number_or_name() {
        let tables = [Table::new("园区", &["a"]), Table::new("用地结构", &["b"])];
        assert_eq!(pick(&tables, None).unwrap().name, "园区");
        assert_eq!(pick(&tables, Some("2")).unwrap().name, "用地结构");
        assert_eq!(pick(&tables, Some("用地结构")).unwrap().name, "用地结构");
        let e = pick(&tables, Some("3")).unwrap_err();
        assert!(e.contains("1 园区, 2 用地结构"), "{e}");
        assert!(pick(&tables, Some("0")).is_err());
    }

    #[test]
    fn csv_starts_with_a_bom_and_keeps_full_precision() {
        let mut t = sample();
        t.rows[0][1] = Cell::Number(15.123456, 2);
        let mut out = vec![];
        write_csv(&mut out, &t).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with('\u{feff}'));
        assert!(s.contains("甲-1,15.123456,2020-03-05"), "{s}");
    }

    #[test]
    fn csv_text_that_excel_would_run_is_neutralised_numbers_stay_numbers() {
        let mut t = Table::new("t", &["业主", "面积"]);
        for (owner, v) in [
            ("=HYPERLINK(\"http://x\",\"点击\")", -3.5),
            ("=cmd|' /C calc'!A0", 1.0),
            ("+1+1", 2.0),
            ("-2+3", 3.0),
            ("@SUM(A1:A9)", 4.0),
            ("\t=1", 5.0),
            ("\r=1", 6.0),
            ("某某有限公司", 7.0),
        ] {
            t.push(vec![owner.into(), Cell::Number(v, 2)]);
        }
        let mut out = vec![];
        write_csv(&mut out, &t).unwrap();
        let s = String::from_utf8(out).unwrap();
        let mut r = csv::Reader::from_reader(s.trim_start_matches('\u{feff}').as_bytes());
        let rows: Vec<(String, String)> = r
            .records()
            .map(|x| {
                let x = x.unwrap();
                (x[0].to_string(), x[1].to_string())
            })
            .collect();
        for (cell, _) in &rows[..7] {
            assert!(cell.starts_with('\''), "{cell:?}");
        }
        assert_eq!(rows[0].0, "'=HYPERLINK(\"http://x\",\"点击\")");
        assert_eq!(rows[7].0, "某某有限公司");
        // A negative figure is a number, not text to neutralise.
        assert_eq!(rows[0].1, "-3.5");
    }

    #[test]
    fn xlsx_has_one_sheet_per_table() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.xlsx");
        let mut second = sample();
        second.name = "汇总".into();
        write_xlsx(&p, &[sample(), second]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let has = |name: &[u8]| bytes.windows(name.len()).any(|w| w == name);
        assert!(has(b"xl/worksheets/sheet1.xml") && has(b"xl/worksheets/sheet2.xml"));
        assert!(!has(b"xl/worksheets/sheet3.xml"));
    }
}
