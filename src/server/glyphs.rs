//! Map label glyphs (地图注记字形): the signed-distance-field glyph ranges MapLibre asks for
//! at `/fonts/{fontstack}/{start}-{end}.pbf`, rendered from the CJK font the machine has
//! (Debian's fonts-wqy-microhei, which scripts/setup installs), so that park names and
//! parcel ids are labelled in Chinese without any font server on the internet.
//!
//! Each range of 256 code points is rendered once, on first request, and kept. The format is
//! the one `fontnik` writes (glyphs.proto): per glyph a 24 px SDF bitmap with a 3 px border,
//! its metrics, and an 8-bit distance where 192 marks the outline.

use super::error::{ApiError, ApiResult};
use super::params::Path;
use crate::report::mvt::{bytes_field, key, varint, zigzag};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The font files tried, in order.
const FONT_FILES: [&str; 2] = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
];
/// The name the style asks for (`text-font`).
pub const FONT_NAME: &str = "WenQuanYi Micro Hei";
/// MapLibre's glyph size, border and SDF radius.
const SIZE: f32 = 24.0;
const BORDER: i32 = 3;
const RADIUS: f32 = 8.0;
const CUTOFF: f32 = 0.25;

struct Glyphs {
    font: fontdue::Font,
    ranges: Mutex<HashMap<u32, Arc<Vec<u8>>>>,
}

fn glyphs() -> Result<&'static Glyphs, String> {
    static GLYPHS: OnceLock<Result<Glyphs, String>> = OnceLock::new();
    GLYPHS
        .get_or_init(|| {
            let path = FONT_FILES
                .iter()
                .find(|p| std::path::Path::new(p).exists())
                .ok_or_else(|| {
                    format!(
                        "no CJK font for map labels ({}): run scripts/setup, which installs fonts-wqy-microhei",
                        FONT_FILES.join(", ")
                    )
                })?;
            let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            let font = fontdue::Font::from_bytes(bytes, fontdue::FontSettings::default())
                .map_err(|e| format!("{path}: {e}"))?;
            Ok(Glyphs {
                font,
                ranges: Mutex::new(HashMap::new()),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Squared distances to the nearest zero of `f` along a line (Felzenszwalb & Huttenlocher's
/// lower envelope of parabolas), in place.
fn edt_line(f: &mut [f64]) {
    let n = f.len();
    let (mut v, mut z) = (vec![0usize; n], vec![0f64; n + 1]);
    let src = f.to_vec();
    let mut k = 0usize;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    let sq = |q: usize| (q * q) as f64;
    for q in 1..n {
        let mut s;
        loop {
            let p = v[k];
            s = ((src[q] + sq(q)) - (src[p] + sq(p))) / (2.0 * (q as f64 - p as f64));
            // z[0] is −∞: the loop stops at k = 0 at the latest.
            if s <= z[k] {
                k -= 1;
            } else {
                break;
            }
        }
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f64::INFINITY;
    }
    k = 0;
    for (q, out) in f.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let d = q as f64 - v[k] as f64;
        *out = d * d + src[v[k]];
    }
}

/// Squared distance from every pixel of a `w` × `h` grid to the nearest `target` pixel.
fn edt(target: &[bool], w: usize, h: usize) -> Vec<f64> {
    const FAR: f64 = 1e12;
    let mut d: Vec<f64> = target.iter().map(|&t| if t { 0.0 } else { FAR }).collect();
    let mut column = vec![0f64; h];
    for x in 0..w {
        for y in 0..h {
            column[y] = d[y * w + x];
        }
        edt_line(&mut column);
        for y in 0..h {
            d[y * w + x] = column[y];
        }
    }
    for row in d.chunks_mut(w) {
        edt_line(row);
    }
    d
}

/// The signed distance field of a coverage bitmap (`w` × `h`, 0–255), with a border of
/// [`BORDER`] pixels: 255 deep inside, 192 on the outline, falling to 0 [`RADIUS`] outside.
fn sdf(coverage: &[u8], w: usize, h: usize) -> (Vec<u8>, usize, usize) {
    let b = BORDER as usize;
    let (ow, oh) = (w + 2 * b, h + 2 * b);
    let mut inside = vec![false; ow * oh];
    for y in 0..h {
        for x in 0..w {
            inside[(y + b) * ow + x + b] = coverage[y * w + x] >= 128;
        }
    }
    let outside: Vec<bool> = inside.iter().map(|i| !i).collect();
    // Each pixel's distance to the nearest pixel of the other kind.
    let to_inside = edt(&inside, ow, oh);
    let to_outside = edt(&outside, ow, oh);
    let out = (0..ow * oh)
        .map(|i| {
            let (me, other) = if inside[i] {
                (-1.0, to_outside[i])
            } else {
                (1.0, to_inside[i])
            };
            let edge = (other.sqrt() as f32).min(RADIUS + 1.0) - 0.5;
            let edge = edge.max(0.0);
            let v = 255.0 - 255.0 * (me * edge / RADIUS + CUTOFF);
            v.clamp(0.0, 255.0) as u8
        })
        .collect();
    (out, ow, oh)
}

/// One glyph message (glyphs.proto `glyph`).
fn glyph_message(font: &fontdue::Font, id: u32) -> Option<Vec<u8>> {
    let c = char::from_u32(id)?;
    if font.lookup_glyph_index(c) == 0 && !c.is_whitespace() {
        return None;
    }
    let (m, coverage) = font.rasterize(c, SIZE);
    let mut g = vec![];
    key(&mut g, 1, 0);
    varint(&mut g, u64::from(id));
    if m.width > 0 && m.height > 0 {
        let (bitmap, _, _) = sdf(&coverage, m.width, m.height);
        bytes_field(&mut g, 2, &bitmap);
    }
    for (field, v) in [(3, m.width as u64), (4, m.height as u64)] {
        key(&mut g, field, 0);
        varint(&mut g, v);
    }
    let top = m.ymin + m.height as i32;
    for (field, v) in [(5, m.xmin), (6, top)] {
        key(&mut g, field, 0);
        varint(&mut g, u64::from(zigzag(v)));
    }
    key(&mut g, 7, 0);
    varint(&mut g, m.advance_width.round().max(0.0) as u64);
    Some(g)
}

/// The glyphs.proto message of the range starting at `start` (a multiple of 256).
fn range_pbf(g: &Glyphs, stack: &str, start: u32) -> Vec<u8> {
    let end = start + 255;
    let mut stack_msg = vec![];
    bytes_field(&mut stack_msg, 1, stack.as_bytes());
    bytes_field(&mut stack_msg, 2, format!("{start}-{end}").as_bytes());
    for id in start..=end {
        if let Some(glyph) = glyph_message(&g.font, id) {
            bytes_field(&mut stack_msg, 3, &glyph);
        }
    }
    let mut out = vec![];
    bytes_field(&mut out, 1, &stack_msg);
    out
}

/// `/fonts/{fontstack}/{range}.pbf`: any font stack is drawn with the machine's CJK font.
pub async fn range(Path((stack, file)): Path<(String, String)>) -> ApiResult<Response> {
    let bad = || {
        ApiError::not_found(format!(
            "glyphs are at /fonts/{{fontstack}}/{{start}}-{{end}}.pbf, a range of 256 code points starting at a multiple of 256 (e.g. /fonts/{FONT_NAME}/19968-20223.pbf); not '{file}'"
        ))
    };
    let (a, b) = file
        .strip_suffix(".pbf")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let (start, end): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if start % 256 != 0 || end != start + 255 || end > 0xFFFF {
        return Err(bad());
    }
    let g = glyphs().map_err(ApiError::not_found)?;
    let cached = g.ranges.lock().expect("glyph cache").get(&start).cloned();
    let body = match cached {
        Some(b) => b,
        None => {
            let made = tokio::task::spawn_blocking(move || range_pbf(g, &stack, start))
                .await
                .map_err(|e| ApiError::internal(format!("glyphs failed: {e}")))?;
            let made = Arc::new(made);
            g.ranges
                .lock()
                .expect("glyph cache")
                .insert(start, Arc::clone(&made));
            made
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-protobuf"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body.as_ref().clone(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_field_by_hand() {
        // A 4 × 4 filled square: deep inside is bright, the outline sits near 192, the
        // border fades out.
        let (d, w, h) = sdf(&[255; 16], 4, 4);
        assert_eq!((w, h), (10, 10));
        let at = |x: usize, y: usize| d[y * w + x];
        // Centre of the square, 2 px from the nearest outside pixel: 255 − 255·(−1.5/8 + ¼).
        assert_eq!(at(5, 5), (255.0 - 255.0 * (-1.5 / 8.0 + 0.25)) as u8);
        // The first pixel outside, half a pixel from the outline: just under 192.
        assert_eq!(at(2, 5), (255.0 - 255.0 * (0.5 / 8.0 + 0.25)) as u8);
        assert!(at(0, 0) < at(2, 5));
    }

    #[test]
    fn ranges_hold_chinese_and_latin_glyphs() {
        let Ok(g) = glyphs() else {
            panic!("fonts-wqy-microhei is missing: run scripts/setup");
        };
        // 园 is U+56ED, in the range 22272–22527.
        let pbf = range_pbf(g, FONT_NAME, 22272);
        assert!(pbf.len() > 10_000, "{}", pbf.len());
        let yuan = glyph_message(&g.font, 0x56ED).unwrap();
        let digit = glyph_message(&g.font, '7' as u32).unwrap();
        assert!(yuan.len() > digit.len());
        // Its id comes first: field 1, varint 0x56ED.
        assert_eq!(&yuan[..4], &[0x08, 0xED, 0xAD, 0x01]);
    }
}
