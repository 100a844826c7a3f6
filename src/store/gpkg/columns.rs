//! GeoPackage column types of stored attributes (字段类型).

use crate::model::attr::AttrType;

/// The GeoPackage column type of an attribute type.
pub fn sql_type(ty: AttrType) -> &'static str {
    match ty {
        AttrType::Integer => "INTEGER",
        AttrType::Real => "REAL",
        AttrType::Text => "TEXT",
        AttrType::Date => "DATE",
        AttrType::DateTime => "DATETIME",
    }
}

/// The attribute type of a GeoPackage column declaration.
pub fn attr_type(decl: &str) -> AttrType {
    let d = decl.to_ascii_uppercase();
    if d.starts_with("DATETIME") {
        AttrType::DateTime
    } else if d.starts_with("DATE") {
        AttrType::Date
    } else if d.contains("INT") || d == "BOOLEAN" {
        AttrType::Integer
    } else if d.contains("REAL") || d.contains("DOUB") || d.contains("FLOA") {
        AttrType::Real
    } else {
        AttrType::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_types_round_trip() {
        for t in [
            AttrType::Integer,
            AttrType::Real,
            AttrType::Text,
            AttrType::Date,
            AttrType::DateTime,
        ] {
            assert_eq!(attr_type(sql_type(t)), t);
        }
        assert_eq!(attr_type("TEXT(10)"), AttrType::Text);
        assert_eq!(attr_type("MEDIUMINT"), AttrType::Integer);
    }
}
