//! CQL2 filters (筛选表达式) — OGC API – Features Part 3 `filter`, `filter-lang` and
//! `filter-crs`, and `sortby`.
//!
//! Expressions are parsed by the `cql2` crate (cql2-text or cql2-json) and compiled here,
//! once per request, against the collection's typed queryables: a property that is not a
//! queryable, a literal of the wrong type for its property or an operator landwatch does not
//! evaluate is a [`FilterError`] (a 400), never a silent mismatch. The compiled filter is then
//! evaluated feature by feature over typed values, with SQL's three-valued logic: a comparison
//! with a missing value is unknown, and only features for which the filter is true are kept.
//!
//! Supported: `=`, `<>`, `<`, `<=`, `>`, `>=`, `LIKE`, `IN`, `BETWEEN`, `IS NULL`, `AND`,
//! `OR`, `NOT`, `CASEI`, the spatial functions `S_INTERSECTS`, `S_DISJOINT`, `S_WITHIN`,
//! `S_CONTAINS`, `S_EQUALS`, `S_TOUCHES`, `S_OVERLAPS`, `S_CROSSES` with WKT, GeoJSON or
//! `BBOX` literals, and every temporal function (`T_BEFORE` … `T_INTERSECTS`) on dates,
//! timestamps and intervals. Dates carry no time of day, so a timestamp counts by its
//! calendar date, as `datetime` does.
//!
//! ```
//! use landwatch::server::filter::{Filter, Kind, Lang, Property, Value};
//! let props = [Property { name: "所属园区".into(), key: "park_id", kind: Kind::String }];
//! let f = Filter::parse("\"所属园区\" IN ('GXQ01', 'GXQ02')", Lang::Text, &props, &|_| Ok(())).unwrap();
//! assert!(f.matches(&|_| Value::Text("GXQ02".into()), None));
//! assert!(!f.matches(&|_| Value::Null, None));
//! ```

use chrono::NaiveDate;
use cql2::Expr;
use geo::{BoundingRect, Geometry, Intersects, Relate};
use std::borrow::Cow;
use std::cmp::Ordering;
use wkt::TryFromWkt;

pub use crate::checks::Kind;

impl Kind {
    /// The JSON Schema `type`.
    pub fn json_type(self) -> &'static str {
        match self {
            Kind::String | Kind::Date => "string",
            Kind::Number => "number",
            Kind::Integer => "integer",
            Kind::Boolean => "boolean",
        }
    }

    /// The JSON Schema `format`, when the type alone does not say it.
    pub fn format(self) -> Option<&'static str> {
        (self == Kind::Date).then_some("date")
    }

    /// A value as text (a query parameter, an analysis property) read as this kind: `None`
    /// when it is not one.
    pub fn read(self, text: &str) -> Option<Value<'_>> {
        let t = text.trim();
        match self {
            Kind::String => Some(Value::Text(Cow::Borrowed(text))),
            Kind::Number => t
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .map(Value::Number),
            Kind::Integer => t
                .parse::<i64>()
                .ok()
                .map(|v| Value::Number(v as f64))
                .or_else(|| {
                    t.parse::<f64>()
                        .ok()
                        .filter(|v| v.fract() == 0.0)
                        .map(Value::Number)
                }),
            Kind::Date => date(t).map(Value::Date),
            Kind::Boolean => match t {
                "true" | "1" => Some(Value::Bool(true)),
                "false" | "0" => Some(Value::Bool(false)),
                _ => None,
            },
        }
    }
}

/// A date, or the calendar date of an RFC 3339 timestamp.
fn date(t: &str) -> Option<NaiveDate> {
    if t.len() > 10 {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|d| d.date_naive())
            .or_else(|| {
                chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(|d| d.date())
            })
    } else {
        t.parse()
            .ok()
            .or_else(|| crate::model::value::parse_date(t).ok())
    }
}

/// One feature's value of a property.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// Not recorded.
    Null,
    /// Text.
    Text(Cow<'a, str>),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A date.
    Date(NaiveDate),
}

impl Value<'_> {
    /// The same value, owning its text (to be kept beside a feature).
    pub fn owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Text(t) => Value::Text(Cow::Owned(t.into_owned())),
            Value::Number(n) => Value::Number(n),
            Value::Bool(b) => Value::Bool(b),
            Value::Date(d) => Value::Date(d),
        }
    }

    /// The same value, borrowing its text from this one.
    pub fn borrowed(&self) -> Value<'_> {
        match self {
            Value::Text(t) => Value::Text(Cow::Borrowed(t.as_ref())),
            Value::Null => Value::Null,
            Value::Number(n) => Value::Number(*n),
            Value::Bool(b) => Value::Bool(*b),
            Value::Date(d) => Value::Date(*d),
        }
    }

    /// Order two values of one kind (`None` for a missing one, or kinds that do not compare).
    pub fn compare(&self, other: &Value<'_>) -> Option<Ordering> {
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => Some(a.as_ref().cmp(b.as_ref())),
            (Value::Number(a), Value::Number(b)) => a.partial_cmp(b),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// A property a filter may name.
#[derive(Clone, Debug)]
pub struct Property {
    /// The name in expressions (the column as features carry it, or the canonical key).
    pub name: String,
    /// The canonical key values are looked up by.
    pub key: &'static str,
    /// Its type.
    pub kind: Kind,
}

/// The name of the geometry in expressions.
pub const GEOMETRY: &str = "geometry";

/// The filter languages (`filter-lang`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// cql2-text, the default.
    Text,
    /// cql2-json.
    Json,
}

impl Lang {
    /// `filter-lang`, cql2-text when absent.
    pub fn parse(v: Option<&str>) -> Result<Lang, FilterError> {
        match v.map(str::trim) {
            None | Some("cql2-text") => Ok(Lang::Text),
            Some("cql2-json") => Ok(Lang::Json),
            Some(other) => Err(FilterError::Language(other.to_string())),
        }
    }
}

/// Why a filter cannot be evaluated (every one a 400).
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// `filter-lang` names another language.
    #[error("filter-lang: '{0}' is not offered; use cql2-text (the default) or cql2-json")]
    Language(String),
    /// The expression does not parse.
    #[error("filter: the expression does not parse as {lang}: {message}")]
    Syntax {
        /// The language.
        lang: &'static str,
        /// The parser's message, with the position.
        message: String,
    },
    /// A property that is not a queryable.
    #[error("filter: '{name}' is not a queryable of this collection; it can filter on: {known} (text values are written in single quotes: {name} = 'value')")]
    UnknownProperty {
        /// The name.
        name: String,
        /// The queryables.
        known: String,
    },
    /// A literal that is not of its property's type.
    #[error("filter: {property} is {kind}, and {literal} is not one")]
    Type {
        /// The property.
        property: String,
        /// Its type in words.
        kind: &'static str,
        /// The literal as written.
        literal: String,
    },
    /// A construct landwatch does not evaluate.
    #[error("filter: {0}")]
    Unsupported(String),
    /// A geometry literal that cannot be read or brought to lon/lat.
    #[error("filter: geometry {0}")]
    Geometry(String),
    /// `sortby` names something that cannot sort.
    #[error("sortby: {0}")]
    Sort(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spatial {
    Intersects,
    Disjoint,
    Within,
    Contains,
    Equals,
    Touches,
    Overlaps,
    Crosses,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Temporal {
    Before,
    After,
    Meets,
    MetBy,
    Overlaps,
    OverlappedBy,
    Starts,
    StartedBy,
    During,
    Contains,
    Finishes,
    FinishedBy,
    Equals,
    Disjoint,
    Intersects,
}

/// A scalar operand: a property, a literal, or `CASEI` of one.
#[derive(Clone, Debug)]
enum Operand {
    Property(&'static str, Kind),
    Literal(Value<'static>),
    Casei(Box<Operand>),
}

/// A spatial operand.
#[derive(Clone, Debug)]
enum Shape {
    Feature,
    Literal(Box<Geometry>, Option<geo::Rect>),
}

/// A temporal operand: a date property, or a literal instant or interval (open ends `None`).
#[derive(Clone, Debug)]
enum When {
    Property(&'static str),
    Literal(Option<NaiveDate>, Option<NaiveDate>),
}

#[derive(Clone, Debug)]
enum Node {
    Const(bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Compare(Cmp, Operand, Operand),
    Like(Operand, Operand),
    In(Operand, Vec<Operand>),
    Between(Operand, Operand, Operand),
    IsNull(Operand),
    Spatial(Spatial, Shape, Shape),
    Temporal(Temporal, When, When),
}

/// A compiled filter.
#[derive(Clone, Debug)]
pub struct Filter {
    root: Node,
}

/// Brings a geometry literal written in `filter-crs` to lon/lat (CRS84 axis order).
pub type ToLonLat<'a> = dyn Fn(&mut Geometry) -> Result<(), String> + 'a;

struct Compiler<'a> {
    properties: &'a [Property],
    to_lonlat: &'a ToLonLat<'a>,
}

fn kind_words(k: Kind) -> &'static str {
    match k {
        Kind::String => "text",
        Kind::Number => "a number",
        Kind::Integer => "a whole number",
        Kind::Date => "a date (DATE('2024-05-01'))",
        Kind::Boolean => "true or false",
    }
}

fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

fn spatial_op(op: &str) -> Option<Spatial> {
    Some(match op {
        "s_intersects" => Spatial::Intersects,
        "s_disjoint" => Spatial::Disjoint,
        "s_within" => Spatial::Within,
        "s_contains" => Spatial::Contains,
        "s_equals" => Spatial::Equals,
        "s_touches" => Spatial::Touches,
        "s_overlaps" => Spatial::Overlaps,
        "s_crosses" => Spatial::Crosses,
        _ => return None,
    })
}

fn temporal_op(op: &str) -> Option<Temporal> {
    Some(match op {
        "t_before" => Temporal::Before,
        "t_after" => Temporal::After,
        "t_meets" => Temporal::Meets,
        "t_metBy" => Temporal::MetBy,
        "t_overlaps" => Temporal::Overlaps,
        "t_overlappedBy" => Temporal::OverlappedBy,
        "t_starts" => Temporal::Starts,
        "t_startedBy" => Temporal::StartedBy,
        "t_during" => Temporal::During,
        "t_contains" => Temporal::Contains,
        "t_finishes" => Temporal::Finishes,
        "t_finishedBy" => Temporal::FinishedBy,
        "t_equals" => Temporal::Equals,
        "t_disjoint" => Temporal::Disjoint,
        "t_intersects" => Temporal::Intersects,
        _ => return None,
    })
}

fn cmp_op(op: &str) -> Option<Cmp> {
    Some(match op {
        "=" => Cmp::Eq,
        "<>" => Cmp::Ne,
        "<" => Cmp::Lt,
        "<=" => Cmp::Le,
        ">" => Cmp::Gt,
        ">=" => Cmp::Ge,
        _ => return None,
    })
}

/// The text of a literal, for messages.
fn shown(e: &Expr) -> String {
    e.to_text().unwrap_or_else(|_| format!("{e:?}"))
}

impl Compiler<'_> {
    fn property(&self, name: &str) -> Result<&Property, FilterError> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| FilterError::UnknownProperty {
                name: name.to_string(),
                known: self
                    .properties
                    .iter()
                    .map(|p| p.name.as_str())
                    .chain([GEOMETRY])
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn node(&self, e: &Expr) -> Result<Node, FilterError> {
        match e {
            Expr::Bool(b) => Ok(Node::Const(*b)),
            Expr::Operation { op, args } => self.operation(op, args),
            Expr::Property { property } => {
                let p = self.property(property)?;
                if p.kind == Kind::Boolean {
                    Ok(Node::Compare(
                        Cmp::Eq,
                        Operand::Property(p.key, p.kind),
                        Operand::Literal(Value::Bool(true)),
                    ))
                } else {
                    Err(FilterError::Unsupported(format!(
                        "'{property}' alone is not a condition; compare it, e.g. {property} = 'value'"
                    )))
                }
            }
            other => Err(FilterError::Unsupported(format!(
                "{} is not a condition",
                shown(other)
            ))),
        }
    }

    fn arity(&self, op: &str, args: &[Box<Expr>], n: usize) -> Result<(), FilterError> {
        if args.len() == n {
            Ok(())
        } else {
            Err(FilterError::Unsupported(format!(
                "{op} takes {n} argument(s), not {}",
                args.len()
            )))
        }
    }

    fn operation(&self, op: &str, args: &[Box<Expr>]) -> Result<Node, FilterError> {
        let all = |c: &Self| -> Result<Vec<Node>, FilterError> {
            args.iter().map(|a| c.node(a)).collect()
        };
        if let Some(c) = cmp_op(op) {
            self.arity(op, args, 2)?;
            let (a, b) = self.pair(&args[0], &args[1])?;
            return Ok(Node::Compare(c, a, b));
        }
        if let Some(s) = spatial_op(op) {
            self.arity(op, args, 2)?;
            return Ok(Node::Spatial(
                s,
                self.shape(&args[0])?,
                self.shape(&args[1])?,
            ));
        }
        if let Some(t) = temporal_op(op) {
            self.arity(op, args, 2)?;
            return Ok(Node::Temporal(
                t,
                self.when(&args[0])?,
                self.when(&args[1])?,
            ));
        }
        match op {
            "and" => Ok(Node::And(all(self)?)),
            "or" => Ok(Node::Or(all(self)?)),
            "not" => {
                self.arity(op, args, 1)?;
                Ok(Node::Not(Box::new(self.node(&args[0])?)))
            }
            "like" => {
                self.arity(op, args, 2)?;
                let (a, b) = self.pair(&args[0], &args[1])?;
                for side in [&a, &b] {
                    let k = match side {
                        Operand::Property(_, k) => Some(*k),
                        Operand::Casei(inner) => match inner.as_ref() {
                            Operand::Property(_, k) => Some(*k),
                            _ => None,
                        },
                        _ => None,
                    };
                    if k.is_some_and(|k| k != Kind::String) {
                        return Err(FilterError::Unsupported(format!(
                            "LIKE compares text; {} is not text",
                            shown(&args[0])
                        )));
                    }
                }
                Ok(Node::Like(a, b))
            }
            "in" => {
                self.arity(op, args, 2)?;
                let Expr::Array(items) = args[1].as_ref() else {
                    return Err(FilterError::Unsupported(
                        "IN takes a list: x IN ('a', 'b')".into(),
                    ));
                };
                let value = self.operand(&args[0], None)?;
                let kind = operand_kind(&value);
                let list = items
                    .iter()
                    .map(|i| self.operand(i, kind.map(|k| (k, shown(&args[0])))))
                    .collect::<Result<_, _>>()?;
                Ok(Node::In(value, list))
            }
            "between" => {
                self.arity(op, args, 3)?;
                let value = self.operand(&args[0], None)?;
                let kind = operand_kind(&value).map(|k| (k, shown(&args[0])));
                let lo = self.operand(&args[1], kind.clone())?;
                let hi = self.operand(&args[2], kind)?;
                Ok(Node::Between(value, lo, hi))
            }
            "isNull" => {
                self.arity(op, args, 1)?;
                Ok(Node::IsNull(self.operand(&args[0], None)?))
            }
            "accenti" => Err(FilterError::Unsupported(
                "ACCENTI is not offered (accent-insensitive comparison); CASEI is".into(),
            )),
            "+" | "-" | "*" | "/" | "%" | "^" | "div" => Err(FilterError::Unsupported(format!(
                "arithmetic ({op}) is not offered"
            ))),
            "a_equals" | "a_contains" | "a_containedBy" | "a_overlaps" => Err(
                FilterError::Unsupported(format!("{op}: no queryable holds an array")),
            ),
            other => Err(FilterError::Unsupported(format!(
                "'{other}' is not an operator or function landwatch evaluates"
            ))),
        }
    }

    /// Two operands of a comparison, the literal read as the property's type.
    fn pair(&self, a: &Expr, b: &Expr) -> Result<(Operand, Operand), FilterError> {
        let left = self.operand(a, None)?;
        let right = self.operand(b, operand_kind(&left).map(|k| (k, shown(a))))?;
        let left = match (&left, operand_kind(&right)) {
            (Operand::Literal(_) | Operand::Casei(_), Some(k)) if operand_kind(&left).is_none() => {
                self.operand(a, Some((k, shown(b))))?
            }
            _ => left,
        };
        if let (Some(x), Some(y)) = (operand_kind(&left), operand_kind(&right)) {
            let numeric = |k| matches!(k, Kind::Number | Kind::Integer);
            if x != y && !(numeric(x) && numeric(y)) {
                return Err(FilterError::Unsupported(format!(
                    "{} ({}) and {} ({}) do not compare",
                    shown(a),
                    kind_words(x),
                    shown(b),
                    kind_words(y)
                )));
            }
        }
        Ok((left, right))
    }

    /// A scalar operand; a literal is read as `want`'s kind when given (the property it is
    /// compared with).
    fn operand(&self, e: &Expr, want: Option<(Kind, String)>) -> Result<Operand, FilterError> {
        let mismatch = |kind: Kind, property: &str| FilterError::Type {
            property: property.to_string(),
            kind: kind_words(kind),
            literal: shown(e),
        };
        match e {
            Expr::Property { property } => {
                let p = self.property(property)?;
                Ok(Operand::Property(p.key, p.kind))
            }
            Expr::Operation { op, args } if op == "casei" => {
                self.arity(op, args, 1)?;
                let inner = self.operand(&args[0], want.map(|_| (Kind::String, String::new())))?;
                if operand_kind(&inner).is_some_and(|k| k != Kind::String) {
                    return Err(FilterError::Unsupported("CASEI takes text".into()));
                }
                Ok(Operand::Casei(Box::new(inner)))
            }
            Expr::Null => Ok(Operand::Literal(Value::Null)),
            Expr::Literal(s) => Ok(Operand::Literal(match want {
                None | Some((Kind::String, _)) => Value::Text(Cow::Owned(s.clone())),
                Some((k, p)) => k.read(s).map(Value::owned).ok_or_else(|| mismatch(k, &p))?,
            })),
            Expr::Float(f) => Ok(Operand::Literal(match want {
                None | Some((Kind::Number, _)) => Value::Number(*f),
                Some((Kind::Integer, p)) if f.fract() != 0.0 => {
                    return Err(mismatch(Kind::Integer, &p))
                }
                Some((Kind::Integer, _)) => Value::Number(*f),
                Some((Kind::String, _)) => Value::Text(Cow::Owned(number_text(*f))),
                Some((k, p)) => return Err(mismatch(k, &p)),
            })),
            Expr::Bool(b) => Ok(Operand::Literal(match want {
                None | Some((Kind::Boolean, _)) => Value::Bool(*b),
                Some((Kind::String, _)) => Value::Text(Cow::Owned(b.to_string())),
                Some((k, p)) => return Err(mismatch(k, &p)),
            })),
            Expr::Date { date: inner } | Expr::Timestamp { timestamp: inner } => {
                let day = match inner.as_ref() {
                    Expr::Literal(s) => date(s.trim()),
                    _ => None,
                }
                .ok_or_else(|| {
                    FilterError::Unsupported(format!("{} is not a date or timestamp", shown(e)))
                })?;
                match want {
                    None | Some((Kind::Date, _)) => Ok(Operand::Literal(Value::Date(day))),
                    Some((k, p)) => Err(mismatch(k, &p)),
                }
            }
            other => Err(FilterError::Unsupported(format!(
                "{} is not a value a property compares with",
                shown(other)
            ))),
        }
    }

    fn shape(&self, e: &Expr) -> Result<Shape, FilterError> {
        let mut g: Geometry = match e {
            Expr::Property { property } if property == GEOMETRY => return Ok(Shape::Feature),
            Expr::Property { property } => {
                self.property(property)?;
                return Err(FilterError::Unsupported(format!(
                    "{property} is not a geometry; the spatial queryable is '{GEOMETRY}'"
                )));
            }
            Expr::Geometry(g) => {
                let text = g
                    .to_wkt()
                    .map_err(|err| FilterError::Geometry(err.to_string()))?;
                Geometry::try_from_wkt_str(&text)
                    .map_err(|err| FilterError::Geometry(format!("{text}: {err}")))?
            }
            Expr::BBox { bbox } => {
                let n: Vec<f64> = bbox
                    .iter()
                    .map(|b| match b.as_ref() {
                        Expr::Float(f) => Some(*f),
                        _ => None,
                    })
                    .collect::<Option<_>>()
                    .ok_or_else(|| FilterError::Geometry("BBOX takes numbers".into()))?;
                let (x0, y0, x1, y1) = match n.len() {
                    4 => (n[0], n[1], n[2], n[3]),
                    6 => (n[0], n[1], n[3], n[4]),
                    k => {
                        return Err(FilterError::Geometry(format!(
                            "BBOX takes 4 or 6 numbers, not {k}"
                        )))
                    }
                };
                Geometry::Rect(geo::Rect::new((x0, y0), (x1, y1)))
            }
            other => {
                return Err(FilterError::Unsupported(format!(
                    "{} is not a geometry",
                    shown(other)
                )))
            }
        };
        (self.to_lonlat)(&mut g).map_err(FilterError::Geometry)?;
        if let Some(r) = g.bounding_rect() {
            if r.min().y < -90.0 || r.max().y > 90.0 || r.min().x < -180.0 || r.max().x > 180.0 {
                return Err(FilterError::Geometry(format!(
                    "lies outside longitude −180…180 / latitude −90…90 (box {:?}…{:?}); give it in filter-crs",
                    (r.min().x, r.min().y),
                    (r.max().x, r.max().y)
                )));
            }
        }
        let rect = g.bounding_rect();
        Ok(Shape::Literal(Box::new(g), rect))
    }

    fn when(&self, e: &Expr) -> Result<When, FilterError> {
        let instant = |e: &Expr| -> Result<Option<NaiveDate>, FilterError> {
            match e {
                Expr::Literal(s) if s.trim() == ".." => Ok(None),
                Expr::Literal(s) => date(s.trim()).map(Some).ok_or_else(|| {
                    FilterError::Unsupported(format!("'{s}' is not a date or timestamp"))
                }),
                Expr::Date { date: inner } | Expr::Timestamp { timestamp: inner } => {
                    match inner.as_ref() {
                        Expr::Literal(s) => date(s.trim()).map(Some).ok_or_else(|| {
                            FilterError::Unsupported(format!("'{s}' is not a date or timestamp"))
                        }),
                        other => Err(FilterError::Unsupported(format!(
                            "{} is not a date",
                            shown(other)
                        ))),
                    }
                }
                other => Err(FilterError::Unsupported(format!(
                    "{} is not an instant",
                    shown(other)
                ))),
            }
        };
        match e {
            Expr::Property { property } => {
                let p = self.property(property)?;
                if p.kind == Kind::Date {
                    Ok(When::Property(p.key))
                } else {
                    Err(FilterError::Unsupported(format!(
                        "{property} is not a date, so temporal functions do not apply"
                    )))
                }
            }
            Expr::Interval { interval } if interval.len() == 2 => {
                let (a, b) = (instant(&interval[0])?, instant(&interval[1])?);
                if let (Some(a), Some(b)) = (a, b) {
                    if a > b {
                        return Err(FilterError::Unsupported(format!(
                            "INTERVAL ends ({b}) before it starts ({a})"
                        )));
                    }
                }
                Ok(When::Literal(a, b))
            }
            Expr::Date { .. } | Expr::Timestamp { .. } => {
                let d = instant(e)?;
                Ok(When::Literal(d, d))
            }
            other => Err(FilterError::Unsupported(format!(
                "{} is not a date, timestamp or interval",
                shown(other)
            ))),
        }
    }
}

fn operand_kind(o: &Operand) -> Option<Kind> {
    match o {
        Operand::Property(_, k) => Some(*k),
        Operand::Casei(_) => Some(Kind::String),
        Operand::Literal(_) => None,
    }
}

/// `LIKE` with `%` (any run), `_` (one character) and `\` escaping either.
fn like(text: &[char], pattern: &[char]) -> bool {
    // Iterative matching with backtracking to the last `%`.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    let token = |p: usize| -> (Option<char>, usize) {
        match pattern.get(p) {
            Some('\\') if p + 1 < pattern.len() => (Some(pattern[p + 1]), 2),
            Some('_') => (None, 1),
            Some(c) => (Some(*c), 1),
            None => (None, 0),
        }
    };
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '%' {
            star = Some((p, t));
            p += 1;
            continue;
        }
        let (want, width) = token(p);
        let matches = width > 0
            && match want {
                None => true,
                Some(c) => c == text[t],
            };
        if matches {
            t += 1;
            p += width;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '%')
}

impl Filter {
    /// Parse and compile a filter over these properties; geometry literals are brought from
    /// `filter-crs` to lon/lat by `to_lonlat`.
    pub fn parse(
        text: &str,
        lang: Lang,
        properties: &[Property],
        to_lonlat: &ToLonLat<'_>,
    ) -> Result<Filter, FilterError> {
        let expr = match lang {
            Lang::Text => cql2::parse_text(text).map_err(|e| FilterError::Syntax {
                lang: "cql2-text",
                message: e.to_string(),
            })?,
            Lang::Json => cql2::parse_json(text).map_err(|e| FilterError::Syntax {
                lang: "cql2-json",
                message: e.to_string(),
            })?,
        };
        let root = Compiler {
            properties,
            to_lonlat,
        }
        .node(&expr)?;
        Ok(Filter { root })
    }

    /// Whether a feature is kept: the filter is true for it (not false, not unknown).
    /// `value` gives the feature's value of a property key, `geometry` its lon/lat geometry.
    pub fn matches<'v>(
        &self,
        value: &dyn Fn(&'static str) -> Value<'v>,
        geometry: Option<&Geometry>,
    ) -> bool {
        eval(&self.root, value, geometry) == Some(true)
    }
}

/// Fold equality on properties given as query parameters (`?所属园区=GXQ01`, OGC API –
/// Features Part 1 §7.15.5 and Part 3 queryables-query-parameters) into a filter: a value
/// that is not of its property's type is an error.
pub fn with_equalities(
    filter: Option<Filter>,
    pairs: &[(Property, String)],
) -> Result<Option<Filter>, FilterError> {
    let mut nodes: Vec<Node> = pairs
        .iter()
        .map(|(p, v)| {
            let value = p
                .kind
                .read(v)
                .map(Value::owned)
                .ok_or_else(|| FilterError::Type {
                    property: p.name.clone(),
                    kind: kind_words(p.kind),
                    literal: format!("'{v}'"),
                })?;
            Ok(Node::Compare(
                Cmp::Eq,
                Operand::Property(p.key, p.kind),
                Operand::Literal(value),
            ))
        })
        .collect::<Result<_, FilterError>>()?;
    if nodes.is_empty() {
        return Ok(filter);
    }
    nodes.extend(filter.map(|f| f.root));
    Ok(Some(Filter {
        root: Node::And(nodes),
    }))
}

fn scalar<'v>(o: &Operand, value: &dyn Fn(&'static str) -> Value<'v>) -> Value<'v> {
    match o {
        Operand::Property(k, _) => value(k),
        Operand::Literal(v) => v.clone(),
        Operand::Casei(inner) => match scalar(inner, value) {
            Value::Text(t) => Value::Text(Cow::Owned(t.to_lowercase())),
            other => other,
        },
    }
}

fn eval<'v>(
    n: &Node,
    value: &dyn Fn(&'static str) -> Value<'v>,
    g: Option<&Geometry>,
) -> Option<bool> {
    match n {
        Node::Const(b) => Some(*b),
        // Kleene logic: false wins an AND, true wins an OR, else unknown stays unknown.
        Node::And(v) => {
            let mut out = Some(true);
            for x in v {
                match eval(x, value, g) {
                    Some(false) => return Some(false),
                    None => out = None,
                    Some(true) => {}
                }
            }
            out
        }
        Node::Or(v) => {
            let mut out = Some(false);
            for x in v {
                match eval(x, value, g) {
                    Some(true) => return Some(true),
                    None => out = None,
                    Some(false) => {}
                }
            }
            out
        }
        Node::Not(x) => eval(x, value, g).map(|b| !b),
        Node::Compare(op, a, b) => {
            let o = scalar(a, value).compare(&scalar(b, value))?;
            Some(match op {
                Cmp::Eq => o == Ordering::Equal,
                Cmp::Ne => o != Ordering::Equal,
                Cmp::Lt => o == Ordering::Less,
                Cmp::Le => o != Ordering::Greater,
                Cmp::Gt => o == Ordering::Greater,
                Cmp::Ge => o != Ordering::Less,
            })
        }
        Node::Like(a, p) => match (scalar(a, value), scalar(p, value)) {
            (Value::Text(t), Value::Text(p)) => {
                let t: Vec<char> = t.chars().collect();
                let p: Vec<char> = p.chars().collect();
                Some(like(&t, &p))
            }
            _ => None,
        },
        Node::In(a, list) => {
            let v = scalar(a, value);
            if v == Value::Null {
                return None;
            }
            let mut unknown = false;
            for x in list {
                match v.compare(&scalar(x, value)) {
                    Some(Ordering::Equal) => return Some(true),
                    None => unknown = true,
                    _ => {}
                }
            }
            (!unknown).then_some(false)
        }
        Node::Between(a, lo, hi) => {
            let v = scalar(a, value);
            let above = v.compare(&scalar(lo, value))? != Ordering::Less;
            let below = v.compare(&scalar(hi, value))? != Ordering::Greater;
            Some(above && below)
        }
        Node::IsNull(a) => Some(scalar(a, value) == Value::Null),
        Node::Spatial(op, a, b) => {
            let shape = |s: &Shape| -> Option<(Geometry, Option<geo::Rect>)> {
                match s {
                    Shape::Feature => g.map(|g| (g.clone(), g.bounding_rect())),
                    Shape::Literal(l, r) => Some((l.as_ref().clone(), *r)),
                }
            };
            let ((a, ra), (b, rb)) = (shape(a)?, shape(b)?);
            let boxes_meet = match (ra, rb) {
                (Some(x), Some(y)) => x.intersects(&y),
                _ => false,
            };
            Some(match op {
                Spatial::Intersects => boxes_meet && a.intersects(&b),
                Spatial::Disjoint => !boxes_meet || !a.intersects(&b),
                _ if !boxes_meet => false,
                Spatial::Within => a.relate(&b).is_within(),
                Spatial::Contains => a.relate(&b).is_contains(),
                Spatial::Equals => a.relate(&b).is_equal_topo(),
                Spatial::Touches => a.relate(&b).is_touches(),
                Spatial::Overlaps => a.relate(&b).is_overlaps(),
                Spatial::Crosses => a.relate(&b).is_crosses(),
            })
        }
        Node::Temporal(op, a, b) => {
            let span = |w: &When| -> Option<(NaiveDate, NaiveDate)> {
                match w {
                    When::Property(k) => match value(k) {
                        Value::Date(d) => Some((d, d)),
                        _ => None,
                    },
                    When::Literal(s, e) => {
                        Some((s.unwrap_or(NaiveDate::MIN), e.unwrap_or(NaiveDate::MAX)))
                    }
                }
            };
            let ((s1, e1), (s2, e2)) = (span(a)?, span(b)?);
            Some(match op {
                Temporal::Before => e1 < s2,
                Temporal::After => s1 > e2,
                Temporal::Meets => e1 == s2,
                Temporal::MetBy => s1 == e2,
                Temporal::Overlaps => s1 < s2 && s2 < e1 && e1 < e2,
                Temporal::OverlappedBy => s2 < s1 && s1 < e2 && e2 < e1,
                Temporal::Starts => s1 == s2 && e1 < e2,
                Temporal::StartedBy => s1 == s2 && e1 > e2,
                Temporal::During => s1 > s2 && e1 < e2,
                Temporal::Contains => s1 < s2 && e1 > e2,
                Temporal::Finishes => s1 > s2 && e1 == e2,
                Temporal::FinishedBy => s1 < s2 && e1 == e2,
                Temporal::Equals => s1 == s2 && e1 == e2,
                Temporal::Disjoint => e1 < s2 || s1 > e2,
                Temporal::Intersects => s1 <= e2 && e1 >= s2,
            })
        }
    }
}

/// One key of `sortby`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// The property key.
    pub key: &'static str,
    /// Descending (`-name`).
    pub descending: bool,
}

/// `sortby=+a,-b`: properties by name, ascending unless prefixed with `-`.
pub fn sortby(v: &str, properties: &[Property]) -> Result<Vec<SortKey>, FilterError> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (descending, name) = match s.as_bytes()[0] {
                b'-' => (true, &s[1..]),
                b'+' => (false, &s[1..]),
                _ => (false, s),
            };
            // `name DESC` / `name ASC` as the OGC API Records spelling has it.
            let (name, descending) = match name.rsplit_once(' ') {
                Some((n, d)) if d.eq_ignore_ascii_case("desc") => (n.trim(), true),
                Some((n, a)) if a.eq_ignore_ascii_case("asc") => (n.trim(), descending),
                _ => (name, descending),
            };
            properties
                .iter()
                .find(|p| p.name == name)
                .map(|p| SortKey {
                    key: p.key,
                    descending,
                })
                .ok_or_else(|| {
                    FilterError::Sort(format!(
                        "'{name}' is not a queryable; sort by one of {}",
                        properties
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
        })
        .collect()
}

/// Order two features by sort keys: missing values last, whichever the direction.
pub fn order<'v>(
    keys: &[SortKey],
    a: &dyn Fn(&'static str) -> Value<'v>,
    b: &dyn Fn(&'static str) -> Value<'v>,
) -> Ordering {
    for k in keys {
        let (x, y) = (a(k.key), b(k.key));
        let o = match (&x, &y) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            _ => {
                let o = x.compare(&y).unwrap_or(Ordering::Equal);
                if k.descending {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props() -> Vec<Property> {
        vec![
            Property {
                name: "宗地编号".into(),
                key: "id",
                kind: Kind::String,
            },
            Property {
                name: "id".into(),
                key: "id",
                kind: Kind::String,
            },
            Property {
                name: "area_m2".into(),
                key: "area_m2",
                kind: Kind::Number,
            },
            Property {
                name: "floors".into(),
                key: "floors",
                kind: Kind::Integer,
            },
            Property {
                name: "contract_date".into(),
                key: "contract_date",
                kind: Kind::Date,
            },
            Property {
                name: "pass".into(),
                key: "pass",
                kind: Kind::Boolean,
            },
            Property {
                name: "holder".into(),
                key: "holder",
                kind: Kind::String,
            },
        ]
    }

    /// (id, area, floors, date, pass, holder).
    type Row = (
        &'static str,
        Option<f64>,
        Option<f64>,
        Option<&'static str>,
        bool,
        Option<&'static str>,
    );

    /// Three features, with a unit square at x = 0, 2, 4.
    fn rows() -> Vec<Row> {
        vec![
            (
                "GX-001",
                Some(1500.0),
                Some(3.0),
                Some("2019-03-05"),
                true,
                Some("甲公司"),
            ),
            (
                "GX-002",
                Some(800.5),
                None,
                Some("2021-12-31"),
                false,
                Some("乙公司"),
            ),
            ("HZ-010", None, Some(1.0), None, true, None),
        ]
    }

    fn square(x: f64) -> Geometry {
        Geometry::Rect(geo::Rect::new((x, 0.0), (x + 1.0, 1.0)))
    }

    fn run(text: &str, lang: Lang) -> Result<Vec<&'static str>, FilterError> {
        let f = Filter::parse(text, lang, &props(), &|_| Ok(()))?;
        Ok(rows()
            .into_iter()
            .enumerate()
            .filter(|(i, r)| {
                let r = *r;
                let value = move |k: &'static str| match k {
                    "id" => Value::Text(r.0.into()),
                    "area_m2" => r.1.map_or(Value::Null, Value::Number),
                    "floors" => r.2.map_or(Value::Null, Value::Number),
                    "contract_date" => r.3.map_or(Value::Null, |d| Value::Date(d.parse().unwrap())),
                    "pass" => Value::Bool(r.4),
                    "holder" => r.5.map_or(Value::Null, |h| Value::Text(h.into())),
                    _ => Value::Null,
                };
                f.matches(&value, Some(&square(*i as f64 * 2.0)))
            })
            .map(|(_, r)| r.0)
            .collect())
    }

    fn text(t: &str) -> Vec<&'static str> {
        run(t, Lang::Text).unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    #[test]
    fn comparisons_are_typed() {
        assert_eq!(text("area_m2 > 1000"), ["GX-001"]);
        assert_eq!(text("area_m2 >= 800.5 AND area_m2 <= 800.5"), ["GX-002"]);
        // A number written as text is read as the number it says.
        assert_eq!(text("area_m2 < '1000'"), ["GX-002"]);
        assert_eq!(text("\"宗地编号\" = 'GX-002'"), ["GX-002"]);
        assert_eq!(text("id <> 'GX-002'"), ["GX-001", "HZ-010"]);
        assert_eq!(text("floors = 3"), ["GX-001"]);
        assert_eq!(text("pass = true"), ["GX-001", "HZ-010"]);
        assert_eq!(text("pass"), ["GX-001", "HZ-010"]);
        assert_eq!(text("contract_date > DATE('2020-01-01')"), ["GX-002"]);
        assert_eq!(text("contract_date = '2019-03-05'"), ["GX-001"]);
        // Text compares as text, not as numbers: 'GX-01' sorts after 'GX-001'.
        assert_eq!(text("id < 'GX-01'"), ["GX-001", "GX-002"]);
        for bad in [
            "area_m2 > 'big'",
            "floors = 2.5",
            "contract_date > 'soon'",
            "pass = 'maybe'",
            "contract_date = 3",
            "area_m2 = contract_date",
        ] {
            assert!(run(bad, Lang::Text).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_values_are_unknown_not_false() {
        // HZ-010 has no area: neither > nor its NOT keeps it; IS NULL does.
        assert_eq!(text("area_m2 > 1000"), ["GX-001"]);
        assert_eq!(text("NOT (area_m2 > 1000)"), ["GX-002"]);
        assert_eq!(text("area_m2 IS NULL"), ["HZ-010"]);
        assert_eq!(text("area_m2 IS NOT NULL"), ["GX-001", "GX-002"]);
        assert_eq!(
            text("area_m2 > 1000 OR id = 'HZ-010'"),
            ["GX-001", "HZ-010"]
        );
        assert_eq!(text("holder IS NULL AND floors = 1"), ["HZ-010"]);
    }

    #[test]
    fn like_in_between_and_casei() {
        assert_eq!(text("id LIKE 'GX-%'"), ["GX-001", "GX-002"]);
        assert_eq!(text("id LIKE '__-01_'"), ["HZ-010"]);
        assert_eq!(text("id NOT LIKE 'GX%'"), ["HZ-010"]);
        assert_eq!(text("holder LIKE '%公司'"), ["GX-001", "GX-002"]);
        assert_eq!(text("CASEI(id) LIKE CASEI('gx-00%')"), ["GX-001", "GX-002"]);
        assert_eq!(text("CASEI(id) = CASEI('hz-010')"), ["HZ-010"]);
        assert_eq!(
            text("id IN ('GX-002', 'HZ-010', 'XX')"),
            ["GX-002", "HZ-010"]
        );
        assert_eq!(text("id NOT IN ('GX-002')"), ["GX-001", "HZ-010"]);
        assert_eq!(text("area_m2 BETWEEN 800 AND 1500"), ["GX-001", "GX-002"]);
        assert_eq!(text("area_m2 NOT BETWEEN 800 AND 1000"), ["GX-001"]);
        assert!(like(&['1', '0', '%'], &['1', '0', '\\', '%']));
        assert!(!like(&['1', '0', '0'], &['1', '0', '\\', '%']));
        assert!(run("area_m2 LIKE '1%'", Lang::Text).is_err());
    }

    #[test]
    fn spatial_functions_with_wkt_geojson_and_bbox() {
        // The squares lie at x 0–1, 2–3, 4–5.
        assert_eq!(
            text("S_INTERSECTS(geometry, POLYGON((0.5 0.5, 2.5 0.5, 2.5 2, 0.5 2, 0.5 0.5)))"),
            ["GX-001", "GX-002"]
        );
        assert_eq!(
            text("S_WITHIN(geometry, BBOX(1.5, -1, 5.5, 2))"),
            ["GX-002", "HZ-010"]
        );
        assert_eq!(text("S_CONTAINS(geometry, POINT(4.5 0.5))"), ["HZ-010"]);
        assert_eq!(
            text("S_DISJOINT(geometry, LINESTRING(0.5 -1, 0.5 2))"),
            ["GX-002", "HZ-010"]
        );
        assert_eq!(
            text("S_TOUCHES(geometry, LINESTRING(3 0, 3 1))"),
            ["GX-002"]
        );
        assert_eq!(
            text("S_CROSSES(geometry, LINESTRING(4.5 -1, 4.5 2))"),
            ["HZ-010"]
        );
        assert_eq!(
            text("S_EQUALS(geometry, POLYGON((2 0, 3 0, 3 1, 2 1, 2 0)))"),
            ["GX-002"]
        );
        let json = r#"{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[2.5,0.5]}]}"#;
        assert_eq!(run(json, Lang::Json).unwrap(), ["GX-002"]);
        assert!(run("S_INTERSECTS(area_m2, POINT(0 0))", Lang::Text).is_err());
        // Outside the lon/lat range without a filter-crs.
        assert!(run("S_INTERSECTS(geometry, POINT(500000 3000000))", Lang::Text).is_err());
    }

    #[test]
    fn filter_crs_moves_literals_to_lonlat() {
        // A CRS whose x is lon × 10: the transform divides it back.
        let shrink = |g: &mut Geometry| {
            use geo::MapCoordsInPlace;
            g.map_coords_in_place(|c| geo::Coord {
                x: c.x / 10.0,
                y: c.y,
            });
            Ok(())
        };
        let f = Filter::parse(
            "S_INTERSECTS(geometry, POINT(25 0.5))",
            Lang::Text,
            &props(),
            &shrink,
        )
        .unwrap();
        assert!(f.matches(&|_| Value::Null, Some(&square(2.0))));
        assert!(!f.matches(&|_| Value::Null, Some(&square(0.0))));
    }

    #[test]
    fn temporal_functions_on_dates() {
        assert_eq!(
            text("T_BEFORE(contract_date, DATE('2020-01-01'))"),
            ["GX-001"]
        );
        assert_eq!(
            text("T_AFTER(contract_date, TIMESTAMP('2019-03-05T12:00:00Z'))"),
            ["GX-002"]
        );
        assert_eq!(
            text("T_DURING(contract_date, INTERVAL('2019-01-01', '2022-01-01'))"),
            ["GX-001", "GX-002"]
        );
        assert_eq!(
            text("T_INTERSECTS(contract_date, INTERVAL('2021-12-31', '..'))"),
            ["GX-002"]
        );
        assert_eq!(
            text("T_EQUALS(contract_date, DATE('2019-03-05'))"),
            ["GX-001"]
        );
        assert_eq!(
            text("T_STARTS(contract_date, INTERVAL('2019-03-05', '2019-04-01'))"),
            ["GX-001"]
        );
        assert_eq!(
            text("T_FINISHES(contract_date, INTERVAL('2021-01-01', '2021-12-31'))"),
            ["GX-002"]
        );
        assert_eq!(
            text("T_DISJOINT(contract_date, INTERVAL('2019-01-01', '2019-12-31'))"),
            ["GX-002"]
        );
        assert!(run("T_BEFORE(area_m2, DATE('2020-01-01'))", Lang::Text).is_err());
    }

    #[test]
    fn bad_expressions_say_where_and_what() {
        let e = run("id = = 'x'", Lang::Text).unwrap_err().to_string();
        assert!(e.contains("cql2-text") && e.contains("1:"), "{e}");
        let e = run("ooga = booga", Lang::Text).unwrap_err().to_string();
        assert!(
            e.contains("'ooga' is not a queryable") && e.contains("宗地编号"),
            "{e}"
        );
        let e = run("{\"op\":", Lang::Json).unwrap_err().to_string();
        assert!(e.contains("cql2-json"), "{e}");
        assert!(run("ACCENTI(id) = 'x'", Lang::Text).is_err());
        assert!(run("area_m2 + 1 > 2", Lang::Text).is_err());
        assert!(Lang::parse(Some("ecql")).is_err());
        assert_eq!(Lang::parse(None).unwrap(), Lang::Text);
    }

    #[test]
    fn query_parameters_are_typed_equalities() {
        let p = props();
        let area = p.iter().find(|q| q.key == "area_m2").unwrap().clone();
        let holder = p.iter().find(|q| q.key == "holder").unwrap().clone();
        let f = with_equalities(None, &[(area.clone(), "800.50".into())])
            .unwrap()
            .unwrap();
        assert!(f.matches(&|_| Value::Number(800.5), None));
        assert!(with_equalities(None, &[(area, "[invalid-value]".into())]).is_err());
        // Free text takes any value: there is no invalid one.
        assert!(with_equalities(None, &[(holder, "[invalid-value]".into())]).is_ok());
        assert!(with_equalities(None, &[]).unwrap().is_none());
    }

    #[test]
    fn sortby_orders_with_missing_last() {
        let p = props();
        let keys = sortby("-area_m2,id", &p).unwrap();
        assert_eq!(
            keys,
            [
                SortKey {
                    key: "area_m2",
                    descending: true
                },
                SortKey {
                    key: "id",
                    descending: false
                }
            ]
        );
        let rows = rows();
        let value = |i: usize| {
            let r = rows[i];
            move |k: &'static str| match k {
                "area_m2" => r.1.map_or(Value::Null, Value::Number),
                "id" => Value::Text(r.0.into()),
                _ => Value::Null,
            }
        };
        let mut idx = vec![2, 1, 0];
        idx.sort_by(|&a, &b| order(&keys, &value(a), &value(b)));
        assert_eq!(idx, [0, 1, 2]);
        assert!(sortby("nope", &p).is_err());
    }
}
