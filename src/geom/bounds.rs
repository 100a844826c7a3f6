//! Bounding boxes (外包矩形) grown to hold more.

use geo::Rect;

/// The smallest box holding both.
pub fn cover(a: Rect, b: Rect) -> Rect {
    Rect::new(
        (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
        (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
    )
}

/// The smallest box holding them all; none for none.
pub fn cover_all(boxes: impl IntoIterator<Item = Rect>) -> Option<Rect> {
    boxes.into_iter().reduce(cover)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_cover_each_other() {
        let a = Rect::new((0.0, 0.0), (1.0, 1.0));
        let b = Rect::new((2.0, -1.0), (3.0, 0.5));
        assert_eq!(cover(a, b), Rect::new((0.0, -1.0), (3.0, 1.0)));
        assert_eq!(cover_all([a, b]), Some(cover(b, a)));
        assert_eq!(cover_all([]), None);
    }
}
