//! A contact sheet: many screenshots shrunk and laid out in a grid in one PNG, so a reviewer
//! sees every screen, width and theme at a glance.

use crate::webdriver::Rgb;

const GAP: usize = 12;
const BACKGROUND: u8 = 0x80;

/// `shot` shrunk `factor` times, each pixel the mean of the `factor` × `factor` it covers.
pub fn shrink(shot: &Rgb, factor: usize) -> Rgb {
    let (width, height) = (shot.width / factor, shot.height / factor);
    let mut pixels = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let mut sum = [0usize; 3];
            for dy in 0..factor {
                let row = (y * factor + dy) * shot.width;
                for dx in 0..factor {
                    let at = 3 * (row + x * factor + dx);
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += shot.pixels[at + c] as usize;
                    }
                }
            }
            pixels.extend(sum.map(|s| (s / (factor * factor)) as u8));
        }
    }
    Rgb {
        width,
        height,
        pixels,
    }
}

/// The images in a grid, one row per inner list, each column as wide as its widest image.
pub fn grid(rows: &[Vec<Rgb>]) -> Rgb {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|i| i.width)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let heights: Vec<usize> = rows
        .iter()
        .map(|r| r.iter().map(|i| i.height).max().unwrap_or(0))
        .collect();
    let width = GAP + widths.iter().map(|w| w + GAP).sum::<usize>();
    let height = GAP + heights.iter().map(|h| h + GAP).sum::<usize>();
    let mut sheet = Rgb {
        width,
        height,
        pixels: vec![BACKGROUND; width * height * 3],
    };
    let mut top = GAP;
    for (row, h) in rows.iter().zip(&heights) {
        let mut left = GAP;
        for (image, w) in row.iter().zip(&widths) {
            for y in 0..image.height {
                let to = 3 * ((top + y) * width + left);
                let from = 3 * y * image.width;
                sheet.pixels[to..to + 3 * image.width]
                    .copy_from_slice(&image.pixels[from..from + 3 * image.width]);
            }
            left += w + GAP;
        }
        top += h + GAP;
    }
    sheet
}
