//! `trends` — 动态减少: the stock of idle land and of 批而未供 per park and period, the face of
//! [`crate::analysis::trends`].

use super::{Analysis, CheckError, Info, MapFeature, Param, Query, Report};
use crate::analysis::trends::{trends, Exit, Period, Tally, TrendsReport};
use crate::analysis::Context;
use crate::catalog::Catalog;
use crate::model::value::{m2_to_hectares, m2_to_mu};
use crate::report::table::{Cell, Table};
use crate::rules::Rules;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::sync::Arc;

/// 动态减少.
#[derive(Debug)]
pub struct Trends;

const INFO: Info = Info {
    id: "trends",
    aliases: &[],
    title_zh: "闲置土地与批而未供动态",
    description: "动态减少: idle land and 批而未供 per park and period from `from` to `to` — at the start, new, disposed (by method), at the end, in count and m², start + new − disposed = end; 土地闲置率, 批而未供率 and fees collected",
    rule_packs: &["idle.toml"],
    params: &[Param::From, Param::To, Param::Period, Param::Park],
    collection: None,
};

fn day(q: &Query, p: Param) -> Result<NaiveDate, CheckError> {
    let v = q.option(p).ok_or_else(|| CheckError::BadParam {
        param: p.name(),
        why:
            "is needed: the trend's first and last day, YYYY-MM-DD (from=2025-01-01&to=2025-12-31)"
                .into(),
    })?;
    v.parse().map_err(|_| CheckError::BadParam {
        param: p.name(),
        why: format!("'{v}' is not a date: write YYYY-MM-DD"),
    })
}

impl Analysis for Trends {
    fn info(&self) -> &'static Info {
        &INFO
    }
    fn reads_events(&self) -> bool {
        true
    }

    fn run(
        &self,
        ctx: &Context<'_>,
        rules: &Rules,
        q: &Query,
    ) -> Result<Arc<dyn Report>, CheckError> {
        let (from, to) = (day(q, Param::From)?, day(q, Param::To)?);
        if from > to {
            return Err(CheckError::BadParam {
                param: "to",
                why: format!("{to} is before from={from}"),
            });
        }
        let period: Period = q
            .option(Param::Period)
            .map_or(Ok(Period::Quarter), str::parse)
            .map_err(|why| CheckError::BadParam {
                param: "period",
                why,
            })?;
        let n = crate::analysis::trends::periods(from, to, period).len();
        if n > 400 {
            return Err(CheckError::BadParam {
                param: "period",
                why: format!("{n} periods from {from} to {to}: at most 400; choose a longer period or a shorter span"),
            });
        }
        Ok(Arc::new(trends(
            ctx,
            &rules.idle,
            from,
            to,
            period,
            q.park.as_deref(),
        )))
    }
}

fn area_cells(m2: f64) -> [Cell; 2] {
    [
        Cell::num(Some(m2_to_mu(m2)), 2),
        Cell::num(Some(m2_to_hectares(m2)), 4),
    ]
}

fn method_rows(
    t: &mut Table,
    start: NaiveDate,
    park: &Cell,
    kind: &str,
    by: &BTreeMap<&'static str, Tally>,
) {
    for (method, tally) in by {
        let label = Exit::from_key(method).map_or(*method, Exit::label_zh);
        let mut row = vec![
            Cell::Date(start),
            park.clone(),
            kind.into(),
            label.into(),
            Cell::Int(tally.count as i64),
            Cell::num(Some(tally.area_m2), 2),
        ];
        row.extend(area_cells(tally.area_m2));
        t.push(row);
    }
}

impl Report for TrendsReport {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "动态",
            &[
                "期间起",
                "期间止",
                "园区",
                "闲置期初宗数",
                "闲置新增宗数",
                "闲置处置宗数",
                "闲置期末宗数",
                "闲置期初面积(m²)",
                "闲置新增面积(m²)",
                "闲置处置面积(m²)",
                "闲置期末面积(m²)",
                "闲置期末面积(亩)",
                "批而未供期初宗数",
                "批而未供新增宗数",
                "批而未供处置宗数",
                "批而未供期末宗数",
                "批而未供期初面积(m²)",
                "批而未供新增面积(m²)",
                "批而未供处置面积(m²)",
                "批而未供期末面积(m²)",
                "批而未供期末面积(亩)",
                "土地闲置率(%)",
                "批而未供率(%)",
                "征缴土地闲置费(万元)",
            ],
        );
        let mut m = Table::new(
            "处置方式",
            &[
                "期间起",
                "园区",
                "类别",
                "处置方式",
                "宗数",
                "面积(m²)",
                "面积(亩)",
                "面积(公顷)",
            ],
        );
        for p in &self.periods {
            let park = p
                .park_id
                .clone()
                .map_or_else(|| Cell::from("全部"), Cell::Text);
            let mut row = vec![Cell::Date(p.start), Cell::Date(p.end), park.clone()];
            for f in [&p.idle, &p.approved_not_supplied] {
                for c in [f.start_count, f.new_count, f.disposed_count, f.end_count] {
                    row.push(Cell::Int(c as i64));
                }
                for a in [
                    f.start_area_m2,
                    f.new_area_m2,
                    f.disposed_area_m2,
                    f.end_area_m2,
                ] {
                    row.push(Cell::num(Some(a), 2));
                }
                row.push(Cell::num(Some(m2_to_mu(f.end_area_m2)), 2));
            }
            row.push(Cell::percent(p.land_idle_rate));
            row.push(Cell::percent(p.approved_not_supplied_rate));
            row.push(Cell::num(Some(p.fees_collected_wan), 2));
            t.push(row);
            method_rows(&mut m, p.start, &park, "闲置土地", &p.idle_disposed_by);
            method_rows(
                &mut m,
                p.start,
                &park,
                "批而未供",
                &p.approved_not_supplied_disposed_by,
            );
        }
        let mut b = Table::new("口径", &["说明"]);
        for line in &self.basis {
            b.push(vec![(*line).into()]);
        }
        vec![t, m, b]
    }

    fn map_features(&self, _catalog: &Catalog) -> Vec<MapFeature> {
        vec![]
    }
}
