//! Field mapping (字段映射): which source column holds which canonical attribute.
//!
//! Presets in `data/mappings/<role>.toml` list the names bureau files use; a `--mapping`
//! file overrides them per attribute and may also declare the encoding and the land
//! classification system. Names are compared without units in brackets (`批准面积(公顷)`),
//! and DBF names cut at 10 bytes (`约定动工日`) match the name they were cut from.

use crate::model::fields::{field, fields_of};
use crate::model::Role;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The built-in presets, one per role.
fn preset_text(role: Role) -> Option<&'static str> {
    Some(match role {
        Role::Parcels => include_str!("../../data/mappings/parcels.toml"),
        Role::Parks => include_str!("../../data/mappings/parks.toml"),
        Role::Buildings => include_str!("../../data/mappings/buildings.toml"),
        Role::Plan => include_str!("../../data/mappings/plan.toml"),
        Role::Redline => include_str!("../../data/mappings/redline.toml"),
        Role::Other => return None,
    })
}

/// One name or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    fn into_vec(self) -> Vec<String> {
        match self {
            Names::One(s) => vec![s],
            Names::Many(v) => v,
        }
    }
}

/// Options a mapping file may set besides fields.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct MappingOptions {
    /// Text encoding of the source (as `--encoding`).
    pub encoding: Option<String>,
    /// Land classification system of the land-use codes (as `--land-system`).
    pub land_system: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    fields: BTreeMap<String, Names>,
    #[serde(default)]
    options: MappingOptions,
}

/// A user's `--mapping` file, parsed.
#[derive(Debug, Default)]
pub struct UserMapping {
    fields: BTreeMap<String, Vec<String>>,
    /// Encoding and classification options.
    pub options: MappingOptions,
}

impl UserMapping {
    /// Read and check a mapping file for `role`.
    pub fn load(path: &Path, role: Role) -> Result<UserMapping, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read mapping file {}: {e}", path.display()))?;
        let file: MappingFile = toml::from_str(&text).map_err(|e| {
            format!(
                "mapping file {} is not valid: {e}\nexpected:\n  [fields]\n  id = \"宗地编号\"\n  tax = [\"税收\", \"纳税额\"]\n  [options]\n  encoding = \"GBK\"",
                path.display()
            )
        })?;
        let mut fields = BTreeMap::new();
        for (key, names) in file.fields {
            if field(role, &key).is_none() {
                let known: Vec<&str> = fields_of(role).map(|f| f.key).collect();
                return Err(format!(
                    "mapping file {}: '{key}' is not an attribute of {} layers; known: {}",
                    path.display(),
                    role,
                    known.join(", ")
                ));
            }
            fields.insert(key, names.into_vec());
        }
        Ok(UserMapping {
            fields,
            options: file.options,
        })
    }
}

/// A source column as the mapper sees it.
#[derive(Clone, Debug)]
pub struct SourceColumn {
    /// Decoded name.
    pub name: String,
    /// Whether the DBF cut the name at 10 bytes.
    pub cut: bool,
}

/// The resolved mapping: canonical key → column index, with notes for the report.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// Canonical key → index into the layer's columns.
    pub columns: BTreeMap<String, usize>,
    /// Things the user should know (ambiguous names, cut names matched).
    pub notes: Vec<String>,
}

/// Normalise a field name for comparison: no spaces, no unit suffix, ASCII lower case.
fn normalize(name: &str) -> String {
    let mut n: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(i) = n.find(['(', '（', '[', '【']) {
        if i > 0 {
            n.truncate(i);
        }
    }
    const UNITS: [&str; 9] = [
        "万元",
        "亿元",
        "元",
        "公顷",
        "亩",
        "平方米",
        "m2",
        "㎡",
        "%",
    ];
    if let Some(i) = n.rfind('_') {
        if UNITS.contains(&&n[i + 1..]) {
            n.truncate(i);
        }
    }
    for u in UNITS {
        if n.len() > u.len() && n.ends_with(u) && !u.is_ascii() {
            n.truncate(n.len() - u.len());
            break;
        }
    }
    n.to_lowercase()
}

/// Resolve the canonical attributes of `role` against a layer's columns.
pub fn resolve(
    role: Role,
    columns: &[SourceColumn],
    user: &UserMapping,
) -> Result<Resolved, String> {
    let mut out = Resolved::default();
    let normalized: Vec<String> = columns.iter().map(|c| normalize(&c.name)).collect();
    let mut claimed = vec![false; columns.len()];

    // User entries first: they must name columns that exist.
    for (key, names) in &user.fields {
        let found = names.iter().find_map(|n| {
            columns
                .iter()
                .position(|c| c.name == *n || normalize(&c.name) == normalize(n))
        });
        match found {
            Some(i) => {
                claimed[i] = true;
                out.columns.insert(key.clone(), i);
            }
            None => {
                let have: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                return Err(format!(
                    "the mapping file maps {key} to {}, but the layer has no such field; its fields are: {}",
                    names.join(" / "),
                    have.join(", ")
                ));
            }
        }
    }

    let Some(text) = preset_text(role) else {
        return Ok(out);
    };
    let preset: MappingFile = toml::from_str(text).expect("built-in presets are valid");
    // Exact (normalised) names first for every attribute, then names cut at 10 bytes, so a
    // cut name never steals a column another attribute names in full.
    let mut cut_matches = vec![];
    for pass_cut in [false, true] {
        for spec in fields_of(role) {
            if out.columns.contains_key(spec.key) {
                continue;
            }
            let Some(aliases) = preset.fields.get(spec.key) else {
                continue;
            };
            let aliases: Vec<String> = match aliases {
                Names::One(s) => vec![s.clone()],
                Names::Many(v) => v.clone(),
            };
            let mut hit = None;
            'aliases: for alias in &aliases {
                let a = normalize(alias);
                for (i, n) in normalized.iter().enumerate() {
                    if claimed[i] {
                        continue;
                    }
                    let matches = if pass_cut {
                        columns[i].cut && n.chars().count() >= 2 && a.starts_with(n.as_str())
                    } else {
                        *n == a
                    };
                    if matches {
                        hit = Some((i, alias.clone()));
                        break 'aliases;
                    }
                }
            }
            if let Some((i, alias)) = hit {
                claimed[i] = true;
                out.columns.insert(spec.key.to_string(), i);
                if pass_cut {
                    cut_matches.push(format!("{}→{}", columns[i].name, alias));
                }
                let others: Vec<&str> = aliases
                    .iter()
                    .filter(|a| **a != alias)
                    .filter_map(|a| {
                        let na = normalize(a);
                        normalized
                            .iter()
                            .position(|n| *n == na)
                            .map(|j| columns[j].name.as_str())
                    })
                    .collect();
                if !others.is_empty() {
                    out.notes.push(format!(
                        "{} is read from '{}'; also present: {} (use --mapping to choose)",
                        spec.label,
                        columns[i].name,
                        others.join(", ")
                    ));
                }
            }
        }
    }
    if !cut_matches.is_empty() {
        out.notes.push(format!(
            "field names cut at 10 bytes by the DBF format were matched to: {}",
            cut_matches.join(", ")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[(&str, bool)]) -> Vec<SourceColumn> {
        names
            .iter()
            .map(|(n, cut)| SourceColumn {
                name: n.to_string(),
                cut: *cut,
            })
            .collect()
    }

    #[test]
    fn chinese_names_pinyin_and_units_map_to_canonical_fields() {
        let c = cols(&[
            ("ZDBH", false),
            ("约定动工日期", false),
            ("出让价款(万元)", false),
            ("宗地面积_亩", false),
            ("备注", false),
        ]);
        let r = resolve(Role::Parcels, &c, &UserMapping::default()).unwrap();
        assert_eq!(r.columns["id"], 0);
        assert_eq!(r.columns["agreed_start"], 1);
        assert_eq!(r.columns["land_price"], 2);
        assert_eq!(r.columns["recorded_area"], 3);
        assert_eq!(r.columns.len(), 4);
    }

    #[test]
    fn names_cut_by_the_dbf_match_the_name_they_came_from() {
        let c = cols(&[
            ("约定动工日", true),
            ("约定竣工日", true),
            ("实际动工日", true),
        ]);
        let r = resolve(Role::Parcels, &c, &UserMapping::default()).unwrap();
        assert_eq!(r.columns["agreed_start"], 0);
        assert_eq!(r.columns["agreed_completion"], 1);
        assert_eq!(r.columns["actual_start"], 2);
        assert!(r.notes.iter().any(|n| n.contains("cut at 10 bytes")));
    }

    #[test]
    fn a_mapping_file_overrides_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        std::fs::write(
            &p,
            "[fields]\nid = \"编号X\"\ntax = [\"纳税\", \"税金\"]\n[options]\nencoding = \"GBK\"\n",
        )
        .unwrap();
        let user = UserMapping::load(&p, Role::Parcels).unwrap();
        assert_eq!(user.options.encoding.as_deref(), Some("GBK"));
        let c = cols(&[("编号X", false), ("税金", false), ("宗地编号", false)]);
        let r = resolve(Role::Parcels, &c, &user).unwrap();
        assert_eq!(r.columns["id"], 0);
        assert_eq!(r.columns["tax"], 1);
        let missing = resolve(Role::Parcels, &cols(&[("x", false)]), &user).unwrap_err();
        assert!(
            missing.contains("编号X") && missing.contains("fields are: x"),
            "{missing}"
        );

        std::fs::write(&p, "[fields]\nnot_a_field = \"x\"\n").unwrap();
        let e = UserMapping::load(&p, Role::Parcels).unwrap_err();
        assert!(
            e.contains("not_a_field") && e.contains("agreed_start"),
            "{e}"
        );
    }

    #[test]
    fn every_preset_parses_and_names_only_known_attributes() {
        for role in Role::ALL {
            if let Some(text) = preset_text(role) {
                let f: MappingFile = toml::from_str(text).unwrap();
                for key in f.fields.keys() {
                    assert!(field(role, key).is_some(), "{role}: {key}");
                }
            }
        }
    }
}
