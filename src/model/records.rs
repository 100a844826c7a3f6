//! Canonical records: what analysis reads of each feature, parsed once when the catalog loads.
//!
//! Every value keeps its canonical unit: money in 万元, areas in m², ratios as fractions.

use super::value::Parsed;
use super::{PlanKind, RedlineKind};
use chrono::NaiveDate;

fn text(v: Parsed) -> Option<Box<str>> {
    match v {
        Parsed::Text(s) => Some(s.into_boxed_str()),
        Parsed::Number(n) => Some(n.to_string().into_boxed_str()),
        Parsed::Date(d) => Some(d.to_string().into_boxed_str()),
    }
}

fn number(v: Parsed) -> Option<f64> {
    match v {
        Parsed::Number(n) => Some(n),
        _ => None,
    }
}

fn date(v: Parsed) -> Option<NaiveDate> {
    match v {
        Parsed::Date(d) => Some(d),
        _ => None,
    }
}

/// 宗地 — a parcel's canonical attributes (DOMAIN.md §8).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parcel {
    /// 宗地编号 (or the feature id when the source has none).
    pub id: Box<str>,
    /// 权利人.
    pub holder: Option<Box<str>>,
    /// 用地性质 code, as written.
    pub land_use_code: Option<Box<str>>,
    /// 用地名称.
    pub land_use_name: Option<Box<str>>,
    /// 供地方式 (出让/划拨/租赁).
    pub supply_type: Option<Box<str>>,
    /// 供地状态 (已供/未供).
    pub supply_status: Option<Box<str>>,
    /// 批准文号.
    pub approval_no: Option<Box<str>>,
    /// 批准日期.
    pub approval_date: Option<NaiveDate>,
    /// 合同签订日期.
    pub contract_date: Option<NaiveDate>,
    /// 约定动工日期.
    pub agreed_start: Option<NaiveDate>,
    /// 约定竣工日期.
    pub agreed_completion: Option<NaiveDate>,
    /// 实际动工日期 (none: not started).
    pub actual_start: Option<NaiveDate>,
    /// 实际竣工日期.
    pub actual_completion: Option<NaiveDate>,
    /// 停工日期 (case B).
    pub suspended_since: Option<NaiveDate>,
    /// 宗地面积 as recorded, m².
    pub recorded_area: Option<f64>,
    /// 应开发面积, m².
    pub planned_dev_area: Option<f64>,
    /// 已开发面积, m².
    pub developed_area: Option<f64>,
    /// 出让价款, 万元.
    pub land_price: Option<f64>,
    /// 总投资, 万元 (land price excluded).
    pub total_investment: Option<f64>,
    /// 已投资, 万元 (land price excluded).
    pub invested: Option<f64>,
    /// 建筑面积, m².
    pub floor_area: Option<f64>,
    /// 建筑基底面积, m².
    pub footprint_area: Option<f64>,
    /// 容积率.
    pub far: Option<f64>,
    /// 建筑系数 (fraction).
    pub coverage: Option<f64>,
    /// 绿地率 (fraction).
    pub green_ratio: Option<f64>,
    /// 行政办公及生活服务设施用地比例 (fraction).
    pub office_land_share: Option<f64>,
    /// 配套设施建筑面积比例 (fraction).
    pub service_floor_share: Option<f64>,
    /// 税收, 万元/年.
    pub tax: Option<f64>,
    /// 营业收入, 万元/年.
    pub revenue: Option<f64>,
    /// 工业增加值, 万元/年.
    pub value_added: Option<f64>,
    /// 工业总产值, 万元/年.
    pub output: Option<f64>,
    /// 综合能耗, 吨标煤/年.
    pub energy: Option<f64>,
    /// 用电量, 万千瓦时/年.
    pub electricity: Option<f64>,
    /// 排放当量/年.
    pub emissions: Option<f64>,
    /// 从业人数.
    pub employees: Option<f64>,
    /// 研发经费, 万元/年.
    pub rd_expense: Option<f64>,
    /// 行业代码 (GB/T 4754).
    pub industry_code: Option<Box<str>>,
    /// 产业政策类别 (鼓励/允许/限制/淘汰).
    pub industry_policy: Option<Box<str>>,
    /// 企业规模 (规上/规下).
    pub firm_size: Option<Box<str>>,
    /// 生产状态 (正常/停产/半停产).
    pub production_status: Option<Box<str>>,
    /// 停产日期.
    pub production_stopped_since: Option<NaiveDate>,
    /// 政府原因 (Art. 8 case, 不可抗力).
    pub gov_cause: Option<Box<str>>,
    /// 处置状态.
    pub disposal_status: Option<Box<str>>,
    /// 所属园区.
    pub park_id: Option<Box<str>>,
}

impl Parcel {
    /// Set one canonical attribute; keys not of parcels are ignored.
    pub fn set(&mut self, key: &str, v: Parsed) {
        match key {
            "id" => {
                if let Some(t) = text(v) {
                    self.id = t;
                }
            }
            "holder" => self.holder = text(v),
            "land_use_code" => self.land_use_code = text(v),
            "land_use_name" => self.land_use_name = text(v),
            "supply_type" => self.supply_type = text(v),
            "supply_status" => self.supply_status = text(v),
            "approval_no" => self.approval_no = text(v),
            "approval_date" => self.approval_date = date(v),
            "contract_date" => self.contract_date = date(v),
            "agreed_start" => self.agreed_start = date(v),
            "agreed_completion" => self.agreed_completion = date(v),
            "actual_start" => self.actual_start = date(v),
            "actual_completion" => self.actual_completion = date(v),
            "suspended_since" => self.suspended_since = date(v),
            "recorded_area" => self.recorded_area = number(v),
            "planned_dev_area" => self.planned_dev_area = number(v),
            "developed_area" => self.developed_area = number(v),
            "land_price" => self.land_price = number(v),
            "total_investment" => self.total_investment = number(v),
            "invested" => self.invested = number(v),
            "floor_area" => self.floor_area = number(v),
            "footprint_area" => self.footprint_area = number(v),
            "far" => self.far = number(v),
            "coverage" => self.coverage = number(v),
            "green_ratio" => self.green_ratio = number(v),
            "office_land_share" => self.office_land_share = number(v),
            "service_floor_share" => self.service_floor_share = number(v),
            "tax" => self.tax = number(v),
            "revenue" => self.revenue = number(v),
            "value_added" => self.value_added = number(v),
            "output" => self.output = number(v),
            "energy" => self.energy = number(v),
            "electricity" => self.electricity = number(v),
            "emissions" => self.emissions = number(v),
            "employees" => self.employees = number(v),
            "rd_expense" => self.rd_expense = number(v),
            "industry_code" => self.industry_code = text(v),
            "industry_policy" => self.industry_policy = text(v),
            "firm_size" => self.firm_size = text(v),
            "production_status" => self.production_status = text(v),
            "production_stopped_since" => self.production_stopped_since = date(v),
            "gov_cause" => self.gov_cause = text(v),
            "disposal_status" => self.disposal_status = text(v),
            "park_id" => self.park_id = text(v),
            _ => {}
        }
    }
}

/// 园区 — a park's canonical attributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Park {
    /// 园区编号 (or the feature id).
    pub id: Box<str>,
    /// 园区名称.
    pub name: Option<Box<str>>,
    /// 园区类型 as recorded (工业主导型/产城融合型 …).
    pub park_type: Option<Box<str>>,
    /// 园区级别.
    pub level: Option<Box<str>>,
    /// 批准面积, m².
    pub approved_area: Option<f64>,
    /// 批准日期.
    pub approval_date: Option<NaiveDate>,
    /// 税收总额 (secondary and tertiary industry), 万元/年.
    pub tax: Option<f64>,
    /// 工业税收, 万元/年.
    pub industrial_tax: Option<f64>,
}

impl Park {
    /// Set one canonical attribute.
    pub fn set(&mut self, key: &str, v: Parsed) {
        match key {
            "id" => {
                if let Some(t) = text(v) {
                    self.id = t;
                }
            }
            "name" => self.name = text(v),
            "park_type" => self.park_type = text(v),
            "level" => self.level = text(v),
            "approved_area" => self.approved_area = number(v),
            "approval_date" => self.approval_date = date(v),
            "tax" => self.tax = number(v),
            "industrial_tax" => self.industrial_tax = number(v),
            _ => {}
        }
    }
}

/// 建筑物 — a building's canonical attributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Building {
    /// 建筑编号 (or the feature id).
    pub id: Box<str>,
    /// 宗地编号 of the parcel it stands on.
    pub parcel_id: Option<Box<str>>,
    /// 建筑面积, m².
    pub floor_area: Option<f64>,
    /// 层数.
    pub floors: Option<f64>,
    /// 建筑高度, m.
    pub height: Option<f64>,
    /// 建筑用途.
    pub use_: Option<Box<str>>,
}

impl Building {
    /// Set one canonical attribute.
    pub fn set(&mut self, key: &str, v: Parsed) {
        match key {
            "id" => {
                if let Some(t) = text(v) {
                    self.id = t;
                }
            }
            "parcel_id" => self.parcel_id = text(v),
            "floor_area" => self.floor_area = number(v),
            "floors" => self.floors = number(v),
            "height" => self.height = number(v),
            "use" => self.use_ = text(v),
            _ => {}
        }
    }
}

/// 规划图斑 — a zone of a plan layer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanZone {
    /// 图斑编号 (or the feature id).
    pub id: Box<str>,
    /// 用地代码 as written.
    pub land_use_code: Option<Box<str>>,
    /// 用地名称.
    pub land_use_name: Option<Box<str>>,
}

impl PlanZone {
    /// Set one canonical attribute.
    pub fn set(&mut self, key: &str, v: Parsed) {
        match key {
            "id" => {
                if let Some(t) = text(v) {
                    self.id = t;
                }
            }
            "land_use_code" => self.land_use_code = text(v),
            "land_use_name" => self.land_use_name = text(v),
            _ => {}
        }
    }
}

/// 控制线图斑 — a red-line polygon.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RedlineZone {
    /// 编号 (or the feature id).
    pub id: Box<str>,
    /// 控制线类型 as written.
    pub kind: Option<Box<str>>,
    /// 名称.
    pub name: Option<Box<str>>,
}

impl RedlineZone {
    /// Set one canonical attribute.
    pub fn set(&mut self, key: &str, v: Parsed) {
        match key {
            "id" => {
                if let Some(t) = text(v) {
                    self.id = t;
                }
            }
            "kind" => self.kind = text(v),
            "name" => self.name = text(v),
            _ => {}
        }
    }

    /// The red-line kind: the feature's own 控制线类型, else the layer's.
    pub fn kind_or(&self, layer: Option<RedlineKind>) -> Option<RedlineKind> {
        self.kind
            .as_deref()
            .and_then(RedlineKind::guess_from_name)
            .or(layer)
    }
}

/// The canonical records of one layer, aligned with its features.
#[derive(Clone, Debug)]
pub enum Records {
    /// 园区.
    Parks(Vec<Park>),
    /// 宗地.
    Parcels(Vec<Parcel>),
    /// 建筑物.
    Buildings(Vec<Building>),
    /// 规划, with the plan's kind when known.
    Plan(Option<PlanKind>, Vec<PlanZone>),
    /// 控制线, with the layer's kind when known.
    Redline(Option<RedlineKind>, Vec<RedlineZone>),
    /// Not analysed.
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_canonical_parcel_key_lands_in_a_field() {
        use crate::model::fields::fields_of;
        use crate::model::Role;
        for f in fields_of(Role::Parcels) {
            let mut p = Parcel::default();
            let v = match f.kind {
                crate::model::ValueKind::Text => Parsed::Text("x".into()),
                crate::model::ValueKind::Date => {
                    Parsed::Date(NaiveDate::from_ymd_opt(2020, 1, 1).unwrap())
                }
                _ => Parsed::Number(1.0),
            };
            p.set(f.key, v);
            assert_ne!(p, Parcel::default(), "{} is not stored", f.key);
        }
    }
}
