//! Land classification systems (用地分类体系) and the crosswalk to functional categories,
//! DOMAIN.md §5.
//!
//! The same four digits mean different things in different systems (1001 is 工业用地 in
//! YDYH-2023 and 铁路用地 in GB/T 21010), so every code is read with its system. A layer's
//! system is declared or detected from evidence ([`detect_system`]); an ambiguous layer is
//! reported, never guessed silently.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// 用地分类体系 — a land classification system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClassSystem {
    /// 《国土空间调查、规划、用途管制用地用海分类指南》(2023).
    #[serde(rename = "YDYH-2023")]
    Ydyh2023,
    /// GB 50137-2011 《城市用地分类与规划建设用地标准》.
    #[serde(rename = "GB50137-2011")]
    Gb50137,
    /// GB/T 21010-2017 《土地利用现状分类》.
    #[serde(rename = "GBT21010-2017")]
    Gbt21010,
    /// 第三次全国国土调查工作分类 (三调).
    #[serde(rename = "SANDIAO")]
    Sandiao,
    /// 《国土空间调查、规划、用途管制用地用海分类指南（试行）》(2020), the trial edition: several
    /// codes were renumbered in 2023 ([`ydyh2020_to_2023`]). Its codes look like the 2023
    /// edition's, so it is never detected, only declared.
    #[serde(rename = "YDYH-2020")]
    Ydyh2020,
}

impl ClassSystem {
    /// Every system.
    pub const ALL: [ClassSystem; 5] = [
        ClassSystem::Ydyh2023,
        ClassSystem::Gb50137,
        ClassSystem::Gbt21010,
        ClassSystem::Sandiao,
        ClassSystem::Ydyh2020,
    ];

    /// The systems detection chooses among, in the order it prefers them when they agree.
    /// YDYH-2020 is left out: a code alone cannot tell the two YDYH editions apart.
    pub const DETECTED: [ClassSystem; 4] = [
        ClassSystem::Ydyh2023,
        ClassSystem::Gb50137,
        ClassSystem::Gbt21010,
        ClassSystem::Sandiao,
    ];

    /// The identifier stored with every code.
    pub fn as_str(self) -> &'static str {
        match self {
            ClassSystem::Ydyh2023 => "YDYH-2023",
            ClassSystem::Gb50137 => "GB50137-2011",
            ClassSystem::Gbt21010 => "GBT21010-2017",
            ClassSystem::Sandiao => "SANDIAO",
            ClassSystem::Ydyh2020 => "YDYH-2020",
        }
    }

    /// The Chinese name.
    pub fn label_zh(self) -> &'static str {
        match self {
            ClassSystem::Ydyh2023 => "用地用海分类指南(2023)",
            ClassSystem::Gb50137 => "城市用地分类(GB 50137-2011)",
            ClassSystem::Gbt21010 => "土地利用现状分类(GB/T 21010-2017)",
            ClassSystem::Sandiao => "三调工作分类",
            ClassSystem::Ydyh2020 => "用地用海分类指南(2020试行)",
        }
    }

    /// The table codes are looked up in; YDYH-2020 codes are converted to 2023 first.
    fn table(self) -> &'static [Entry] {
        match self {
            ClassSystem::Ydyh2023 | ClassSystem::Ydyh2020 => YDYH,
            ClassSystem::Gb50137 => GB50137,
            ClassSystem::Gbt21010 => GBT21010,
            ClassSystem::Sandiao => SANDIAO,
        }
    }
}

impl fmt::Display for ClassSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClassSystem {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_uppercase();
        match n.as_str() {
            "YDYH2023" | "YDYH" => Ok(ClassSystem::Ydyh2023),
            "YDYH2020" => Ok(ClassSystem::Ydyh2020),
            "GB501372011" | "GB50137" => Ok(ClassSystem::Gb50137),
            "GBT210102017" | "GBT21010" => Ok(ClassSystem::Gbt21010),
            "SANDIAO" | "3D" => Ok(ClassSystem::Sandiao),
            _ if s.contains("三调") => Ok(ClassSystem::Sandiao),
            _ => Err(format!(
                "unknown land classification system '{s}': use YDYH-2023, YDYH-2020, GB50137-2011, GBT21010-2017 or SANDIAO"
            )),
        }
    }
}

/// 用地功能类别 — the functional category a park's land shares are summed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 工业用地.
    Industrial,
    /// 物流仓储用地.
    Logistics,
    /// 居住用地.
    Residential,
    /// 公共管理与公共服务用地.
    PublicService,
    /// 商业服务业用地.
    Commercial,
    /// 交通运输用地.
    Transport,
    /// 公用设施用地.
    Utilities,
    /// 绿地与开敞空间用地.
    Green,
    /// 生态与自然用地 (耕地, 林地, 草地, 湿地, 水域 …).
    Ecological,
    /// 农业设施建设用地.
    AgriculturalFacility,
    /// 特殊用地.
    Special,
    /// 留白用地.
    Reserve,
    /// 未分类 — no code, an unknown code, or an undetermined system.
    Unclassified,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 13] = [
        Category::Industrial,
        Category::Logistics,
        Category::Residential,
        Category::PublicService,
        Category::Commercial,
        Category::Transport,
        Category::Utilities,
        Category::Green,
        Category::Ecological,
        Category::AgriculturalFacility,
        Category::Special,
        Category::Reserve,
        Category::Unclassified,
    ];

    /// The identifier used in JSON (`public_service`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Industrial => "industrial",
            Category::Logistics => "logistics",
            Category::Residential => "residential",
            Category::PublicService => "public_service",
            Category::Commercial => "commercial",
            Category::Transport => "transport",
            Category::Utilities => "utilities",
            Category::Green => "green",
            Category::Ecological => "ecological",
            Category::AgriculturalFacility => "agricultural_facility",
            Category::Special => "special",
            Category::Reserve => "reserve",
            Category::Unclassified => "unclassified",
        }
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Category::Industrial => "工业用地",
            Category::Logistics => "物流仓储用地",
            Category::Residential => "居住用地",
            Category::PublicService => "公共管理与公共服务用地",
            Category::Commercial => "商业服务业用地",
            Category::Transport => "交通运输用地",
            Category::Utilities => "公用设施用地",
            Category::Green => "绿地与开敞空间用地",
            Category::Ecological => "生态用地",
            Category::AgriculturalFacility => "农业设施建设用地",
            Category::Special => "特殊用地",
            Category::Reserve => "留白用地",
            Category::Unclassified => "未分类",
        }
    }

    /// Whether this is construction land (建设用地) for plan-conflict purposes.
    pub fn is_construction(self) -> bool {
        !matches!(
            self,
            Category::Ecological | Category::Reserve | Category::Unclassified
        )
    }
}

impl FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown land category '{s}'"))
    }
}

/// How sure a crosswalk entry is: same-named pairs are exact, the rest are our judgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The code's own name is the category (工业用地 → industrial).
    Exact,
    /// A judgement (采矿用地 → industrial, 村庄建设用地 → residential).
    Approximate,
}

/// What a code means: its name, functional category and, for industry, pollution class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LandClass {
    /// The code's name in its system (二类工业用地).
    pub name: &'static str,
    /// Its functional category.
    pub category: Category,
    /// Exact or approximate.
    pub confidence: Confidence,
    /// 工业用地 一/二/三类 (1–3): 二类 and 三类 need the 产业过渡区 buffer.
    pub pollution_class: Option<u8>,
}

struct Entry {
    code: &'static str,
    name: &'static str,
    category: Category,
    exact: bool,
    pollution: Option<u8>,
}

macro_rules! table {
    ($name:ident: $($code:literal $label:literal $cat:ident $conf:ident $($pol:literal)?;)*) => {
        static $name: &[Entry] = &[
            $(Entry {
                code: $code,
                name: $label,
                category: Category::$cat,
                exact: table!(@conf $conf),
                pollution: table!(@pol $($pol)?),
            },)*
        ];
    };
    (@conf E) => { true };
    (@conf A) => { false };
    (@pol) => { None };
    (@pol $p:literal) => { Some($p) };
}

// YDYH-2023: 《国土空间调查、规划、用途管制用地用海分类指南》, levels 1–3 where parks use them.
// 0603 and 0604 are the 2020 trial's codes (2023: 060202, 060203), kept so that layers still
// written with them classify.
table! { YDYH:
    "01" "耕地" Ecological E; "0101" "水田" Ecological E; "0102" "水浇地" Ecological E; "0103" "旱地" Ecological E;
    "02" "园地" Ecological E; "0201" "果园" Ecological E; "0202" "茶园" Ecological E; "0203" "橡胶园" Ecological E; "0204" "油料园地" Ecological E;
    "0205" "其他园地" Ecological E;
    "03" "林地" Ecological E; "0301" "乔木林地" Ecological E; "0302" "竹林地" Ecological E; "0303" "灌木林地" Ecological E; "0304" "其他林地" Ecological E;
    "04" "草地" Ecological E; "0401" "天然牧草地" Ecological E; "0402" "人工牧草地" Ecological E; "0403" "其他草地" Ecological E;
    "05" "湿地" Ecological E; "0501" "森林沼泽" Ecological E; "0502" "灌丛沼泽" Ecological E; "0503" "沼泽草地" Ecological E;
    "0504" "其他沼泽地" Ecological E; "0505" "沿海滩涂" Ecological E; "0506" "内陆滩涂" Ecological E; "0507" "红树林地" Ecological E;
    "06" "农业设施建设用地" AgriculturalFacility E; "0601" "乡村道路用地" AgriculturalFacility A; "060101" "村道用地" AgriculturalFacility A;
    "060102" "田间道" AgriculturalFacility A; "0602" "种植设施建设用地" AgriculturalFacility E; "0603" "畜禽养殖设施建设用地" AgriculturalFacility E;
    "0604" "水产养殖设施建设用地" AgriculturalFacility E;
    "060201" "种植设施建设用地" AgriculturalFacility E; "060202" "畜禽养殖设施建设用地" AgriculturalFacility E;
    "060203" "水产养殖设施建设用地" AgriculturalFacility E;
    "07" "居住用地" Residential E; "0701" "城镇住宅用地" Residential E; "070101" "一类城镇住宅用地" Residential E;
    "070102" "二类城镇住宅用地" Residential E; "070103" "三类城镇住宅用地" Residential E; "0702" "城镇社区服务设施用地" Residential E;
    "0703" "农村宅基地" Residential E; "070301" "一类农村宅基地" Residential E; "070302" "二类农村宅基地" Residential E;
    "0704" "农村社区服务设施用地" Residential E;
    "08" "公共管理与公共服务用地" PublicService E; "0801" "机关团体用地" PublicService E; "0802" "科研用地" PublicService E;
    "0803" "文化用地" PublicService E; "080301" "图书与展览用地" PublicService E; "080302" "文化活动用地" PublicService E;
    "0804" "教育用地" PublicService E; "080401" "高等教育用地" PublicService E; "080402" "中等职业教育用地" PublicService E;
    "080403" "中小学用地" PublicService E; "080404" "幼儿园用地" PublicService E; "080405" "其他教育用地" PublicService E;
    "0805" "体育用地" PublicService E; "080501" "体育场馆用地" PublicService E; "080502" "体育训练用地" PublicService E;
    "0806" "医疗卫生用地" PublicService E; "080601" "医院用地" PublicService E; "080602" "基层医疗卫生设施用地" PublicService E;
    "080603" "公共卫生用地" PublicService E; "0807" "社会福利用地" PublicService E; "080701" "老年人社会福利用地" PublicService E;
    "080702" "儿童社会福利用地" PublicService E; "080703" "残疾人社会福利用地" PublicService E; "080704" "其他社会福利用地" PublicService E;
    "09" "商业服务业用地" Commercial E; "0901" "商业用地" Commercial E; "090101" "零售商业用地" Commercial E;
    "090102" "批发市场用地" Commercial E; "090103" "餐饮用地" Commercial E; "090104" "旅馆用地" Commercial E;
    "090105" "公用设施营业网点用地" Commercial E; "0902" "商务金融用地" Commercial E; "0903" "娱乐康体用地" Commercial E;
    "090301" "娱乐用地" Commercial E; "090302" "康体用地" Commercial E; "0904" "其他商业服务业用地" Commercial E;
    "10" "工矿用地" Industrial E; "1001" "工业用地" Industrial E; "100101" "一类工业用地" Industrial E 1;
    "100102" "二类工业用地" Industrial E 2; "100103" "三类工业用地" Industrial E 3; "1002" "采矿用地" Industrial A;
    "1003" "盐田" Industrial A;
    "11" "仓储用地" Logistics E; "1101" "物流仓储用地" Logistics E; "110101" "一类物流仓储用地" Logistics E;
    "110102" "二类物流仓储用地" Logistics E; "110103" "三类物流仓储用地" Logistics E; "1102" "储备库用地" Logistics E;
    "12" "交通运输用地" Transport E; "1201" "铁路用地" Transport E; "1202" "公路用地" Transport E; "1203" "机场用地" Transport E;
    "1204" "港口码头用地" Transport E; "1205" "管道运输用地" Transport E; "1206" "城市轨道交通用地" Transport E;
    "1207" "城镇村道路用地" Transport E; "1208" "交通场站用地" Transport E; "120801" "对外交通场站用地" Transport E;
    "120802" "公共交通场站用地" Transport E; "120803" "社会停车场用地" Transport E; "1209" "其他交通设施用地" Transport E;
    "13" "公用设施用地" Utilities E; "1301" "供水用地" Utilities E; "1302" "排水用地" Utilities E; "1303" "供电用地" Utilities E;
    "1304" "供燃气用地" Utilities E; "1305" "供热用地" Utilities E; "1306" "通信用地" Utilities E; "1307" "邮政用地" Utilities E;
    "1308" "广播电视设施用地" Utilities E; "1309" "环卫用地" Utilities E; "1310" "消防用地" Utilities E;
    "1311" "水工设施用地" Utilities E; "1312" "其他公用设施用地" Utilities E;
    "14" "绿地与开敞空间用地" Green E; "1401" "公园绿地" Green E; "1402" "防护绿地" Green E; "1403" "广场用地" Green E;
    "15" "特殊用地" Special E; "1501" "军事设施用地" Special E; "1502" "使领馆用地" Special E; "1503" "宗教用地" Special E;
    "1504" "文物古迹用地" Special E; "1505" "监教场所用地" Special E; "1506" "殡葬用地" Special E; "1507" "其他特殊用地" Special E;
    "16" "留白用地" Reserve E;
    "17" "陆地水域" Ecological E; "1701" "河流水面" Ecological E; "1702" "湖泊水面" Ecological E; "1703" "水库水面" Ecological E;
    "1704" "坑塘水面" Ecological E; "1705" "沟渠" Ecological E; "1706" "冰川及常年积雪" Ecological E;
    "18" "渔业用海" Ecological A; "19" "工矿通信用海" Ecological A; "20" "交通运输用海" Ecological A;
    "21" "游憩用海" Ecological A; "22" "特殊用海" Ecological A;
    "23" "其他土地" Ecological E; "2301" "空闲地" Ecological A; "2302" "后备耕地" Ecological E; "2303" "田坎" Ecological E;
    "2304" "盐碱地" Ecological E; "2305" "沙地" Ecological E; "2306" "裸土地" Ecological E; "2307" "裸岩石砾地" Ecological E;
    "24" "其他海域" Ecological A;
}

// GB 50137-2011 《城市用地分类与规划建设用地标准》: 城乡用地 (H, E) and 城市建设用地 (R … G).
table! { GB50137:
    "H" "建设用地" Unclassified A; "H1" "城乡居民点建设用地" Unclassified A; "H11" "城市建设用地" Unclassified A;
    "H12" "镇建设用地" Unclassified A; "H13" "乡建设用地" Unclassified A; "H14" "村庄建设用地" Residential A;
    "H2" "区域交通设施用地" Transport E; "H21" "铁路用地" Transport E; "H22" "公路用地" Transport E; "H23" "港口用地" Transport E;
    "H24" "机场用地" Transport E; "H25" "管道运输用地" Transport E; "H3" "区域公用设施用地" Utilities E;
    "H4" "特殊用地" Special E; "H41" "军事用地" Special E; "H42" "安保用地" Special E; "H5" "采矿用地" Industrial A;
    "H9" "其他建设用地" Unclassified A;
    "E" "非建设用地" Ecological E; "E1" "水域" Ecological E; "E11" "自然水域" Ecological E; "E12" "水库" Ecological E;
    "E13" "坑塘沟渠" Ecological E; "E2" "农林用地" Ecological A; "E9" "其他非建设用地" Ecological A;
    "R" "居住用地" Residential E; "R1" "一类居住用地" Residential E; "R11" "住宅用地" Residential E; "R12" "服务设施用地" Residential E;
    "R2" "二类居住用地" Residential E; "R21" "住宅用地" Residential E; "R22" "服务设施用地" Residential E;
    "R3" "三类居住用地" Residential E; "R31" "住宅用地" Residential E; "R32" "服务设施用地" Residential E;
    "A" "公共管理与公共服务设施用地" PublicService E; "A1" "行政办公用地" PublicService E; "A2" "文化设施用地" PublicService E;
    "A21" "图书展览用地" PublicService E; "A22" "文化活动用地" PublicService E; "A3" "教育科研用地" PublicService E;
    "A31" "高等院校用地" PublicService E; "A32" "中等专业学校用地" PublicService E; "A33" "中小学用地" PublicService E;
    "A34" "特殊教育用地" PublicService E; "A35" "科研用地" PublicService E; "A4" "体育用地" PublicService E;
    "A41" "体育场馆用地" PublicService E; "A42" "体育训练用地" PublicService E; "A5" "医疗卫生用地" PublicService E;
    "A51" "医院用地" PublicService E; "A52" "卫生防疫用地" PublicService E; "A53" "特殊医疗用地" PublicService E;
    "A59" "其他医疗卫生用地" PublicService E; "A6" "社会福利用地" PublicService E; "A7" "文物古迹用地" Special E;
    "A8" "外事用地" Special E; "A9" "宗教用地" Special E;
    "B" "商业服务业设施用地" Commercial E; "B1" "商业用地" Commercial E; "B11" "零售商业用地" Commercial E;
    "B12" "批发市场用地" Commercial E; "B13" "餐饮用地" Commercial E; "B14" "旅馆用地" Commercial E;
    "B2" "商务用地" Commercial E; "B21" "金融保险用地" Commercial E; "B22" "艺术传媒用地" Commercial E;
    "B29" "其他商务用地" Commercial E; "B3" "娱乐康体用地" Commercial E; "B31" "娱乐用地" Commercial E;
    "B32" "康体用地" Commercial E; "B4" "公用设施营业网点用地" Commercial E; "B41" "加油加气站用地" Commercial E;
    "B49" "其他公用设施营业网点用地" Commercial E; "B9" "其他服务设施用地" Commercial E;
    "M" "工业用地" Industrial E; "M1" "一类工业用地" Industrial E 1; "M2" "二类工业用地" Industrial E 2;
    "M3" "三类工业用地" Industrial E 3;
    "W" "物流仓储用地" Logistics E; "W1" "一类物流仓储用地" Logistics E; "W2" "二类物流仓储用地" Logistics E;
    "W3" "三类物流仓储用地" Logistics E;
    "S" "道路与交通设施用地" Transport E; "S1" "城市道路用地" Transport E; "S2" "城市轨道交通用地" Transport E;
    "S3" "交通枢纽用地" Transport E; "S4" "交通场站用地" Transport E; "S41" "公共交通场站用地" Transport E;
    "S42" "社会停车场用地" Transport E; "S9" "其他交通设施用地" Transport E;
    "U" "公用设施用地" Utilities E; "U1" "供应设施用地" Utilities E; "U11" "供水用地" Utilities E; "U12" "供电用地" Utilities E;
    "U13" "供燃气用地" Utilities E; "U14" "供热用地" Utilities E; "U15" "通信用地" Utilities E; "U16" "广播电视用地" Utilities E;
    "U2" "环境设施用地" Utilities E; "U21" "排水用地" Utilities E; "U22" "环卫用地" Utilities E; "U3" "安全设施用地" Utilities E;
    "U31" "消防用地" Utilities E; "U32" "防洪用地" Utilities E; "U9" "其他公用设施用地" Utilities E;
    "G" "绿地与广场用地" Green E; "G1" "公园绿地" Green E; "G2" "防护绿地" Green E; "G3" "广场用地" Green E;
}

// GB/T 21010-2017 《土地利用现状分类》.
table! { GBT21010:
    "01" "耕地" Ecological E; "0101" "水田" Ecological E; "0102" "水浇地" Ecological E; "0103" "旱地" Ecological E;
    "02" "园地" Ecological E; "0201" "果园" Ecological E; "0202" "茶园" Ecological E; "0203" "橡胶园" Ecological E; "0204" "其他园地" Ecological E;
    "03" "林地" Ecological E; "0301" "乔木林地" Ecological E; "0302" "竹林地" Ecological E; "0303" "红树林地" Ecological E;
    "0304" "森林沼泽" Ecological E; "0305" "灌木林地" Ecological E; "0306" "灌丛沼泽" Ecological E; "0307" "其他林地" Ecological E;
    "04" "草地" Ecological E; "0401" "天然牧草地" Ecological E; "0402" "沼泽草地" Ecological E; "0403" "人工牧草地" Ecological E;
    "0404" "其他草地" Ecological E;
    "05" "商服用地" Commercial E; "0501" "零售商业用地" Commercial E; "0502" "批发市场用地" Commercial E; "0503" "餐饮用地" Commercial E;
    "0504" "旅馆用地" Commercial E; "0505" "商务金融用地" Commercial E; "0506" "娱乐用地" Commercial E; "0507" "其他商服用地" Commercial E;
    "06" "工矿仓储用地" Industrial A; "0601" "工业用地" Industrial E; "0602" "采矿用地" Industrial A; "0603" "盐田" Industrial A;
    "0604" "仓储用地" Logistics E;
    "07" "住宅用地" Residential E; "0701" "城镇住宅用地" Residential E; "0702" "农村宅基地" Residential E;
    "08" "公共管理与公共服务用地" PublicService E; "0801" "机关团体用地" PublicService E; "0802" "新闻出版用地" PublicService E;
    "0803" "教育用地" PublicService E; "0804" "科研用地" PublicService E; "0805" "医疗卫生用地" PublicService E;
    "0806" "社会福利用地" PublicService E; "0807" "文化设施用地" PublicService E; "0808" "体育用地" PublicService E;
    "0809" "公用设施用地" Utilities E; "0810" "公园与绿地" Green E;
    "09" "特殊用地" Special E; "0901" "军事设施用地" Special E; "0902" "使领馆用地" Special E; "0903" "监教场所用地" Special E;
    "0904" "宗教用地" Special E; "0905" "殡葬用地" Special E; "0906" "风景名胜设施用地" Special A;
    "10" "交通运输用地" Transport E; "1001" "铁路用地" Transport E; "1002" "轨道交通用地" Transport E; "1003" "公路用地" Transport E;
    "1004" "城镇村道路用地" Transport E; "1005" "交通服务场站用地" Transport E; "1006" "农村道路" Transport A;
    "1007" "机场用地" Transport E; "1008" "港口码头用地" Transport E; "1009" "管道运输用地" Transport E;
    "11" "水域及水利设施用地" Ecological E; "1101" "河流水面" Ecological E; "1102" "湖泊水面" Ecological E; "1103" "水库水面" Ecological E;
    "1104" "坑塘水面" Ecological E; "1105" "沿海滩涂" Ecological E; "1106" "内陆滩涂" Ecological E; "1107" "沟渠" Ecological E;
    "1108" "沼泽地" Ecological E; "1109" "水工建筑用地" Utilities A; "1110" "冰川及永久积雪" Ecological E;
    "12" "其他土地" Ecological A; "1201" "空闲地" Ecological A; "1202" "设施农用地" AgriculturalFacility E; "1203" "田坎" Ecological E;
    "1204" "盐碱地" Ecological E; "1205" "沙地" Ecological E; "1206" "裸土地" Ecological E; "1207" "裸岩石砾地" Ecological E;
}

// 第三次全国国土调查工作分类 (三调), which merges and renames some GB/T 21010 classes.
table! { SANDIAO:
    "00" "湿地" Ecological E; "0303" "红树林地" Ecological E; "0304" "森林沼泽" Ecological E; "0306" "灌丛沼泽" Ecological E;
    "0402" "沼泽草地" Ecological E; "0603" "盐田" Industrial A; "1105" "沿海滩涂" Ecological E; "1106" "内陆滩涂" Ecological E;
    "1108" "沼泽地" Ecological E;
    "01" "耕地" Ecological E; "0101" "水田" Ecological E; "0102" "水浇地" Ecological E; "0103" "旱地" Ecological E;
    "02" "种植园用地" Ecological E; "0201" "果园" Ecological E; "0202" "茶园" Ecological E; "0203" "橡胶园" Ecological E; "0204" "其他园地" Ecological E;
    "03" "林地" Ecological E; "0301" "乔木林地" Ecological E; "0302" "竹林地" Ecological E; "0305" "灌木林地" Ecological E; "0307" "其他林地" Ecological E;
    "04" "草地" Ecological E; "0401" "天然牧草地" Ecological E; "0403" "人工牧草地" Ecological E; "0404" "其他草地" Ecological E;
    "05" "商业服务业用地" Commercial E; "05H1" "商业服务业设施用地" Commercial E; "0508" "物流仓储用地" Logistics E;
    "06" "工矿用地" Industrial E; "0601" "工业用地" Industrial E; "0602" "采矿用地" Industrial A;
    "07" "住宅用地" Residential E; "0701" "城镇住宅用地" Residential E; "0702" "农村宅基地" Residential E;
    "08" "公共管理与公共服务用地" PublicService E; "08H1" "机关团体新闻出版用地" PublicService E; "08H2" "科教文卫用地" PublicService E;
    "08H2A" "高教用地" PublicService E; "0809" "公用设施用地" Utilities E; "0810" "公园与绿地" Green E; "0810A" "广场用地" Green E;
    "09" "特殊用地" Special E;
    "10" "交通运输用地" Transport E; "1001" "铁路用地" Transport E; "1002" "轨道交通用地" Transport E; "1003" "公路用地" Transport E;
    "1004" "城镇村道路用地" Transport E; "1005" "交通服务场站用地" Transport E; "1006" "农村道路" Transport A;
    "1007" "机场用地" Transport E; "1008" "港口码头用地" Transport E; "1009" "管道运输用地" Transport E;
    "11" "水域及水利设施用地" Ecological E; "1101" "河流水面" Ecological E; "1102" "湖泊水面" Ecological E; "1103" "水库水面" Ecological E;
    "1104" "坑塘水面" Ecological E; "1104A" "养殖坑塘" AgriculturalFacility A; "1107" "沟渠" Ecological E; "1107A" "干渠" Ecological E;
    "1109" "水工建筑用地" Utilities A; "1110" "冰川及永久积雪" Ecological E;
    "12" "其他土地" Ecological A; "1201" "空闲地" Ecological A; "1202" "设施农用地" AgriculturalFacility E; "1203" "田坎" Ecological E;
    "1204" "盐碱地" Ecological E; "1205" "沙地" Ecological E; "1206" "裸土地" Ecological E; "1207" "裸岩石砾地" Ecological E;
}

/// A land-use code as written, split into its parts. Real files carry compound codes — a
/// primary use and compatible uses (兼容用途): `0701/09`, `100101/110101`, `100101(080403)` —
/// and village codes suffixed `v` (`0703v`, `1207v`, 村庄用地). The primary use decides what
/// the code means; the rest is shown, not judged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParsedCode {
    /// The primary code, upper-case, without its `v` suffix (`0701`).
    pub primary: String,
    /// Compatible uses, in the order written (`["09"]`).
    pub compatible: Vec<String>,
    /// The primary code carried the `v` suffix (村庄 — village land).
    pub village: bool,
}

/// A code token (ASCII letters and digits) from the start of `s`, and the rest.
fn token(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .map_or(s.len(), |(i, _)| i);
    s.split_at(end)
}

/// A token upper-cased, with a `v` after digits taken off as the village flag.
fn clean(tok: &str) -> (std::borrow::Cow<'_, str>, bool) {
    let (body, village) = match tok.strip_suffix(['v', 'V']) {
        Some(b) if !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()) => (b, true),
        _ => (tok, false),
    };
    if body.bytes().any(|b| b.is_ascii_lowercase()) {
        (body.to_ascii_uppercase().into(), village)
    } else {
        (body.into(), village)
    }
}

/// The primary code of a value, borrowed when it needs no change (the common case).
fn code_part(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let (tok, _) = token(raw.trim());
    (!tok.is_empty()).then(|| clean(tok).0)
}

/// Parse a value such as `0701/09`, `100101(080403)`, `1207v` or `0601工业用地` into its
/// primary code and compatible uses; `None` when it starts with no code.
pub fn parse_code(raw: &str) -> Option<ParsedCode> {
    let (tok, mut rest) = token(raw.trim());
    if tok.is_empty() {
        return None;
    }
    let (primary, village) = clean(tok);
    let mut compatible = vec![];
    // Further codes follow a separator: `/`, `、`, `+`, or an opening bracket.
    while let Some(after) = rest
        .strip_prefix(['/', '、', '+', '(', '（', ')', '）', ' '])
        .filter(|a| !a.is_empty())
    {
        let (t, r) = token(after);
        if !t.is_empty() {
            compatible.push(clean(t).0.into_owned());
        }
        rest = r;
    }
    Some(ParsedCode {
        primary: primary.into_owned(),
        compatible,
        village,
    })
}

/// Extract the primary code from a value such as "M2", "100102", "0601工业用地" or
/// "R2（二类居住）".
pub fn normalize_code(raw: &str) -> Option<String> {
    code_part(raw).map(|c| c.into_owned())
}

/// The 2020 trial edition's codes that the 2023 edition renumbered, as one converter has them
/// (DOMAIN.md §6) [S]; every other code means the same in both editions.
const YDYH_2020_TO_2023: &[(&str, &str)] = &[
    ("0204", "0205"),
    ("060102", "1207v"),
    ("2303", "060102"),
    ("0602", "060201"),
    ("0603", "060202"),
    ("0604", "060203"),
    ("1311", "1705"),
    ("1312", "1311"),
    ("1313", "1312"),
    ("2302", "2303"),
];

/// The YDYH-2023 code of a YDYH-2020 code (`1311` 干渠 → `1705` 沟渠; `060102` 村庄内部道路 →
/// `1207v`); codes the 2023 edition kept are returned unchanged.
pub fn ydyh2020_to_2023(code: &str) -> &str {
    YDYH_2020_TO_2023
        .iter()
        .find(|(old, _)| *old == code)
        .map_or(code, |(_, new)| new)
}

/// A code as the table of `system` holds it: primary, upper-case, YDYH-2020 converted to
/// 2023, without the `v` suffix.
pub fn table_code(system: ClassSystem, raw_code: &str) -> Option<String> {
    let code = code_part(raw_code)?;
    Some(match system {
        ClassSystem::Ydyh2020 => clean(ydyh2020_to_2023(&code)).0.into_owned(),
        _ => code.into_owned(),
    })
}

fn index(system: ClassSystem) -> &'static std::collections::HashMap<&'static str, &'static Entry> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static INDEX: OnceLock<[HashMap<&'static str, &'static Entry>; 4]> = OnceLock::new();
    let all = INDEX.get_or_init(|| {
        ClassSystem::DETECTED.map(|s| s.table().iter().map(|e| (e.code, e)).collect())
    });
    let system = match system {
        ClassSystem::Ydyh2020 => ClassSystem::Ydyh2023,
        s => s,
    };
    &all[ClassSystem::DETECTED
        .iter()
        .position(|s| *s == system)
        .expect("listed")]
}

/// Look a code up in a system; `None` when the system has no such code. A compound code is
/// judged by its primary use; a YDYH-2020 code by its 2023 equivalent.
pub fn lookup(system: ClassSystem, raw_code: &str) -> Option<LandClass> {
    let code = code_part(raw_code)?;
    let code = match system {
        ClassSystem::Ydyh2020 => clean(ydyh2020_to_2023(&code)).0,
        _ => code,
    };
    index(system).get(code.as_ref()).map(|e| LandClass {
        name: e.name,
        category: e.category,
        confidence: if e.exact {
            Confidence::Exact
        } else {
            Confidence::Approximate
        },
        pollution_class: e.pollution,
    })
}

/// OpenStreetMap `landuse` values (and plain English names) and their categories [S].
const ENGLISH: &[(&[&str], Category)] = &[
    (&["industrial", "industry", "quarry"], Category::Industrial),
    (
        &["warehouse", "logistics", "depot", "storage"],
        Category::Logistics,
    ),
    (
        &["residential", "housing", "apartments"],
        Category::Residential,
    ),
    (
        &["commercial", "retail", "office", "business"],
        Category::Commercial,
    ),
    (
        &[
            "education",
            "school",
            "university",
            "college",
            "hospital",
            "healthcare",
            "civic",
            "civil",
            "government",
            "public",
            "institutional",
        ],
        Category::PublicService,
    ),
    (
        &[
            "railway",
            "transport",
            "transportation",
            "highway",
            "road",
            "parking",
            "lane",
            "lanes",
            "bus_stop",
            "cycleway",
            "steps",
            "port",
            "airport",
        ],
        Category::Transport,
    ),
    (
        &["utility", "utilities", "landfill", "power", "plant_nursery"],
        Category::Utilities,
    ),
    (
        &[
            "grass",
            "park",
            "recreation_ground",
            "village_green",
            "garden",
            "greenery",
            "playground",
            "square",
        ],
        Category::Green,
    ),
    (
        &[
            "forest",
            "wood",
            "meadow",
            "farmland",
            "orchard",
            "vineyard",
            "wetland",
            "water",
            "basin",
            "pond",
            "reservoir",
            "scrub",
            "heath",
            "allotments",
            "agricultural",
        ],
        Category::Ecological,
    ),
    (
        &["greenhouse_horticulture", "farmyard", "aquaculture"],
        Category::AgriculturalFacility,
    ),
    (&["military", "cemetery", "religious"], Category::Special),
    (
        &["construction", "brownfield", "greenfield"],
        Category::Reserve,
    ),
];

/// Classify a land-use name when no code is recorded: Chinese names (二类工业用地, 城镇住宅用地,
/// 公园绿地 …) and, for data from elsewhere, English names and OpenStreetMap `landuse` values.
pub fn lookup_name(raw_name: &str) -> Option<LandClass> {
    let n = raw_name.trim();
    if n.is_empty() {
        return None;
    }
    if n.is_ascii() {
        let lower = n.to_ascii_lowercase();
        return lower
            .split([';', ',', ' '])
            .find_map(|token| {
                ENGLISH
                    .iter()
                    .find(|(words, _)| words.contains(&token))
                    .map(|(_, c)| *c)
            })
            .map(|category| LandClass {
                name: "",
                category,
                confidence: Confidence::Approximate,
                pollution_class: None,
            });
    }
    let pollution = if n.contains("一类") {
        Some(1)
    } else if n.contains("二类") {
        Some(2)
    } else if n.contains("三类") {
        Some(3)
    } else {
        None
    };
    const RULES: &[(&[&str], Category)] = &[
        (&["工业", "厂房"], Category::Industrial),
        (&["物流", "仓储"], Category::Logistics),
        (&["住宅", "居住", "宅基地"], Category::Residential),
        (
            &["商业", "商服", "商务", "金融", "旅馆", "餐饮", "娱乐"],
            Category::Commercial,
        ),
        (
            &[
                "机关",
                "行政办公",
                "教育",
                "科研",
                "医疗",
                "文化",
                "体育",
                "社会福利",
                "公共服务",
                "公共管理",
            ],
            Category::PublicService,
        ),
        (
            &["道路", "交通", "铁路", "公路", "停车", "场站"],
            Category::Transport,
        ),
        (
            &["公用设施", "供水", "供电", "排水", "环卫", "消防", "通信"],
            Category::Utilities,
        ),
        (&["绿地", "广场", "公园", "开敞空间"], Category::Green),
        (&["设施农用地", "农业设施"], Category::AgriculturalFacility),
        (
            &[
                "耕地",
                "水田",
                "旱地",
                "林地",
                "园地",
                "草地",
                "湿地",
                "水域",
                "水面",
                "河流",
                "农林",
                "生态",
                "非建设",
            ],
            Category::Ecological,
        ),
        (&["军事", "宗教", "殡葬", "文物", "特殊"], Category::Special),
        (&["留白", "备用地"], Category::Reserve),
    ];
    RULES
        .iter()
        .find(|(keys, _)| keys.iter().any(|k| n.contains(k)))
        .map(|(_, category)| LandClass {
            name: "",
            category: *category,
            confidence: Confidence::Approximate,
            pollution_class: if *category == Category::Industrial {
                pollution
            } else {
                None
            },
        })
}

/// The outcome of detecting a layer's classification system from its codes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SystemDetection {
    /// The system used, when the evidence settles it.
    pub system: Option<ClassSystem>,
    /// Why, in words for the ingest report.
    pub reason: String,
    /// Codes that no system knows.
    pub unknown_codes: Vec<String>,
}

/// Detect the classification system of a set of codes.
///
/// A system is a candidate when it knows every known code. One candidate settles it; several
/// candidates that give every code the same category are equivalent for analysis, and the
/// first is used and said; candidates that disagree leave the layer ambiguous.
pub fn detect_system<'a>(codes: impl IntoIterator<Item = &'a str>) -> SystemDetection {
    let distinct: BTreeSet<String> = codes.into_iter().filter_map(normalize_code).collect();
    if distinct.is_empty() {
        return SystemDetection {
            system: None,
            reason: "no land-use codes in the layer".into(),
            unknown_codes: vec![],
        };
    }
    let known_in = |c: &str| -> Vec<ClassSystem> {
        ClassSystem::DETECTED
            .into_iter()
            .filter(|s| lookup(*s, c).is_some())
            .collect()
    };
    let unknown_codes: Vec<String> = distinct
        .iter()
        .filter(|c| known_in(c).is_empty())
        .cloned()
        .collect();
    let known: Vec<&String> = distinct
        .iter()
        .filter(|c| !known_in(c).is_empty())
        .collect();
    if known.is_empty() {
        return SystemDetection {
            system: None,
            reason: "no code belongs to any known classification system".into(),
            unknown_codes,
        };
    }
    let mut candidates: Vec<ClassSystem> = ClassSystem::DETECTED
        .into_iter()
        .filter(|s| known.iter().all(|c| lookup(*s, c).is_some()))
        .collect();
    if candidates.is_empty() {
        // No system knows all codes: take the one that knows most, and say which codes it lacks.
        let best = ClassSystem::DETECTED
            .into_iter()
            .max_by_key(|s| known.iter().filter(|c| lookup(*s, c).is_some()).count())
            .expect("four systems");
        let missing: Vec<&str> = known
            .iter()
            .filter(|c| lookup(best, c).is_none())
            .map(|c| c.as_str())
            .collect();
        return SystemDetection {
            system: None,
            reason: format!(
                "no single system knows every code; {} knows most but not {}",
                best.as_str(),
                missing.join(", ")
            ),
            unknown_codes,
        };
    }
    let evidence = |s: ClassSystem| -> Vec<&str> {
        known
            .iter()
            .filter(|c| known_in(c) == vec![s])
            .map(|c| c.as_str())
            .take(5)
            .collect()
    };
    if candidates.len() == 1 {
        let s = candidates[0];
        let ev = evidence(s);
        let reason = if ev.is_empty() {
            format!("every code exists in {} only", s.as_str())
        } else {
            format!("codes {} exist only in {}", ev.join(", "), s.as_str())
        };
        return SystemDetection {
            system: Some(s),
            reason,
            unknown_codes,
        };
    }
    let agree = known.iter().all(|c| {
        let cats: BTreeSet<Category> = candidates
            .iter()
            .filter_map(|s| lookup(*s, c).map(|l| l.category))
            .collect();
        cats.len() == 1
    });
    let names: Vec<&str> = candidates.iter().map(|s| s.as_str()).collect();
    if agree {
        let chosen = candidates.remove(0);
        SystemDetection {
            system: Some(chosen),
            reason: format!(
                "the codes fit {} alike and mean the same category in each; {} is used",
                names.join(" and "),
                chosen.as_str()
            ),
            unknown_codes,
        }
    } else {
        let clash: Vec<&str> = known
            .iter()
            .filter(|c| {
                candidates
                    .iter()
                    .filter_map(|s| lookup(*s, c).map(|l| l.category))
                    .collect::<BTreeSet<_>>()
                    .len()
                    > 1
            })
            .map(|c| c.as_str())
            .take(5)
            .collect();
        SystemDetection {
            system: None,
            reason: format!(
                "ambiguous: the codes fit {} but {} mean different things in them; declare the system with --land-system",
                names.join(" and "),
                clash.join(", ")
            ),
            unknown_codes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_digits_mean_different_things_in_different_systems() {
        let y = lookup(ClassSystem::Ydyh2023, "1001").unwrap();
        let g = lookup(ClassSystem::Gbt21010, "1001").unwrap();
        assert_eq!(y.category, Category::Industrial);
        assert_eq!(g.category, Category::Transport);
        assert_eq!(
            lookup(ClassSystem::Ydyh2023, "0901").unwrap().category,
            Category::Commercial
        );
        assert_eq!(
            lookup(ClassSystem::Gbt21010, "0901").unwrap().category,
            Category::Special
        );
    }

    #[test]
    fn pollution_classes_of_industrial_land() {
        assert_eq!(
            lookup(ClassSystem::Ydyh2023, "100102")
                .unwrap()
                .pollution_class,
            Some(2)
        );
        assert_eq!(
            lookup(ClassSystem::Gb50137, "m3").unwrap().pollution_class,
            Some(3)
        );
        assert_eq!(
            lookup(ClassSystem::Gb50137, "M2（二类工业）")
                .unwrap()
                .pollution_class,
            Some(2)
        );
        assert_eq!(
            lookup_name("三类工业用地").unwrap().pollution_class,
            Some(3)
        );
        assert_eq!(
            lookup_name("城镇住宅用地").unwrap().category,
            Category::Residential
        );
        assert!(lookup_name("其他").is_none());
        assert_eq!(
            lookup_name("retail").unwrap().category,
            Category::Commercial
        );
        assert_eq!(
            lookup_name("lane;parking").unwrap().category,
            Category::Transport
        );
        assert_eq!(
            lookup_name("Residential").unwrap().category,
            Category::Residential
        );
        assert!(lookup_name("unknown_tag").is_none());
    }

    #[test]
    fn detection_uses_codes_that_exist_in_one_system_only() {
        let d = detect_system(["100101", "0701", "1401"]);
        assert_eq!(d.system, Some(ClassSystem::Ydyh2023));
        assert!(d.reason.contains("100101"), "{}", d.reason);

        let d = detect_system(["R2", "M1", "G1"]);
        assert_eq!(d.system, Some(ClassSystem::Gb50137));

        let d = detect_system(["05H1", "0601", "0701"]);
        assert_eq!(d.system, Some(ClassSystem::Sandiao));
    }

    #[test]
    fn ambiguous_layers_are_reported_not_guessed() {
        // 1001 is industrial in YDYH and railway in GB/T 21010; 0701 fits both.
        let d = detect_system(["1001", "0701"]);
        assert_eq!(d.system, None);
        assert!(d.reason.contains("ambiguous"), "{}", d.reason);
        assert!(d.reason.contains("1001"), "{}", d.reason);

        // Codes that mean the same in GB/T 21010 and 三调 settle on one, and say so.
        let d = detect_system(["0601", "0701", "1004"]);
        assert_eq!(d.system, Some(ClassSystem::Gbt21010));
        assert!(d.reason.contains("SANDIAO"), "{}", d.reason);

        let d = detect_system(["X99", "M1"]);
        assert_eq!(d.system, Some(ClassSystem::Gb50137));
        assert_eq!(d.unknown_codes, vec!["X99".to_string()]);
    }

    #[test]
    fn compound_and_village_codes_parse_into_primary_and_compatible_uses() {
        let p = parse_code("0701/09").unwrap();
        assert_eq!(
            (p.primary.as_str(), p.compatible.clone(), p.village),
            ("0701", vec!["09".to_string()], false)
        );
        assert_eq!(
            parse_code("100101/110101").unwrap().compatible,
            vec!["110101"]
        );
        assert_eq!(
            parse_code("100101(080403)").unwrap().compatible,
            vec!["080403"]
        );
        assert_eq!(
            parse_code("100101（080403）").unwrap().compatible,
            vec!["080403"]
        );
        let v = parse_code("1207v").unwrap();
        assert_eq!((v.primary.as_str(), v.village), ("1207", true));
        assert!(parse_code("0601工业用地").unwrap().compatible.is_empty());
        assert!(parse_code("R2（二类居住）").unwrap().compatible.is_empty());
        assert_eq!(parse_code("m2").unwrap().primary, "M2");
        assert!(parse_code("  ").is_none());
        // The primary use decides.
        assert_eq!(
            lookup(ClassSystem::Ydyh2023, "0701/09").unwrap().category,
            Category::Residential
        );
        assert_eq!(
            lookup(ClassSystem::Ydyh2023, "1207v").unwrap().category,
            Category::Transport
        );
    }

    #[test]
    fn ydyh_2020_codes_are_read_through_their_2023_numbers() {
        assert_eq!(ydyh2020_to_2023("1311"), "1705");
        assert_eq!(ydyh2020_to_2023("060102"), "1207v");
        assert_eq!(ydyh2020_to_2023("0701"), "0701");
        // 1311: 干渠 (water) in the trial edition, 水工设施用地 in 2023.
        assert_eq!(
            lookup(ClassSystem::Ydyh2020, "1311").unwrap().category,
            Category::Ecological
        );
        assert_eq!(
            lookup(ClassSystem::Ydyh2023, "1311").unwrap().category,
            Category::Utilities
        );
        assert_eq!(
            lookup(ClassSystem::Ydyh2020, "1312").unwrap().name,
            "水工设施用地"
        );
        assert_eq!(
            lookup(ClassSystem::Ydyh2020, "060102").unwrap().category,
            Category::Transport
        );
        assert_eq!(
            table_code(ClassSystem::Ydyh2020, "2303").as_deref(),
            Some("060102")
        );
        assert_eq!(
            "YDYH-2020".parse::<ClassSystem>().unwrap(),
            ClassSystem::Ydyh2020
        );
        assert_eq!(ClassSystem::Ydyh2020.as_str(), "YDYH-2020");
        // Detection never picks the trial edition: its codes look like 2023's.
        assert_eq!(
            detect_system(["0701", "1311"]).system,
            Some(ClassSystem::Ydyh2023)
        );
    }
}
