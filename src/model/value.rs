//! Parsing attribute values as bureaus write them (DOMAIN.md §8): dates in five forms,
//! money with 万元 or thousands separators, areas in 亩 or 公顷, ratios as 35% or 0.35.

use super::fields::ValueKind;
use chrono::{Duration, NaiveDate};

/// 1 亩 in square metres (10000/15).
pub const MU_M2: f64 = 10000.0 / 15.0;
/// 1 公顷 in square metres.
pub const HECTARE_M2: f64 = 10000.0;

/// A parsed canonical value.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    /// Trimmed text.
    Text(String),
    /// A calendar date.
    Date(NaiveDate),
    /// A number in the kind's unit (万元, m², fraction, plain).
    Number(f64),
}

/// Values that mean "nothing recorded" in bureau spreadsheets.
const EMPTY_MARKERS: [&str; 9] = ["", "-", "—", "--", "/", "无", "null", "N/A", "暂无"];

/// Replace full-width digits and punctuation (２０１９．３) with ASCII; borrows when there is
/// nothing to replace (the common case).
fn to_half_width(s: &str) -> std::borrow::Cow<'_, str> {
    if !s
        .chars()
        .any(|c| matches!(c, '\u{FF0C}'..='\u{FF19}' | '\u{3000}'))
    {
        return s.into();
    }
    s.chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' | '\u{FF0E}' | '\u{FF0C}' | '\u{FF0D}' | '\u{FF0F}' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            '\u{3000}' => ' ',
            other => other,
        })
        .collect::<String>()
        .into()
}

/// Whether a text value means "nothing recorded".
pub fn is_empty_marker(s: &str) -> bool {
    let t = s.trim();
    EMPTY_MARKERS.iter().any(|m| t.eq_ignore_ascii_case(m))
}

/// Parse a text value into the kind's canonical form; `Ok(None)` for an empty value.
///
/// `declared_unit` is the unit found in the field's name (`批准面积(公顷)`), if any.
pub fn parse(
    raw: &str,
    kind: ValueKind,
    declared_unit: Option<f64>,
) -> Result<Option<Parsed>, String> {
    if is_empty_marker(raw) {
        return Ok(None);
    }
    match kind {
        ValueKind::Text => Ok(Some(Parsed::Text(raw.trim().to_string()))),
        ValueKind::Date => parse_date(raw).map(|d| Some(Parsed::Date(d))),
        _ => parse_number(raw, kind, declared_unit).map(|n| Some(Parsed::Number(n))),
    }
}

/// Parse a stored attribute value into the kind's canonical form; numbers stored as numbers
/// skip the text round trip.
pub fn parse_attr(
    v: &super::attr::AttrValue,
    kind: ValueKind,
    declared_unit: Option<f64>,
) -> Result<Option<Parsed>, String> {
    use super::attr::AttrValue;
    let n = match v {
        AttrValue::Null => return Ok(None),
        AttrValue::Text(s) => return parse(s, kind, declared_unit),
        AttrValue::Integer(i) => *i as f64,
        AttrValue::Real(r) => *r,
    };
    match kind {
        ValueKind::Text | ValueKind::Date => {
            parse(&v.as_text().unwrap_or_default(), kind, declared_unit)
        }
        _ => {
            let value = match (kind, declared_unit) {
                (_, Some(f)) => scale(n, f),
                (ValueKind::Ratio, None) if n > 1.0 => n / 100.0,
                _ => n,
            };
            check_range(value, kind, &n)?;
            Ok(Some(Parsed::Number(value)))
        }
    }
}

fn check_range(value: f64, kind: ValueKind, raw: &dyn std::fmt::Display) -> Result<(), String> {
    if !value.is_finite() {
        return Err(format!("'{raw}' is not a finite number"));
    }
    if value < 0.0 && matches!(kind, ValueKind::Area | ValueKind::Ratio) {
        return Err(format!("'{raw}' is negative"));
    }
    if kind == ValueKind::Ratio && value > 1.0 + 1e-9 {
        return Err(format!("'{raw}' is more than 100%"));
    }
    Ok(())
}

/// Parse a date written as 2019-03-05, 2019/3/5, 2019.3.5, 20190305, 2019年3月5日 (a time
/// part is ignored) or an Excel serial number (1900 date system).
pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    let s = to_half_width(raw.trim());
    // Drop a time part: "2019-03-05 08:00:00", "2019-03-05T08:00:00Z".
    let date_part = s.split([' ', 'T']).next().unwrap_or("");
    if !date_part.is_empty() && date_part.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        if date_part.len() == 8 && !date_part.contains('.') {
            let y = date_part[0..4].parse().unwrap_or(0);
            let m = date_part[4..6].parse().unwrap_or(0);
            let d = date_part[6..8].parse().unwrap_or(0);
            return NaiveDate::from_ymd_opt(y, m, d)
                .ok_or_else(|| format!("'{raw}' is not a valid YYYYMMDD date"));
        }
        if let Ok(serial) = date_part.parse::<f64>() {
            if date_part.matches('.').count() <= 1 {
                return excel_serial_date(serial).ok_or_else(|| {
                    format!("'{raw}' is a number but not an Excel date serial between 1927 and 2119; write dates as YYYY-MM-DD")
                });
            }
        }
    }
    let groups: Vec<&str> = date_part
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|g| !g.is_empty())
        .collect();
    let all_digits = groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    if groups.len() == 3 && all_digits && groups[0].len() == 4 {
        let y = groups[0].parse().unwrap_or(0);
        let m = groups[1].parse().unwrap_or(0);
        let d = groups[2].parse().unwrap_or(0);
        return NaiveDate::from_ymd_opt(y, m, d)
            .ok_or_else(|| format!("'{raw}' names a day that does not exist"));
    }
    if groups.len() == 3 && all_digits && groups[2].len() == 4 {
        return Err(format!(
            "'{raw}' puts the year last, so day and month are ambiguous; write dates as YYYY-MM-DD"
        ));
    }
    Err(format!(
        "'{raw}' is not a date; write dates as YYYY-MM-DD, YYYY/M/D, YYYYMMDD or YYYY年M月D日"
    ))
}

/// Excel's 1900 date system: serial 1 is 1900-01-01 and serial 60 is the 1900-02-29 that
/// never was; only serials of plausible land-contract dates (1927–2119) are accepted.
fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    if !(10_000.0..=80_000.0).contains(&serial) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    base.checked_add_signed(Duration::days(serial.trunc() as i64))
}

/// Split "1,234.5万元" into (1234.5, "万元").
fn split_number(s: &str) -> Option<(f64, &str)> {
    let bytes = s.as_bytes();
    let mut end = 0;
    let mut seen_digit = false;
    while end < bytes.len() {
        let b = bytes[end];
        let sign_ok = (b == b'-' || b == b'+') && end == 0;
        let exp_ok = (b == b'e' || b == b'E')
            && seen_digit
            && bytes
                .get(end + 1)
                .is_some_and(|n| n.is_ascii_digit() || *n == b'-' || *n == b'+');
        let exp_sign = (b == b'-' || b == b'+') && end > 0 && matches!(bytes[end - 1], b'e' | b'E');
        if b.is_ascii_digit() {
            seen_digit = true;
        } else if !(b == b'.' || sign_ok || exp_ok || exp_sign) {
            break;
        }
        end += 1;
    }
    if !seen_digit {
        return None;
    }
    let n: f64 = s[..end].parse().ok()?;
    Some((n, s[end..].trim()))
}

/// The factor that converts a value written with `unit` into the kind's canonical unit.
fn unit_factor(kind: ValueKind, unit: &str) -> Option<f64> {
    let u = unit
        .trim()
        .trim_matches(|c| c == '(' || c == ')' || c == '（' || c == '）');
    let u = u.to_lowercase();
    let u = u.as_str();
    Some(match kind {
        ValueKind::Money => match u {
            "万元" | "万" => 1.0,
            "元" => 1e-4,
            "千元" => 0.1,
            "亿元" | "亿" => 1e4,
            _ => return None,
        },
        ValueKind::Area => match u {
            "m2" | "m²" | "㎡" | "平方米" | "平米" | "sqm" => 1.0,
            "亩" => MU_M2,
            "公顷" | "ha" | "hm2" | "hm²" => HECTARE_M2,
            "km2" | "km²" | "平方公里" | "平方千米" => 1e6,
            _ => return None,
        },
        ValueKind::Ratio => match u {
            "%" | "％" => 0.01,
            "‰" => 0.001,
            _ => return None,
        },
        ValueKind::Number => match u {
            "层" | "米" | "m" | "人" | "吨标煤" | "吨标准煤" | "tce" | "万千瓦时" | "万kwh" => {
                1.0
            }
            _ => return None,
        },
        ValueKind::Text | ValueKind::Date => return None,
    })
}

/// The unit a field's name declares, e.g. `批准面积(公顷)` or `出让价款_元`: the factor to
/// apply to unit-less values of that field.
pub fn unit_in_field_name(name: &str, kind: ValueKind) -> Option<f64> {
    let n = name.trim();
    // A unit in brackets, or after the last '_' , or the name's tail.
    let bracketed = n
        .rfind(['(', '（'])
        .map(|i| &n[i..])
        .filter(|t| t.ends_with([')', '）']));
    if let Some(f) = bracketed.and_then(|t| unit_factor(kind, t)) {
        return Some(f);
    }
    if let Some(f) = n.rsplit('_').next().and_then(|t| unit_factor(kind, t)) {
        if n.contains('_') {
            return Some(f);
        }
    }
    // Tails such as 面积公顷, 价款万元, 绿地率%.
    const TAILS: [&str; 8] = ["公顷", "亩", "平方米", "万元", "亿元", "元", "%", "％"];
    TAILS
        .iter()
        .find(|t| n.ends_with(*t) && n.chars().count() > t.chars().count())
        .and_then(|t| unit_factor(kind, t))
}

/// Apply a unit factor; factors below 1 are exact reciprocals (1/100, 1/10000), so divide
/// to keep 35% at exactly 0.35.
fn scale(n: f64, factor: f64) -> f64 {
    if factor < 1.0 {
        n / (1.0 / factor).round()
    } else {
        n * factor
    }
}

/// Parse a number with optional unit and thousands separators into the kind's unit.
pub fn parse_number(raw: &str, kind: ValueKind, declared_unit: Option<f64>) -> Result<f64, String> {
    let half = to_half_width(raw);
    let s: std::borrow::Cow<'_, str> = if half.contains([',', '，', ' ', '¥', '￥']) {
        half.chars()
            .filter(|c| !matches!(c, ',' | '，' | ' ' | '¥' | '￥'))
            .collect::<String>()
            .into()
    } else {
        half
    };
    let (n, unit) = split_number(&s).ok_or_else(|| format!("'{raw}' is not a number"))?;
    let value = if unit.is_empty() {
        match (kind, declared_unit) {
            (_, Some(f)) => scale(n, f),
            // A bare ratio above 1 is a percentage (35 → 0.35).
            (ValueKind::Ratio, None) if n > 1.0 => n / 100.0,
            _ => n,
        }
    } else {
        let f = unit_factor(kind, unit).ok_or_else(|| {
            format!(
                "'{raw}': unit '{unit}' is not understood here ({})",
                expected_units(kind)
            )
        })?;
        scale(n, f)
    };
    check_range(value, kind, &raw)?;
    Ok(value)
}

fn expected_units(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Money => "money is read in 万元; 元, 千元 and 亿元 are converted",
        ValueKind::Area => "areas are read in m²; 亩, 公顷 and 平方公里 are converted",
        ValueKind::Ratio => "ratios are 0.35, 35 or 35%",
        _ => "write a plain number",
    }
}

/// Convert m² to 亩.
pub fn m2_to_mu(m2: f64) -> f64 {
    m2 / MU_M2
}

/// Convert m² to 公顷.
pub fn m2_to_hectares(m2: f64) -> f64 {
    m2 / HECTARE_M2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_in_every_form_bureaus_write() {
        for s in [
            "2019-03-05",
            "2019/3/5",
            "2019.3.5",
            "20190305",
            "2019年3月5日",
            "2019-03-05 00:00:00",
            "2019-03-05T08:30:00Z",
            "２０１９年３月５日",
            "43529",
        ] {
            assert_eq!(parse_date(s).unwrap(), d(2019, 3, 5), "{s}");
        }
        // Excel serial 44621 is 2022-03-01 (after the phantom 1900-02-29).
        assert_eq!(parse_date("44621").unwrap(), d(2022, 3, 1));
    }

    #[test]
    fn bad_dates_say_what_to_write() {
        assert!(parse_date("2019-02-30")
            .unwrap_err()
            .contains("does not exist"));
        assert!(parse_date("5/3/2019").unwrap_err().contains("ambiguous"));
        assert!(parse_date("明年").unwrap_err().contains("YYYY-MM-DD"));
        assert!(parse_date("2019").unwrap_err().contains("serial"));
    }

    #[test]
    fn money_areas_and_ratios_with_units() {
        let m = ValueKind::Money;
        assert_eq!(parse_number("1,234.5万元", m, None).unwrap(), 1234.5);
        assert_eq!(parse_number("12000000元", m, None).unwrap(), 1200.0);
        assert_eq!(parse_number("1.5亿元", m, None).unwrap(), 15000.0);
        assert_eq!(parse_number("￥3,000", m, None).unwrap(), 3000.0);
        let a = ValueKind::Area;
        assert!((parse_number("15亩", a, None).unwrap() - 10000.0).abs() < 1e-9);
        assert_eq!(parse_number("2公顷", a, None).unwrap(), 20000.0);
        assert_eq!(parse_number("3 000.5㎡", a, None).unwrap(), 3000.5);
        let r = ValueKind::Ratio;
        assert_eq!(parse_number("35%", r, None).unwrap(), 0.35);
        assert_eq!(parse_number("0.35", r, None).unwrap(), 0.35);
        assert_eq!(parse_number("35", r, None).unwrap(), 0.35);
        assert!(parse_number("135%", r, None).is_err());
        assert!(parse_number("-2", a, None)
            .unwrap_err()
            .contains("negative"));
        assert!(parse_number("12斤", m, None).unwrap_err().contains("斤"));
        assert!(parse_number("abc", ValueKind::Number, None).is_err());
    }

    #[test]
    fn units_declared_in_field_names() {
        assert_eq!(
            unit_in_field_name("批准面积(公顷)", ValueKind::Area),
            Some(1e4)
        );
        assert_eq!(
            unit_in_field_name("出让价款_元", ValueKind::Money),
            Some(1e-4)
        );
        assert_eq!(unit_in_field_name("绿地率%", ValueKind::Ratio), Some(0.01));
        assert_eq!(unit_in_field_name("宗地面积", ValueKind::Area), None);
        // A declared percentage applies even to values below 1.
        assert_eq!(
            parse_number("0.5", ValueKind::Ratio, Some(0.01)).unwrap(),
            0.005
        );
        assert_eq!(
            parse_number("3", ValueKind::Area, Some(MU_M2)).unwrap(),
            2000.0
        );
    }

    #[test]
    fn empty_markers_are_nulls_not_errors() {
        for s in ["", "  ", "-", "无", "NULL", "暂无"] {
            assert_eq!(parse(s, ValueKind::Date, None).unwrap(), None, "{s}");
        }
    }
}
