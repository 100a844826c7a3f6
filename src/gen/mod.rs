//! The data generator (`landwatch gen`): parks, parcels, buildings, two plans and three kinds
//! of red line, written as GBK shapefiles without `.cpg` in CGCS2000 3° GK zone 35
//! (EPSG:4523) — the files a bureau's desktop GIS leaves behind.
//!
//! Three parks near 104.6°E 30.1°N for the bundled sample; about one park per 2,000 parcels
//! for benchmark sizes. The same seed always gives the same files.

mod layout;
pub mod shapefile;
mod story;

pub use story::anchor;

use geo::{Area, BooleanOps, BoundingRect, Coord, Geometry, MultiPolygon, Polygon, Rect};
use layout::{buildings_in, lay_out, BlockUse, ParkLayout, ParkType};
use rand::{RngExt, SeedableRng};
use shapefile::{FieldType, ShapeWriter, Val};
use std::fmt;
use std::path::PathBuf;

/// The CRS of generated files: CGCS2000 / 3-degree Gauss-Kruger zone 35.
pub const EPSG: u32 = 4523;

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Number of parcels.
    pub parcels: usize,
    /// Random seed.
    pub seed: u64,
}

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct GenSummary {
    /// Output directory.
    pub out: PathBuf,
    /// (file, features) per layer.
    pub files: Vec<(String, u64)>,
}

impl fmt::Display for GenSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote GBK shapefiles (no .cpg, CGCS2000 / 3-degree Gauss-Kruger zone 35, EPSG:{EPSG}) to {}:",
            self.out.display()
        )?;
        for (file, n) in &self.files {
            writeln!(f, "  {file:<22} {n:>9} features")?;
        }
        write!(f, "data as of {}", anchor())
    }
}

struct ParkSpec {
    code: String,
    name: String,
    kind: ParkType,
    level: &'static str,
    origin: Coord,
    parcels: usize,
}

fn park_specs(total: usize) -> Vec<ParkSpec> {
    if total <= 6000 {
        // The bundled sample: three parks near 104.6°E 30.1°N.
        let base = Coord {
            x: 35_448_000.0,
            y: 3_320_000.0,
        };
        let share = [total / 3 + total % 3, total / 3, total / 3];
        return vec![
            ParkSpec {
                code: "GXQ01".into(),
                name: "沱江高新技术产业开发区".into(),
                kind: ParkType::IndustryLed,
                level: "国家级",
                origin: base,
                parcels: share[0],
            },
            ParkSpec {
                code: "JKQ01".into(),
                name: "资中经济技术开发区".into(),
                kind: ParkType::IndustryLed,
                level: "省级",
                origin: Coord {
                    x: base.x + 8_000.0,
                    y: base.y,
                },
                parcels: share[1],
            },
            ParkSpec {
                code: "CRQ01".into(),
                name: "甜城产城融合示范区".into(),
                kind: ParkType::Integrated,
                level: "省级",
                origin: Coord {
                    x: base.x,
                    y: base.y + 8_000.0,
                },
                parcels: share[2],
            },
        ];
    }
    let n = (total as f64 / 2000.0).round().max(1.0) as usize;
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let spacing = 10_000.0;
    let x0 = 35_500_000.0 - cols as f64 * spacing / 2.0;
    let y0 = 3_331_000.0 - rows as f64 * spacing / 2.0;
    (0..n)
        .map(|i| ParkSpec {
            code: format!("P{:04}", i + 1),
            name: format!("第{}产业园区", i + 1),
            kind: if i % 4 == 3 {
                ParkType::Integrated
            } else {
                ParkType::IndustryLed
            },
            level: if i % 10 == 0 { "国家级" } else { "省级" },
            origin: Coord {
                x: x0 + (i % cols) as f64 * spacing,
                y: y0 + (i / cols) as f64 * spacing,
            },
            parcels: total / n + usize::from(i < total % n),
        })
        .collect()
}

fn text(name: &str, width: i32) -> (&str, FieldType) {
    (name, FieldType::Text(width))
}

/// Generate the dataset.
pub fn generate(opts: &GenOptions) -> anyhow::Result<GenSummary> {
    std::fs::create_dir_all(&opts.out)?;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(opts.seed);
    let specs = park_specs(opts.parcels);
    let dir = &opts.out;

    let mut parks = ShapeWriter::create(
        dir,
        "parks",
        EPSG,
        &[
            text("园区编号", 16),
            text("园区名称", 60),
            text("园区类型", 12),
            text("园区级别", 8),
            text("批准面积", 20),
            text("批准日期", 20),
            ("税收总额", FieldType::Real(2)),
        ],
    )?;
    let mut parcels = ShapeWriter::create(dir, "parcels", EPSG, story::PARCEL_FIELDS)?;
    let mut buildings = ShapeWriter::create(
        dir,
        "buildings",
        EPSG,
        &[
            text("建筑编号", 28),
            text("宗地编号", 24),
            ("建筑面积", FieldType::Real(2)),
            ("层数", FieldType::Int),
            ("建筑高度", FieldType::Real(1)),
            text("建筑用途", 10),
        ],
    )?;
    let mut kongui = ShapeWriter::create(
        dir,
        "plan_kongui",
        EPSG,
        &[
            text("地块编号", 24),
            text("用地代码", 8),
            text("用地名称", 30),
        ],
    )?;
    let mut tugui = ShapeWriter::create(
        dir,
        "plan_tugui",
        EPSG,
        &[
            text("图斑编号", 24),
            text("地类编码", 8),
            text("地类名称", 30),
        ],
    )?;
    let redline_fields = [text("编号", 16), text("名称", 40), text("控制线类型", 16)];
    let mut ecology = ShapeWriter::create(dir, "redline_ecology", EPSG, &redline_fields)?;
    let mut farmland = ShapeWriter::create(dir, "farmland", EPSG, &redline_fields)?;
    let mut boundary = ShapeWriter::create(dir, "urban_boundary", EPSG, &redline_fields)?;

    for (pi, spec) in specs.iter().enumerate() {
        let park = lay_out(&mut rng, spec.origin, spec.kind, spec.parcels, true);
        let mut park_tax = 0.0;
        for (bi, block) in park.blocks.iter().enumerate() {
            for (k, shape) in block.parcels.iter().enumerate() {
                let id = format!("{}-{:03}-{:02}", spec.code, bi + 1, k + 1);
                let area = shape.polygon.unsigned_area();
                let p = story::parcel(&mut rng, &id, &spec.code, block.use_, area);
                park_tax += p.tax;
                parcels.write(&Geometry::Polygon(shape.polygon.clone()), &p.values)?;
                let shares: Vec<f64> = p.buildings.iter().map(|b| b.footprint_share).collect();
                for (n, (poly, b)) in buildings_in(&shape.polygon, p.footprint, &shares)
                    .into_iter()
                    .zip(&p.buildings)
                    .enumerate()
                {
                    let fp = poly.unsigned_area();
                    buildings.write(
                        &Geometry::Polygon(poly),
                        &[
                            format!("{id}-B{}", n + 1).into(),
                            id.as_str().into(),
                            Val::Real((fp * f64::from(b.floors) * 100.0).round() / 100.0),
                            Val::Int(i64::from(b.floors)),
                            Val::Real((b.height * 10.0).round() / 10.0),
                            b.use_.into(),
                        ],
                    )?;
                }
            }
        }
        write_plans(&mut rng, &mut kongui, &mut tugui, &park, &spec.code)?;
        write_redlines(
            pi,
            &park,
            &spec.code,
            &mut ecology,
            &mut farmland,
            &mut boundary,
        )?;
        let approved_ha = park.boundary.unsigned_area() / 10_000.0 * rng.random_range(0.98..1.02);
        let approved = story::anchor() - chrono::Duration::days(rng.random_range(4000..9000));
        parks.write(
            &Geometry::Polygon(park.boundary.clone()),
            &[
                spec.code.as_str().into(),
                spec.name.as_str().into(),
                spec.kind.label().into(),
                spec.level.into(),
                format!("{approved_ha:.2}公顷").into(),
                approved.format("%Y-%m-%d").to_string().into(),
                Val::Real((park_tax * rng.random_range(1.2..1.5) * 100.0).round() / 100.0),
            ],
        )?;
    }

    let mut summary = GenSummary {
        out: opts.out.clone(),
        files: vec![],
    };
    for (file, w) in [
        ("parks.shp", parks),
        ("parcels.shp", parcels),
        ("buildings.shp", buildings),
        ("plan_tugui.shp", tugui),
        ("plan_kongui.shp", kongui),
        ("redline_ecology.shp", ecology),
        ("farmland.shp", farmland),
        ("urban_boundary.shp", boundary),
    ] {
        summary.files.push((file.to_string(), w.finish()?));
    }
    Ok(summary)
}

/// The 控规 (GB 50137) and 土规 (GB/T 21010) of a park, with the disagreements 多规合一
/// exists to find: blocks the 土规 keeps as farmland (旱地) that the 控规 builds on, a
/// block the 控规 leaves as 农林用地 where the 土规 allows industry, and a service block
/// (public service, commercial or housing in the 控规) the 土规 still gives to industry — both
/// construction land, different uses.
fn write_plans(
    rng: &mut impl rand::Rng,
    kongui: &mut ShapeWriter,
    tugui: &mut ShapeWriter,
    park: &ParkLayout,
    code: &str,
) -> anyhow::Result<()> {
    let built: Vec<usize> = park
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| b.use_.is_industrial() && !b.parcels.is_empty())
        .map(|(i, _)| i)
        .collect();
    let farmland_in_tugui: Vec<usize> = (0..2.min(built.len()))
        .map(|_| built[rng.random_range(0..built.len())])
        .collect();
    let agri_in_kongui = built.get(built.len() / 2).copied();
    let industry_in_tugui = park.blocks.iter().position(|b| {
        matches!(
            b.use_,
            BlockUse::A1 | BlockUse::A33 | BlockUse::A51 | BlockUse::B1 | BlockUse::R2
        )
    });
    for (i, block) in park.blocks.iter().enumerate() {
        let g = Geometry::Polygon(block.rect.to_polygon());
        let (ucode, uname) = if Some(i) == agri_in_kongui {
            ("E2", "农林用地")
        } else {
            block.use_.urban_code()
        };
        kongui.write(
            &g,
            &[
                format!("{code}-K{:03}", i + 1).into(),
                ucode.into(),
                uname.into(),
            ],
        )?;
        let (lcode, lname) = if farmland_in_tugui.contains(&i) {
            ("0103", "旱地")
        } else if Some(i) == industry_in_tugui {
            ("0601", "工业用地")
        } else {
            block.use_.land_code()
        };
        tugui.write(
            &g,
            &[
                format!("{code}-T{:03}", i + 1).into(),
                lcode.into(),
                lname.into(),
            ],
        )?;
    }
    let roads = Geometry::MultiPolygon(park.roads.clone());
    kongui.write(
        &roads,
        &[
            format!("{code}-K000").into(),
            "S1".into(),
            "城市道路用地".into(),
        ],
    )?;
    tugui.write(
        &roads,
        &[
            format!("{code}-T000").into(),
            "1004".into(),
            "城镇村道路用地".into(),
        ],
    )?;
    Ok(())
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon {
    Rect::new((x0, y0), (x1, y1)).to_polygon()
}

/// Red lines around a park: an ecological corridor reaching into every third park, farmland
/// along the edge of the next, and an urban development boundary that leaves a strip of every
/// fifth park outside.
fn write_redlines(
    index: usize,
    park: &ParkLayout,
    code: &str,
    ecology: &mut ShapeWriter,
    farmland: &mut ShapeWriter,
    boundary: &mut ShapeWriter,
) -> anyhow::Result<()> {
    let b = park.boundary.bounding_rect().expect("non-empty park");
    let (x0, y0, x1, y1) = (b.min().x, b.min().y, b.max().x, b.max().y);
    let col = park.blocks[1].rect;
    if index.is_multiple_of(3) {
        let corridor = rect(
            col.min().x + 40.0,
            y0 - 900.0,
            col.min().x + 220.0,
            y0 + 480.0,
        );
        ecology.write(
            &Geometry::Polygon(corridor),
            &[
                format!("STHX-{code}").into(),
                "沱江湿地生态保护红线".into(),
                "生态保护红线".into(),
            ],
        )?;
    }
    if index % 3 == 2 || (index % 3 == 1 && index > 2) {
        let patch = rect(x1 - 60.0, y0 + 300.0, x1 + 700.0, y0 + 950.0);
        farmland.write(
            &Geometry::Polygon(patch),
            &[
                format!("JBNT-{code}").into(),
                "永久基本农田保护图斑".into(),
                "永久基本农田".into(),
            ],
        )?;
    }
    let mut area = MultiPolygon(vec![rect(x0 - 200.0, y0 - 200.0, x1 + 200.0, y1 + 200.0)]);
    if index % 5 == 1 {
        let strip = rect(x0 - 400.0, y0 + 600.0, x0 + 150.0, y0 + 1400.0);
        area = area.difference(&strip);
    }
    boundary.write(
        &Geometry::MultiPolygon(area),
        &[
            format!("KFBJ-{code}").into(),
            "城镇开发边界".into(),
            "城镇开发边界".into(),
        ],
    )?;
    Ok(())
}
