//! GeoPackage geometry blobs: the `GP` header with SRS id and envelope, then ISO WKB.

use crate::geom::wkb;
use geo::{BoundingRect, Geometry, Rect};

/// Encode a geometry as a GeoPackage blob with an XY envelope.
pub fn encode(g: &Geometry, srs_id: i32, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(b"GP");
    out.push(0); // version 1
    let envelope = g.bounding_rect();
    // Little-endian header; envelope indicator 1 ([minx, maxx, miny, maxy]) or 0 when empty.
    let flags: u8 = if envelope.is_some() {
        0b0000_0011
    } else {
        0b0001_0001
    };
    out.push(flags);
    out.extend_from_slice(&srs_id.to_le_bytes());
    if let Some(r) = envelope {
        for v in [r.min().x, r.max().x, r.min().y, r.max().y] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    wkb::write(out, g);
}

/// A blob that is not a GeoPackage geometry.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// Missing `GP` magic or a truncated header.
    #[error("not a GeoPackage geometry blob")]
    Header,
    /// The WKB after the header is unreadable.
    #[error(transparent)]
    Wkb(#[from] wkb::WkbError),
}

/// The header envelope of a blob, when it has one (cheap: no WKB parsing).
pub fn envelope(blob: &[u8]) -> Option<Rect> {
    let (_, env) = header(blob).ok()?;
    env
}

fn header(blob: &[u8]) -> Result<(usize, Option<Rect>), BlobError> {
    if blob.len() < 8 || &blob[0..2] != b"GP" {
        return Err(BlobError::Header);
    }
    let flags = blob[3];
    let le = flags & 1 == 1;
    let env_doubles = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 4,
        2 | 3 => 6,
        4 => 8,
        _ => return Err(BlobError::Header),
    };
    let start = 8 + env_doubles * 8;
    if blob.len() < start {
        return Err(BlobError::Header);
    }
    let d = |i: usize| {
        let b: [u8; 8] = blob[8 + i * 8..16 + i * 8].try_into().expect("8 bytes");
        if le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        }
    };
    let env = (env_doubles >= 4).then(|| Rect::new((d(0), d(2)), (d(1), d(3))));
    Ok((start, env))
}

/// Decode a GeoPackage blob into a geometry.
pub fn decode(blob: &[u8]) -> Result<Geometry, BlobError> {
    let (start, _) = header(blob)?;
    Ok(wkb::read(&blob[start..])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::wkt;

    #[test]
    fn round_trip_with_envelope() {
        let g: Geometry = wkt! { POLYGON((104.6 30.1,104.7 30.1,104.7 30.2,104.6 30.1)) }.into();
        let mut b = vec![];
        encode(&g, 4490, &mut b);
        assert_eq!(&b[0..2], b"GP");
        assert_eq!(i32::from_le_bytes(b[4..8].try_into().unwrap()), 4490);
        assert_eq!(decode(&b).unwrap(), g);
        let e = envelope(&b).unwrap();
        assert_eq!((e.min().x, e.max().y), (104.6, 30.2));
        assert!(decode(b"XX").is_err());
    }
}
