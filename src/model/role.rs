//! Layer roles (图层角色) and the kinds of plan and red line a layer can hold.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// 图层角色 — what a stored layer is for; analysis finds its inputs by role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 园区四至 — approved park boundaries.
    Parks,
    /// 宗地 — land parcels with their contract and use attributes.
    Parcels,
    /// 建筑物 — building footprints with floor areas.
    Buildings,
    /// 规划 — a plan layer (土规, 控规, 国土空间规划).
    Plan,
    /// 控制线 — red lines: 生态保护红线, 永久基本农田, 城镇开发边界.
    Redline,
    /// Any other layer: stored and served, not analysed.
    Other,
}

impl Role {
    /// Every role, in the order the command line lists them.
    pub const ALL: [Role; 6] = [
        Role::Parks,
        Role::Parcels,
        Role::Buildings,
        Role::Plan,
        Role::Redline,
        Role::Other,
    ];

    /// The name used on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Parks => "parks",
            Role::Parcels => "parcels",
            Role::Buildings => "buildings",
            Role::Plan => "plan",
            Role::Redline => "redline",
            Role::Other => "other",
        }
    }

    /// The Chinese label shown to bureau staff.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Parks => "园区四至",
            Role::Parcels => "宗地",
            Role::Buildings => "建筑物",
            Role::Plan => "规划",
            Role::Redline => "控制线",
            Role::Other => "其他图层",
        }
    }

    /// Roles whose features must be areas (Polygon / MultiPolygon).
    pub fn needs_polygons(self) -> bool {
        self != Role::Other
    }

    /// Only parcels must carry a unique id (宗地编号); other roles may.
    pub fn needs_id(self) -> bool {
        self == Role::Parcels
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role '{s}': use one of parks, parcels, buildings, plan, redline, other"
                )
            })
    }
}

/// 规划类型 — which authority's plan a plan layer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// 土地利用总体规划 (土规) — the land bureau's master plan.
    LandUse,
    /// 城市总体规划 / 控制性详细规划 (城规, 控规) — the urban planning authority's plan.
    Urban,
    /// 国土空间规划 — the unified territorial spatial plan.
    Territorial,
}

impl PlanKind {
    /// Every plan kind.
    pub const ALL: [PlanKind; 3] = [PlanKind::LandUse, PlanKind::Urban, PlanKind::Territorial];

    /// The name used on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanKind::LandUse => "land_use",
            PlanKind::Urban => "urban",
            PlanKind::Territorial => "territorial",
        }
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            PlanKind::LandUse => "土地利用总体规划",
            PlanKind::Urban => "城市规划/控制性详细规划",
            PlanKind::Territorial => "国土空间规划",
        }
    }

    /// Guess the kind from a layer or file name (土规, 控规, …); `None` when nothing says.
    pub fn guess_from_name(name: &str) -> Option<PlanKind> {
        let n = name.to_lowercase();
        if ["土规", "土地利用", "tugui", "landuse", "land_use"]
            .iter()
            .any(|k| n.contains(k))
        {
            Some(PlanKind::LandUse)
        } else if [
            "控规",
            "城规",
            "详规",
            "城市规划",
            "kongui",
            "konggui",
            "chenggui",
            "urban",
        ]
        .iter()
        .any(|k| n.contains(k))
        {
            Some(PlanKind::Urban)
        } else if ["国土空间", "guotu", "territorial"]
            .iter()
            .any(|k| n.contains(k))
        {
            Some(PlanKind::Territorial)
        } else {
            None
        }
    }
}

impl FromStr for PlanKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlanKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .or_else(|| PlanKind::guess_from_name(s))
            .ok_or_else(|| {
                format!("unknown plan kind '{s}': use land_use (土规), urban (控规) or territorial (国土空间规划)")
            })
    }
}

/// 控制线类型 — which red line a red-line layer or feature is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedlineKind {
    /// 生态保护红线.
    Ecological,
    /// 永久基本农田.
    Farmland,
    /// 城镇开发边界 — construction must stay inside it.
    UrbanBoundary,
}

impl RedlineKind {
    /// Every red-line kind.
    pub const ALL: [RedlineKind; 3] = [
        RedlineKind::Ecological,
        RedlineKind::Farmland,
        RedlineKind::UrbanBoundary,
    ];

    /// The name used on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            RedlineKind::Ecological => "ecological",
            RedlineKind::Farmland => "farmland",
            RedlineKind::UrbanBoundary => "urban_boundary",
        }
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            RedlineKind::Ecological => "生态保护红线",
            RedlineKind::Farmland => "永久基本农田",
            RedlineKind::UrbanBoundary => "城镇开发边界",
        }
    }

    /// Guess the kind from a name or a 类型 value; `None` when nothing says.
    pub fn guess_from_name(name: &str) -> Option<RedlineKind> {
        let n = name.to_lowercase();
        if ["生态", "ecolog", "shengtai"].iter().any(|k| n.contains(k)) {
            Some(RedlineKind::Ecological)
        } else if ["基本农田", "农田", "farmland", "jbnt"]
            .iter()
            .any(|k| n.contains(k))
        {
            Some(RedlineKind::Farmland)
        } else if ["开发边界", "城镇边界", "urban_boundary", "kfbj"]
            .iter()
            .any(|k| n.contains(k))
        {
            Some(RedlineKind::UrbanBoundary)
        } else {
            None
        }
    }
}

impl FromStr for RedlineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RedlineKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .or_else(|| RedlineKind::guess_from_name(s))
            .ok_or_else(|| {
                format!("unknown red line kind '{s}': use ecological (生态保护红线), farmland (永久基本农田) or urban_boundary (城镇开发边界)")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("parcel".parse::<Role>().unwrap_err().contains("parcels"));
    }

    #[test]
    fn plan_and_redline_kinds_are_guessed_from_chinese_names() {
        assert_eq!(
            PlanKind::guess_from_name("某县土规2020"),
            Some(PlanKind::LandUse)
        );
        assert_eq!(
            PlanKind::guess_from_name("kongui_2021"),
            Some(PlanKind::Urban)
        );
        assert_eq!(PlanKind::guess_from_name("parcels"), None);
        assert_eq!(
            RedlineKind::guess_from_name("永久基本农田保护区"),
            Some(RedlineKind::Farmland)
        );
        assert_eq!(
            RedlineKind::guess_from_name("生态保护红线"),
            Some(RedlineKind::Ecological)
        );
    }
}
