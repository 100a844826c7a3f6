//! Query parameters: parsed strictly, every unknown or malformed one a 400 that says what the
//! endpoint takes.

use super::error::{ApiError, ApiResult};
use chrono::NaiveDate;
use geo::Rect;

/// Longest query string accepted.
pub const MAX_QUERY: usize = 8 * 1024;

/// The decoded parameters of one request.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decode a raw query string; repeated parameters are refused.
    pub fn parse(raw: Option<&str>) -> ApiResult<Params> {
        let raw = raw.unwrap_or("");
        if raw.len() > MAX_QUERY {
            return Err(ApiError::bad(format!(
                "the query string is {} bytes; at most {MAX_QUERY} are accepted",
                raw.len()
            )));
        }
        let mut pairs: Vec<(String, String)> = vec![];
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            if k.is_empty() {
                continue;
            }
            if pairs.iter().any(|(p, _)| *p == k) {
                return Err(ApiError::bad(format!(
                    "parameter '{k}' is given more than once"
                )));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Params { pairs })
    }

    /// Take a parameter's value.
    pub fn take(&mut self, name: &str) -> Option<String> {
        let i = self.pairs.iter().position(|(k, _)| k == name)?;
        Some(self.pairs.remove(i).1)
    }

    /// Refuse whatever parameters remain.
    pub fn finish(self, allowed: &[String]) -> ApiResult<()> {
        match self.pairs.first() {
            None => Ok(()),
            Some((k, _)) if allowed.is_empty() => Err(ApiError::bad(format!(
                "unknown parameter '{k}'; this endpoint takes no parameters"
            ))),
            Some((k, _)) => Err(ApiError::bad(format!(
                "unknown parameter '{k}'; this endpoint takes: {}",
                allowed.join(", ")
            ))),
        }
    }
}

/// The representation asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// JSON (GeoJSON for features).
    Json,
    /// HTML.
    Html,
    /// CSV.
    Csv,
    /// XLSX.
    Xlsx,
}

/// The format from `f=` (json, html, csv, xlsx as `allowed` permits), else the Accept header.
pub fn format(f: Option<String>, accept: Option<&str>, allowed: &[Format]) -> ApiResult<Format> {
    let chosen = match f.as_deref() {
        Some("json") | Some("geojson") => Format::Json,
        Some("html") => Format::Html,
        Some("csv") => Format::Csv,
        Some("xlsx") => Format::Xlsx,
        Some(other) => {
            return Err(ApiError::bad(format!(
                "f={other} is not a format of this endpoint; use {}",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}").to_lowercase())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        None => {
            let a = accept.unwrap_or("");
            let html = a.find("text/html");
            let json = a.find("json");
            match (html, json) {
                (Some(h), Some(j)) if h < j => Format::Html,
                (Some(_), None) => Format::Html,
                _ => Format::Json,
            }
        }
    };
    if allowed.contains(&chosen) {
        Ok(chosen)
    } else {
        Err(ApiError::bad(
            format!("this endpoint does not offer {chosen:?}").to_lowercase(),
        ))
    }
}

fn number(s: &str, what: &str) -> ApiResult<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| ApiError::bad(format!("{what}: '{s}' is not a number")))
}

/// `limit`: default 100, at least 1, values above the maximum clamped (not refused).
pub fn limit(v: Option<String>, default: usize, max: usize) -> ApiResult<usize> {
    match v {
        None => Ok(default),
        Some(s) => {
            let t = s.trim();
            let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            // A number too long for u64 is still a number: clamped like any other above max.
            let n: u64 = match t.parse() {
                Ok(n) => n,
                Err(_) if digits => u64::MAX,
                Err(_) => {
                    return Err(ApiError::bad(format!(
                        "limit: '{s}' is not a whole number from 1 to {max}"
                    )))
                }
            };
            if n == 0 {
                return Err(ApiError::bad("limit must be at least 1"));
            }
            Ok((n as usize).min(max))
        }
    }
}

/// `offset`: where a page starts.
pub fn offset(v: Option<String>) -> ApiResult<usize> {
    match v {
        None => Ok(0),
        Some(s) => s
            .trim()
            .parse::<usize>()
            .map_err(|_| ApiError::bad(format!("offset: '{s}' is not a whole number ≥ 0"))),
    }
}

/// A CRS as the API names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrsRef {
    /// OGC CRS84: lon/lat on WGS 84, GeoJSON's default.
    Crs84,
    /// An EPSG code.
    Epsg(u32),
}

impl CrsRef {
    /// Its URI.
    pub fn uri(self) -> String {
        match self {
            CrsRef::Crs84 => "http://www.opengis.net/def/crs/OGC/1.3/CRS84".into(),
            CrsRef::Epsg(c) => format!("http://www.opengis.net/def/crs/EPSG/0/{c}"),
        }
    }

    /// What PROJ is given.
    pub fn definition(self) -> String {
        match self {
            CrsRef::Crs84 => "OGC:CRS84".into(),
            CrsRef::Epsg(c) => format!("EPSG:{c}"),
        }
    }

    /// Parse a URI, CURIE (`[EPSG:4490]`) or `EPSG:4490`.
    pub fn parse(s: &str) -> Option<CrsRef> {
        let t = s.trim().trim_start_matches('[').trim_end_matches(']');
        let t = t
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_start_matches("www.opengis.net/def/crs/");
        let up = t.to_ascii_uppercase();
        if matches!(
            up.as_str(),
            "OGC/1.3/CRS84" | "OGC/0/CRS84" | "OGC:CRS84" | "CRS84"
        ) {
            return Some(CrsRef::Crs84);
        }
        let code = up
            .strip_prefix("EPSG/0/")
            .or_else(|| up.strip_prefix("EPSG:"))?;
        code.parse().ok().map(CrsRef::Epsg)
    }
}

/// A CRS parameter, one of `supported`.
pub fn crs(name: &str, v: Option<String>, supported: &[CrsRef]) -> ApiResult<CrsRef> {
    let Some(s) = v else { return Ok(CrsRef::Crs84) };
    let c = CrsRef::parse(&s)
        .ok_or_else(|| ApiError::bad(format!("{name}: '{s}' is not a CRS URI")))?;
    if supported.contains(&c) {
        Ok(c)
    } else {
        Err(ApiError::bad(format!(
            "{name}: {} is not offered here; use one of {}",
            c.uri(),
            supported
                .iter()
                .map(|c| c.uri())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// `bbox`: 4 numbers (or 6, with heights that are ignored), in the order of `bbox-crs`.
pub fn bbox(v: Option<String>) -> ApiResult<Option<[f64; 4]>> {
    let Some(s) = v else { return Ok(None) };
    let parts: Vec<f64> = s
        .split(',')
        .map(|p| number(p, "bbox"))
        .collect::<ApiResult<_>>()?;
    let b = match parts.len() {
        4 => [parts[0], parts[1], parts[2], parts[3]],
        6 => [parts[0], parts[1], parts[3], parts[4]],
        n => {
            return Err(ApiError::bad(format!(
                "bbox has {n} numbers; give 4 (minx,miny,maxx,maxy) or 6 (with heights)"
            )))
        }
    };
    if b[1] > b[3] {
        return Err(ApiError::bad(
            "bbox: the lower corner lies above the upper one",
        ));
    }
    Ok(Some(b))
}

/// Turn a bbox in CRS84 into lon/lat boxes (two when it crosses the antimeridian).
pub fn lonlat_boxes(b: [f64; 4]) -> ApiResult<Vec<Rect>> {
    if b[1] < -90.0 || b[3] > 90.0 {
        return Err(ApiError::bad("bbox: latitudes must lie between -90 and 90"));
    }
    if b[0] <= b[2] {
        Ok(vec![Rect::new((b[0], b[1]), (b[2], b[3]))])
    } else {
        Ok(vec![
            Rect::new((b[0], b[1]), (180.0, b[3])),
            Rect::new((-180.0, b[1]), (b[2], b[3])),
        ])
    }
}

/// A date interval for `datetime` (either end open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    /// First day included.
    pub start: Option<NaiveDate>,
    /// Last day included.
    pub end: Option<NaiveDate>,
}

impl Interval {
    /// Whether a date lies inside.
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start.is_none_or(|s| d >= s) && self.end.is_none_or(|e| d <= e)
    }
}

fn instant(s: &str) -> ApiResult<Option<NaiveDate>> {
    let t = s.trim();
    if t.is_empty() || t == ".." {
        return Ok(None);
    }
    let parsed = if t.len() > 10 {
        // A date-time counts by its calendar date as written (dates carry no time of day).
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|dt| dt.date_naive())
    } else {
        t.parse::<NaiveDate>().ok()
    };
    parsed.map(Some).ok_or_else(|| {
        ApiError::bad(format!(
            "datetime: '{s}' is not an RFC 3339 date (2024-05-01) or date-time (2024-05-01T00:00:00Z)"
        ))
    })
}

/// `datetime`: an instant or an interval `start/end` with `..` for an open end.
pub fn datetime(v: Option<String>) -> ApiResult<Option<Interval>> {
    let Some(s) = v else { return Ok(None) };
    let i = match s.split_once('/') {
        Some((a, b)) => Interval {
            start: instant(a)?,
            end: instant(b)?,
        },
        None => {
            let d = instant(&s)?
                .ok_or_else(|| ApiError::bad("datetime: '..' alone is not an instant"))?;
            Interval {
                start: Some(d),
                end: Some(d),
            }
        }
    };
    if let (Some(a), Some(b)) = (i.start, i.end) {
        if a > b {
            return Err(ApiError::bad(
                "datetime: the interval ends before it starts",
            ));
        }
    }
    Ok(Some(i))
}

/// A true/false parameter (`skipGeometry`), false when absent.
pub fn boolean(name: &str, v: Option<String>) -> ApiResult<bool> {
    match v.as_deref().map(str::trim) {
        None => Ok(false),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ApiError::bad(format!(
            "{name}: '{other}' is not true or false"
        ))),
    }
}

/// A YYYY-MM-DD date (`as_of`).
pub fn date(name: &str, v: Option<String>) -> ApiResult<Option<NaiveDate>> {
    match v {
        None => Ok(None),
        Some(s) => match s.trim().parse::<NaiveDate>() {
            Ok(d) if (1900..=2999).contains(&chrono::Datelike::year(&d)) => Ok(Some(d)),
            Ok(_) => Err(ApiError::bad(format!(
                "{name}: '{s}' is outside the years 1900–2999"
            ))),
            Err(_) => Err(ApiError::bad(format!(
                "{name}: '{s}' is not a date; write YYYY-MM-DD"
            ))),
        },
    }
}

/// Path segments (`/collections/{id}` …) as axum's `Path` reads them, with a segment that is
/// not UTF-8 once percent-decoded answered as an OGC exception instead of plain text.
pub struct Path<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e| {
                ApiError::bad(format!(
                    "{}; path segments are UTF-8 text, percent-encoded",
                    e.body_text()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        let mut p = Params::parse(Some("limit=5&bogus=1")).unwrap();
        assert_eq!(p.take("limit").as_deref(), Some("5"));
        let e = p.finish(&["limit".into()]).unwrap_err();
        assert!(e.description.contains("bogus") && e.description.contains("limit"));
        assert!(Params::parse(Some("a=1&a=2")).is_err());
        let long = "x=".to_string() + &"a".repeat(MAX_QUERY);
        assert!(Params::parse(Some(&long)).is_err());
        // Percent-encoded Chinese names decode.
        let mut p = Params::parse(Some("%E6%89%80%E5%B1%9E%E5%9B%AD%E5%8C%BA=GXQ01")).unwrap();
        assert_eq!(p.take("所属园区").as_deref(), Some("GXQ01"));
    }

    #[test]
    fn limits_clamp_and_bboxes_accept_heights() {
        assert_eq!(limit(None, 100, 10_000).unwrap(), 100);
        assert_eq!(limit(Some("50000".into()), 100, 10_000).unwrap(), 10_000);
        assert!(limit(Some("0".into()), 100, 10_000).is_err());
        assert!(limit(Some("-3".into()), 100, 10_000).is_err());
        assert_eq!(
            limit(Some("99999999999999999999999".into()), 100, 10_000).unwrap(),
            10_000
        );
        assert_eq!(
            bbox(Some("1,2,0,3,4,9".into())).unwrap(),
            Some([1.0, 2.0, 3.0, 4.0])
        );
        assert!(bbox(Some("1,2,3".into())).is_err());
        assert!(bbox(Some("1,5,3,4".into())).is_err());
        assert!(bbox(Some("1,2,x,4".into())).is_err());
        assert_eq!(lonlat_boxes([170.0, 0.0, -170.0, 1.0]).unwrap().len(), 2);
        assert!(lonlat_boxes([0.0, -95.0, 1.0, 1.0]).is_err());
    }

    #[test]
    fn crs_uris_and_datetimes() {
        assert_eq!(
            CrsRef::parse("http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
            Some(CrsRef::Crs84)
        );
        assert_eq!(CrsRef::parse("[EPSG:4490]"), Some(CrsRef::Epsg(4490)));
        assert_eq!(
            CrsRef::parse("http://www.opengis.net/def/crs/EPSG/0/4523"),
            Some(CrsRef::Epsg(4523))
        );
        assert!(crs("crs", Some("EPSG:3857".into()), &[CrsRef::Crs84]).is_err());
        let i = datetime(Some("2019-01-01/..".into())).unwrap().unwrap();
        assert!(
            i.contains("2030-01-01".parse().unwrap()) && !i.contains("2018-12-31".parse().unwrap())
        );
        let one = datetime(Some("2019-03-05T10:00:00Z".into()))
            .unwrap()
            .unwrap();
        assert!(one.contains("2019-03-05".parse().unwrap()));
        assert!(datetime(Some("2020-01-01/2019-01-01".into())).is_err());
        assert!(datetime(Some("yesterday".into())).is_err());
        assert!(datetime(Some("2020-01-01garbage".into())).is_err());
        assert!(date("as_of", Some("-0001-01-01".into())).is_err());
        assert!(boolean("skipGeometry", Some("true".into())).unwrap());
        assert!(!boolean("skipGeometry", None).unwrap());
        assert!(boolean("skipGeometry", Some("yes".into())).is_err());
        assert!(date("as_of", Some("2024-02-30".into())).is_err());
        assert_eq!(
            date("as_of", Some("2024-02-29".into())).unwrap(),
            "2024-02-29".parse().ok()
        );
    }

    #[test]
    fn formats_from_f_or_accept() {
        let all = [Format::Json, Format::Html];
        assert_eq!(
            format(None, Some("text/html,application/xhtml+xml"), &all).unwrap(),
            Format::Html
        );
        assert_eq!(
            format(None, Some("application/geo+json, application/json"), &all).unwrap(),
            Format::Json
        );
        assert_eq!(
            format(Some("html".into()), Some("application/json"), &all).unwrap(),
            Format::Html
        );
        assert!(format(Some("pdf".into()), None, &all).is_err());
        assert!(format(Some("csv".into()), None, &all).is_err());
    }
}
