//! Antialiased PNGs. plotters' bitmap backend fills polygons, and so every line wider than one
//! pixel, without antialiasing: a 2 px KDE curve comes out as a staircase. So the PNG is drawn
//! [`SUPERSAMPLE`] times larger through [`Supersampled`], a backend that scales every
//! coordinate, line width, radius and font size of the figure's drawing calls (the figure code
//! and its layout, which is measured at final size, stay the same as the SVG's), and the large
//! image is reduced by averaging each `SUPERSAMPLE × SUPERSAMPLE` block ([`downsample_box`]):
//! an edge pixel half covered by a line gets the half-way colour.

use plotters::style::{FontDesc, TextStyle};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// Linear supersampling factor of PNG figures: 2 gives five levels of edge coverage per
/// pixel, enough for smooth curves, at four times the pixels (a 3× image costs nine times
/// the memory and rendering time for an edge quality a reader hardly distinguishes).
pub const SUPERSAMPLE: u32 = 2;

/// Reduces an RGB image of `(width · factor) × (height · factor)` pixels (row-major, 3 bytes a
/// pixel) to `width × height` by averaging each `factor × factor` block per channel, rounding
/// half up. `None` if `rgb` has not exactly that many bytes or `factor` is 0.
///
/// # Example
/// ```
/// use trellis_samplers::plots::raster::downsample_box;
///
/// // One 2×2 block: three white pixels and one black one average to 191.25 → 191.
/// let big = [255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0];
/// assert_eq!(downsample_box(&big, 1, 1, 2), Some(vec![191, 191, 191]));
/// ```
pub fn downsample_box(rgb: &[u8], width: usize, height: usize, factor: usize) -> Option<Vec<u8>> {
    let big_width = width.checked_mul(factor)?;
    let expected = big_width
        .checked_mul(height.checked_mul(factor)?)?
        .checked_mul(3)?;
    if factor == 0 || rgb.len() != expected {
        return None;
    }
    let cells = (factor * factor) as u32;
    let mut out = vec![0u8; width * height * 3];
    if factor == 2 {
        // The figures' factor ([`SUPERSAMPLE`]) in a loop of its own, without the general
        // loop's per-pixel chunking (that loop was about a tenth of the time after a fit's
        // last draw): the same sums and rounding, so the same bytes.
        let rows = rgb.chunks_exact(2 * big_width * 3);
        for (pair, out_row) in rows.zip(out.chunks_exact_mut(width * 3)) {
            let (top, bottom) = pair.split_at(big_width * 3);
            let blocks = top.chunks_exact(6).zip(bottom.chunks_exact(6));
            for ((t, b), o) in blocks.zip(out_row.chunks_exact_mut(3)) {
                for c in 0..3 {
                    let sum = u16::from(t[c]) + u16::from(t[c + 3]) + u16::from(b[c]);
                    o[c] = ((sum + u16::from(b[c + 3]) + 2) / 4) as u8;
                }
            }
        }
        return Some(out);
    }
    let mut sums = vec![0u32; width * 3];
    for y in 0..height {
        sums.iter_mut().for_each(|s| *s = 0);
        for row in rgb[y * factor * big_width * 3..]
            .chunks_exact(big_width * 3)
            .take(factor)
        {
            for (x, block) in row.chunks_exact(factor * 3).enumerate() {
                for pixel in block.chunks_exact(3) {
                    for c in 0..3 {
                        sums[x * 3 + c] += u32::from(pixel[c]);
                    }
                }
            }
        }
        for (o, &s) in out[y * width * 3..(y + 1) * width * 3]
            .iter_mut()
            .zip(&sums)
        {
            // At most 255, since the sum of `cells` bytes is at most 255 · cells.
            *o = ((s + cells / 2) / cells) as u8;
        }
    }
    Some(out)
}

/// A drawing backend that forwards every drawing call to `inner` scaled by an integer
/// `factor`, while reporting the unscaled size: the figure is laid out at its final size and
/// drawn at `factor` times the resolution. Text is measured at the final size too (the
/// default [`DrawingBackend::estimate_text_size`] asks the style, which is unscaled), so the
/// layout equals the SVG's.
///
/// A logical pixel `p` covers the inner pixels `factor · p ..= factor · p + factor − 1`; lines,
/// paths, circles and polygons go through the centre of that block, rectangles cover whole
/// blocks so that adjacent bands still tile without seams.
pub struct Supersampled<DB: DrawingBackend> {
    inner: DB,
    factor: i32,
}

impl<DB: DrawingBackend> Supersampled<DB> {
    /// Wraps `inner`, whose size must be `factor` times the figure's (a `factor` of 0 is
    /// taken as 1).
    pub fn new(inner: DB, factor: u32) -> Self {
        Supersampled {
            inner,
            factor: factor.max(1) as i32,
        }
    }

    /// The inner pixel at the centre of logical pixel `p`'s block.
    fn centre(&self, p: BackendCoord) -> BackendCoord {
        (
            p.0 * self.factor + self.factor / 2,
            p.1 * self.factor + self.factor / 2,
        )
    }

    /// Every point of `points` at its pixel centre in the large image.
    fn centred(&self, points: impl IntoIterator<Item = BackendCoord>) -> Vec<BackendCoord> {
        points.into_iter().map(|p| self.centre(p)).collect()
    }

    /// `style` with its stroke width scaled.
    fn scaled<S: BackendStyle>(&self, style: &S) -> ScaledStyle {
        ScaledStyle {
            color: style.color(),
            width: style.stroke_width() * self.factor as u32,
        }
    }

    /// Fills the inner pixels of the logical rectangle `ul ..= br`.
    fn fill_blocks(
        &mut self,
        ul: BackendCoord,
        br: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let k = self.factor;
        let (x0, x1) = (ul.0.min(br.0), ul.0.max(br.0));
        let (y0, y1) = (ul.1.min(br.1), ul.1.max(br.1));
        self.inner.draw_rect(
            (x0 * k, y0 * k),
            (x1 * k + k - 1, y1 * k + k - 1),
            &ScaledStyle { color, width: 1 },
            true,
        )
    }
}

/// A plain colour-and-width style (what [`Supersampled`] passes to the inner backend).
#[derive(Clone, Copy)]
struct ScaledStyle {
    color: BackendColor,
    width: u32,
}

impl BackendStyle for ScaledStyle {
    fn color(&self) -> BackendColor {
        self.color
    }

    fn stroke_width(&self) -> u32 {
        self.width
    }
}

impl<DB: DrawingBackend> DrawingBackend for Supersampled<DB> {
    type ErrorType = DB::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        let (w, h) = self.inner.get_size();
        let k = self.factor as u32;
        (w / k, h / k)
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.fill_blocks(point, point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let (from, to, style) = (self.centre(from), self.centre(to), self.scaled(style));
        if from == to {
            // A zero-length line is a dot, which the polygon path below would drop.
            let r = (style.width / 2) as i32;
            return self.inner.draw_rect(
                (from.0 - r, from.1 - r),
                (from.0 + r, from.1 + r),
                &style,
                true,
            );
        }
        self.inner.draw_line(from, to, &style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if fill {
            return self.fill_blocks(upper_left, bottom_right, style.color());
        }
        // An outline is four lines of the style's width, as in plotters' own rasteriser.
        let (x0, y0) = upper_left;
        let (x1, y1) = bottom_right;
        for (a, b) in [
            ((x0, y0), (x1, y0)),
            ((x1, y0), (x1, y1)),
            ((x1, y1), (x0, y1)),
            ((x0, y1), (x0, y0)),
        ] {
            self.draw_line(a, b, style)?;
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner
            .draw_path(self.centred(path), &self.scaled(style))
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let (center, style) = (self.centre(center), self.scaled(style));
        self.inner
            .draw_circle(center, radius * self.factor as u32, &style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner
            .fill_polygon(self.centred(vert), &self.scaled(style))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        // The same font at `factor` times the size, anchored at the scaled position: glyph
        // offsets from the anchor scale with the font, so the text lands where it was laid out.
        let font = FontDesc::new(
            style.family(),
            style.size() * f64::from(self.factor),
            style.style(),
        )
        .transform(style.transform());
        let scaled = TextStyle {
            font,
            color: style.color(),
            pos: style.anchor(),
        };
        let k = self.factor;
        self.inner.draw_text(text, &scaled, (pos.0 * k, pos.1 * k))
    }
}
