//! Canonical attributes (标准字段) of each layer role, DOMAIN.md §8.
//!
//! Source files name these attributes in many ways (宗地编号, 地块编号, ZDBH …); the
//! presets in `data/mappings/` map those names to the canonical keys below, and the
//! value kind says how a text value is parsed (dates, money in 万元, areas in m², ratios).

use super::role::Role;

/// How a canonical attribute's value is parsed and what unit it is kept in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text, trimmed.
    Text,
    /// A calendar date (2019-03-05, 2019/3/5, 20190305, 2019年3月5日, Excel serial).
    Date,
    /// Money in 万元 (元 and 亿元 are converted).
    Money,
    /// An area in m² (亩 and 公顷 are converted).
    Area,
    /// A fraction 0–1 ("35%" and 35 both mean 0.35).
    Ratio,
    /// A plain number (容积率, 能耗, 用电量, 高度, 层数).
    Number,
}

impl ValueKind {
    /// The unit the parsed value is kept in, for reports.
    pub fn unit(self) -> &'static str {
        match self {
            ValueKind::Money => "万元",
            ValueKind::Area => "m²",
            ValueKind::Ratio => "比例",
            _ => "",
        }
    }
}

/// One canonical attribute: its key, Chinese label, value kind and role.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    /// Canonical key (`agreed_start`).
    pub key: &'static str,
    /// Chinese label (约定动工日期).
    pub label: &'static str,
    /// How values are parsed.
    pub kind: ValueKind,
    /// The role whose layers carry it.
    pub role: Role,
}

macro_rules! fields {
    ($($role:ident { $($key:literal $label:literal $kind:ident),* $(,)? })*) => {
        /// Every canonical attribute of every role.
        pub static FIELDS: &[FieldSpec] = &[
            $($(FieldSpec { key: $key, label: $label, kind: ValueKind::$kind, role: Role::$role },)*)*
        ];
    };
}

fields! {
    Parcels {
        "id" "宗地编号" Text,
        "holder" "权利人" Text,
        "land_use_code" "用地性质" Text,
        "land_use_name" "用地名称" Text,
        "supply_type" "供地方式" Text,
        "supply_status" "供地状态" Text,
        "approval_no" "批准文号" Text,
        "approval_date" "批准日期" Date,
        "contract_date" "合同签订日期" Date,
        "agreed_start" "约定动工日期" Date,
        "agreed_completion" "约定竣工日期" Date,
        "actual_start" "实际动工日期" Date,
        "actual_completion" "实际竣工日期" Date,
        "suspended_since" "停工日期" Date,
        "recorded_area" "宗地面积" Area,
        "planned_dev_area" "应开发面积" Area,
        "developed_area" "已开发面积" Area,
        "land_price" "出让价款" Money,
        "total_investment" "总投资" Money,
        "invested" "已投资" Money,
        "floor_area" "建筑面积" Area,
        "footprint_area" "建筑基底面积" Area,
        "far" "容积率" Number,
        "coverage" "建筑系数" Ratio,
        "green_ratio" "绿地率" Ratio,
        "office_land_share" "行政办公及生活服务设施用地比例" Ratio,
        "service_floor_share" "配套设施建筑面积比例" Ratio,
        "tax" "税收" Money,
        "revenue" "营业收入" Money,
        "value_added" "工业增加值" Money,
        "output" "工业总产值" Money,
        "energy" "综合能耗" Number,
        "electricity" "用电量" Number,
        "emissions" "排放当量" Number,
        "employees" "从业人数" Number,
        "rd_expense" "研发经费" Money,
        "industry_code" "行业代码" Text,
        "industry_policy" "产业政策类别" Text,
        "firm_size" "企业规模" Text,
        "production_status" "生产状态" Text,
        "production_stopped_since" "停产日期" Date,
        "gov_cause" "政府原因" Text,
        "disposal_status" "处置状态" Text,
        "park_id" "所属园区" Text,
    }
    Parks {
        "id" "园区编号" Text,
        "name" "园区名称" Text,
        "park_type" "园区类型" Text,
        "level" "园区级别" Text,
        "approved_area" "批准面积" Area,
        "approval_date" "批准日期" Date,
        "tax" "税收总额" Money,
        "industrial_tax" "工业税收" Money,
    }
    Buildings {
        "id" "建筑编号" Text,
        "parcel_id" "宗地编号" Text,
        "floor_area" "建筑面积" Area,
        "floors" "层数" Number,
        "height" "建筑高度" Number,
        "use" "建筑用途" Text,
    }
    Plan {
        "id" "图斑编号" Text,
        "land_use_code" "用地代码" Text,
        "land_use_name" "用地名称" Text,
    }
    Redline {
        "id" "编号" Text,
        "kind" "控制线类型" Text,
        "name" "名称" Text,
    }
}

/// The canonical attributes of one role, in declaration order.
pub fn fields_of(role: Role) -> impl Iterator<Item = &'static FieldSpec> {
    FIELDS.iter().filter(move |f| f.role == role)
}

/// The canonical attribute `key` of `role`, if there is one.
pub fn field(role: Role, key: &str) -> Option<&'static FieldSpec> {
    fields_of(role).find(|f| f.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_within_a_role() {
        for role in Role::ALL {
            let keys: Vec<_> = fields_of(role).map(|f| f.key).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(keys.len(), sorted.len(), "{role}");
        }
        assert_eq!(
            field(Role::Parcels, "agreed_start").unwrap().label,
            "约定动工日期"
        );
        assert!(field(Role::Other, "id").is_none());
    }
}
