//! Text encodings of source files (字符编码), DOMAIN.md §7.
//!
//! Shapefiles from Chinese desktop GIS are often GBK with no `.cpg` and LDID 0, so the order
//! is: `--encoding`, then the `.cpg` file, then the DBF language-driver byte (LDID), then
//! strict UTF-8, then GB18030 (a superset of GBK and GB2312). The decision and its reason go
//! into the ingest report.

use encoding_rs::Encoding;

/// The encoding used to decode a source's text, and why.
#[derive(Clone, Debug)]
pub struct EncodingChoice {
    /// The decoder.
    pub encoding: &'static Encoding,
    /// Why this one: `--encoding`, `.cpg says …`, `LDID 0x4D …`, detected ….
    pub reason: String,
    /// Whether the choice was guessed from content (and may need revising).
    pub detected: bool,
}

impl EncodingChoice {
    /// The name shown to users (GBK/GB18030 are reported as GB18030, the decoder used).
    pub fn name(&self) -> &'static str {
        if self.encoding == encoding_rs::GBK || self.encoding == encoding_rs::GB18030 {
            "GB18030"
        } else {
            self.encoding.name()
        }
    }

    /// Decode bytes; `Err` with the lossy text when they are invalid in this encoding.
    pub fn decode(&self, bytes: &[u8]) -> Result<String, String> {
        let bytes = if self.encoding == encoding_rs::UTF_8 {
            complete_utf8(bytes)
        } else {
            bytes
        };
        let (text, had_errors) = self.encoding.decode_without_bom_handling(bytes);
        if had_errors {
            Err(text.into_owned())
        } else {
            Ok(text.into_owned())
        }
    }

    /// UTF-8 as a format's own encoding (GeoPackage, GeoJSON, FileGDB, KML).
    pub fn utf8_by_format(driver: &str) -> EncodingChoice {
        EncodingChoice {
            encoding: encoding_rs::UTF_8,
            reason: format!("the {driver} format stores text as UTF-8"),
            detected: false,
        }
    }
}

/// An encoding name from `--encoding` or a `.cpg` file (GBK, 936, CP936, UTF-8, 65001, …).
pub fn from_label(label: &str) -> Option<&'static Encoding> {
    let l = label
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_uppercase();
    let l = l.trim_start_matches("ANSI").trim();
    Some(match l {
        "UTF-8" | "UTF8" | "65001" => encoding_rs::UTF_8,
        "936" | "CP936" | "GBK" | "GB2312" | "GB_2312" | "EUC-CN" | "MS936" | "GB18030"
        | "54936" | "CP54936" => encoding_rs::GB18030,
        "950" | "CP950" | "BIG5" | "BIG-5" => encoding_rs::BIG5,
        "932" | "CP932" | "SHIFT_JIS" | "SJIS" => encoding_rs::SHIFT_JIS,
        "949" | "CP949" | "EUC-KR" => encoding_rs::EUC_KR,
        "1252" | "CP1252" | "LATIN1" | "ISO-8859-1" | "ISO88591" | "88591" => {
            encoding_rs::WINDOWS_1252
        }
        other => return Encoding::for_label(other.as_bytes()),
    })
}

/// What a DBF language-driver id (header byte 29) says; `None` when it says nothing definite.
///
/// 0x57 means "the writer's ANSI code page", which in a Chinese office is GBK but elsewhere
/// Latin-1 — GDAL reads it as Latin-1, which turns 闲置 into ÏÐÖÃ — so it is treated as
/// unknown and the content decides.
pub fn from_ldid(ldid: u8) -> Option<(&'static Encoding, u16)> {
    Some(match ldid {
        0x4D | 0x7A => (encoding_rs::GB18030, 936),
        0x4F | 0x78 => (encoding_rs::BIG5, 950),
        0x4E | 0x79 => (encoding_rs::EUC_KR, 949),
        0x4C | 0x7B => (encoding_rs::SHIFT_JIS, 932),
        0x03 => (encoding_rs::WINDOWS_1252, 1252),
        0xC8 => (encoding_rs::WINDOWS_1250, 1250),
        0xC9 => (encoding_rs::WINDOWS_1251, 1251),
        _ => return None,
    })
}

/// The bytes without a UTF-8 character cut off at the end: a DBF cuts names at 10 bytes and
/// values at the field width, sometimes inside a character. Anything else is left as it is.
pub fn complete_utf8(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    }
}

/// Decide from content: strict UTF-8 when every sampled text is valid UTF-8 (but for a
/// character cut off at its end), else GB18030.
pub fn detect<'a>(
    samples: impl IntoIterator<Item = &'a [u8]>,
    why_unknown: &str,
) -> EncodingChoice {
    let mut non_ascii = false;
    for s in samples {
        if s.is_ascii() {
            continue;
        }
        non_ascii = true;
        if std::str::from_utf8(complete_utf8(s)).is_err() {
            return EncodingChoice {
                encoding: encoding_rs::GB18030,
                reason: format!(
                    "{why_unknown}; the text is not valid UTF-8, so it is read as GB18030 (GBK)"
                ),
                detected: true,
            };
        }
    }
    EncodingChoice {
        encoding: encoding_rs::UTF_8,
        reason: if non_ascii {
            format!("{why_unknown}; all text is valid UTF-8")
        } else {
            format!("{why_unknown}; the sampled text is plain ASCII, read as UTF-8")
        },
        detected: true,
    }
}

/// Field names are cut at 10 bytes in a DBF, sometimes inside a character: drop the broken
/// tail. Returns the name and whether it was cut.
pub fn decode_field_name(choice: &EncodingChoice, raw: &[u8], dbf: bool) -> (String, bool) {
    let (text, had_errors) = choice.encoding.decode_without_bom_handling(raw);
    let mut name = text.into_owned();
    let mut cut = dbf && raw.len() >= 10;
    if had_errors && name.ends_with('\u{FFFD}') {
        while name.ends_with('\u{FFFD}') {
            name.pop();
        }
        cut = true;
    }
    (name.trim().to_string(), cut)
}

/// A file or layer name as the user knows it: UTF-8 when it is, else GB18030 (the names
/// Chinese Windows writes in zips and on FAT/NTFS disks copied to Linux).
pub fn decode_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(raw).0.into_owned(),
    }
}

/// A path for messages and reports, decoded as [`decode_name`] does.
pub fn display_path(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    decode_name(path.as_os_str().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_names_are_shown_decoded() {
        use std::os::unix::ffi::OsStrExt;
        let gbk = std::ffi::OsStr::from_bytes(b"/data/\xd7\xda\xb5\xd8.shp");
        assert_eq!(display_path(std::path::Path::new(gbk)), "/data/宗地.shp");
        assert_eq!(decode_name("宗地".as_bytes()), "宗地");
    }

    #[test]
    fn gbk_without_any_hint_is_detected() {
        let (gbk, _, _) = encoding_rs::GBK.encode("闲置土地");
        let c = detect([gbk.as_ref()], "no .cpg and LDID 0");
        assert_eq!(c.name(), "GB18030");
        assert_eq!(c.decode(&gbk).unwrap(), "闲置土地");
        assert!(c.reason.contains("not valid UTF-8"));
        let c = detect(["宗地".as_bytes(), b"abc"], "no hint");
        assert_eq!(c.name(), "UTF-8");
        // A UTF-8 DBF name cut at 10 bytes inside 「面」 is still UTF-8.
        let cut = &"宗地面积".as_bytes()[..10];
        let c = detect([cut, "闲置".as_bytes()], "no .cpg and LDID 0");
        assert_eq!(c.name(), "UTF-8");
        assert_eq!(c.decode(cut).unwrap(), "宗地面");
        // A GBK text does not pass for a cut UTF-8 one.
        let (gbk, _, _) = encoding_rs::GBK.encode("宗地面积");
        assert_eq!(detect([gbk.as_ref()], "no hint").name(), "GB18030");
    }

    #[test]
    fn cpg_labels_and_ldids() {
        assert_eq!(from_label("936"), Some(encoding_rs::GB18030));
        assert_eq!(from_label(" GBK\r\n"), Some(encoding_rs::GB18030));
        assert_eq!(from_label("UTF-8"), Some(encoding_rs::UTF_8));
        assert_eq!(from_label("ANSI 1252"), Some(encoding_rs::WINDOWS_1252));
        assert_eq!(from_label("nonsense-enc"), None);
        assert_eq!(from_ldid(0x4D).unwrap().1, 936);
        assert!(from_ldid(0x57).is_none());
        assert!(from_ldid(0).is_none());
    }

    #[test]
    fn field_names_cut_inside_a_character() {
        let c = EncodingChoice {
            encoding: encoding_rs::GB18030,
            reason: String::new(),
            detected: false,
        };
        // "A行政办公及" is 1 + 10 bytes in GBK; a DBF keeps 10, splitting 及.
        let (gbk, _, _) = encoding_rs::GBK.encode("A行政办公及");
        let (name, cut) = decode_field_name(&c, &gbk[..10], true);
        assert_eq!(name, "A行政办公");
        assert!(cut);
        let (name, cut) = decode_field_name(&c, &encoding_rs::GBK.encode("容积率").0, true);
        assert_eq!((name.as_str(), cut), ("容积率", false));
    }
}
