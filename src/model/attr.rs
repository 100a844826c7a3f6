//! Source attributes as stored: original (decoded) names, their types and values.

use serde::{Deserialize, Serialize};

/// The type of a stored attribute column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttrType {
    /// Whole numbers.
    Integer,
    /// Floating-point numbers.
    Real,
    /// Text.
    Text,
    /// A calendar date (stored as `YYYY-MM-DD`).
    Date,
    /// A date and time (stored as ISO 8601 text).
    DateTime,
}

/// One attribute column: its original name (decoded) and type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The name as the source file has it, e.g. 约定动工日期.
    pub name: String,
    /// Its type.
    pub ty: AttrType,
}

/// One attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    /// No value.
    Null,
    /// A whole number.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text (dates are text in `YYYY-MM-DD` form).
    Text(String),
}

impl AttrValue {
    /// The value as text for parsing canonical fields; `None` when null.
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            AttrValue::Null => None,
            AttrValue::Integer(i) => Some(i.to_string().into()),
            AttrValue::Real(r) => Some(r.to_string().into()),
            AttrValue::Text(s) => Some(s.as_str().into()),
        }
    }

    /// Write the value as a JSON value.
    pub fn write_json(&self, out: &mut String) {
        match self {
            AttrValue::Null => out.push_str("null"),
            AttrValue::Integer(i) => out.push_str(itoa::Buffer::new().format(*i)),
            AttrValue::Real(r) if r.is_finite() => out.push_str(ryu::Buffer::new().format(*r)),
            AttrValue::Real(_) => out.push_str("null"),
            AttrValue::Text(s) => write_json_string(out, s),
        }
    }
}

/// Append `s` as a JSON string literal.
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => out.push_str(&format!("\\u{b:04x}")),
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_what_json_requires_and_keep_chinese() {
        let mut s = String::new();
        write_json_string(&mut s, "闲置\"地\"\n\u{1}");
        assert_eq!(s, r#""闲置\"地\"\n\u0001""#);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v, "闲置\"地\"\n\u{1}");
    }
}
