//! What a screenshot shows of one element, for tests that must see rather than read the DOM:
//! its pixels cut from the screen, how much sharp detail they hold (legible glyphs are strokes
//! with sharp edges; a blurred text has next to none, and there is no OCR here to ask), and
//! how far two such crops differ.

use crate::webdriver::Rgb;

/// A rectangle of the screen, in pixels.
#[derive(Clone, Copy, Debug)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

/// Luminance (0–255) of the pixels in `r`, row by row; `r` is clipped to the screen.
pub fn gray(img: &Rgb, r: Rect) -> Vec<Vec<f64>> {
    let (x1, y1) = (
        (r.x + r.width).min(img.width),
        (r.y + r.height).min(img.height),
    );
    (r.y..y1)
        .map(|y| {
            (r.x..x1)
                .map(|x| {
                    let p = &img.pixels[3 * (y * img.width + x)..][..3];
                    0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
                })
                .collect()
        })
        .collect()
}

/// A step in luminance between neighbours this large is an edge of a glyph's stroke: dark
/// text on a light panel steps by well over 100, a 9-pixel blur by a few units.
const SHARP_STEP: f64 = 60.0;

/// Pairs of neighbouring pixels (across or down) whose luminance steps by more than
/// `SHARP_STEP`.
pub fn sharp_edges(g: &[Vec<f64>]) -> usize {
    let mut n = 0;
    for (y, row) in g.iter().enumerate() {
        for (x, v) in row.iter().enumerate() {
            let right = row.get(x + 1);
            let below = g.get(y + 1).and_then(|r| r.get(x));
            n += [right, below]
                .into_iter()
                .flatten()
                .filter(|w| (*w - v).abs() > SHARP_STEP)
                .count();
        }
    }
    n
}

/// Mean absolute difference of two crops (0–255) over the part both cover.
pub fn mean_difference(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for (ra, rb) in a.iter().zip(b) {
        for (va, vb) in ra.iter().zip(rb) {
            sum += (va - vb).abs();
            n += 1;
        }
    }
    assert!(n > 0, "the crops do not overlap");
    sum / n as f64
}
