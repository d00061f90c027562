//! The ratio chart, as a standalone SVG written by hand: the chart's
//! layout is the report's own (no plotting crate draws this one).

use std::fmt::Write as _;

use super::{Line, NOISE, Runs, lines};

/// The chart's colours: warden ÷ fastest peer, warden ÷ tokio.
pub const BAR_COLOURS: [&str; 2] = ["#0072b2", "#e69f00"];
/// Darker shades of [`BAR_COLOURS`] for text on white.
const TEXT_COLOURS: [&str; 2] = ["#0072b2", "#9a5b00"];
/// The noise band the chart shades.
pub const NOISE_BAND: (f64, f64) = (0.85, NOISE);

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The 1-2-5 ticks of a log axis, from 0.01 to 100.
const TICKS: [f64; 13] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
];

/// The chart's geometry: a label column, the plot, two value columns.
struct Chart {
    /// The axis's ends (ticks).
    lo: f64,
    hi: f64,
    /// The plot's left and right edges.
    x0: f64,
    x1: f64,
    width: f64,
    /// The first row's top, the plot's height.
    top: f64,
    plot_h: f64,
}

impl Chart {
    const PITCH: f64 = 24.0;
    const BAR: f64 = 8.0;
    /// The value columns' right edges, after the plot.
    const COLUMNS: [f64; 2] = [68.0, 122.0];
    const GREY: &str = "#57606a";

    #[allow(clippy::cast_precision_loss)] // a few dozen rows
    fn new(lines: &[Line]) -> Chart {
        let ratios = lines
            .iter()
            .flat_map(|l| [l.best.as_ref().map(|b| b.2), l.tokio])
            .flatten();
        let (lo, hi) = ratios.fold((0.5_f64, 2.0_f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
        let (label_w, plot_w, value_w) = (250.0, 440.0, 130.0);
        Chart {
            lo: TICKS
                .iter()
                .rev()
                .copied()
                .find(|&t| t <= lo)
                .unwrap_or(TICKS[0]),
            hi: TICKS
                .iter()
                .copied()
                .find(|&t| t >= hi)
                .unwrap_or(TICKS[12]),
            x0: label_w,
            x1: label_w + plot_w,
            width: label_w + plot_w + value_w,
            top: 84.0,
            plot_h: Chart::PITCH * lines.len() as f64,
        }
    }

    fn height(&self) -> f64 {
        self.top + self.plot_h + 58.0
    }

    /// The x of a ratio (log scale, clamped to the axis).
    fn x(&self, r: f64) -> f64 {
        let (lo, hi) = (self.lo, self.hi);
        self.x0 + (r.clamp(lo, hi) / lo).ln() / (hi / lo).ln() * (self.x1 - self.x0)
    }

    /// Background, title, legend, column headings.
    fn head(&self, s: &mut String, title: &str) {
        let (width, height, x0, x1) = (self.width, self.height(), self.x0, self.x1);
        let _ = writeln!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" fill="#1f2328">"##
        );
        let _ = writeln!(s, "  <title>{}</title>", xml(title));
        let _ = writeln!(
            s,
            "  <desc>warden's median time divided by the fastest async peer's and by tokio's, \
             per benchmark, on a log axis; bars start at 1.0, left of it warden is faster. The \
             grey band {}-{} is noise on a shared 2-core machine.</desc>",
            NOISE_BAND.0, NOISE_BAND.1
        );
        let _ = writeln!(
            s,
            r##"  <rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##
        );
        let _ = writeln!(
            s,
            r#"  <text x="{x0}" y="22" font-size="14" font-weight="bold">{}</text>"#,
            xml(title)
        );
        let whats = ["warden ÷ fastest async peer", "warden ÷ tokio"];
        for ((colour, what), lx) in BAR_COLOURS.iter().zip(whats).zip([x0, x0 + 230.0]) {
            let _ = writeln!(
                s,
                r#"  <rect x="{lx}" y="34" width="14" height="{}" fill="{colour}"/><text x="{}" y="42">{what}</text>"#,
                Chart::BAR,
                lx + 20.0
            );
        }
        for (column, what) in Chart::COLUMNS.iter().zip(["÷ fastest", "÷ tokio"]) {
            let _ = writeln!(
                s,
                r#"  <text x="{}" y="{}" text-anchor="end" fill="{}" font-weight="bold">{what}</text>"#,
                x1 + column,
                self.top - 26.0,
                Chart::GREY
            );
        }
    }

    /// Row stripes, the noise band, the grid with its tick labels, the
    /// line at 1.0.
    fn grid(&self, s: &mut String, rows: usize) {
        let (top, plot_h) = (self.top, self.plot_h);
        let mut y = top;
        for _ in (0..rows).step_by(2) {
            let _ = writeln!(
                s,
                r##"  <rect x="0" y="{y}" width="{}" height="{}" fill="#f4f5f7"/>"##,
                self.width,
                Chart::PITCH
            );
            y += 2.0 * Chart::PITCH;
        }
        let (n0, n1) = (self.x(NOISE_BAND.0), self.x(NOISE_BAND.1));
        let _ = writeln!(
            s,
            r##"  <rect class="noise" x="{n0:.1}" y="{top}" width="{:.1}" height="{plot_h}" fill="#9ca3af" fill-opacity="0.35"><title>noise: {}-{}</title></rect>"##,
            n1 - n0,
            NOISE_BAND.0,
            NOISE_BAND.1
        );
        for &t in TICKS.iter().filter(|&&t| t >= self.lo && t <= self.hi) {
            let tx = self.x(t);
            let (stroke, w) = if (t - 1.0).abs() < f64::EPSILON {
                ("#1f2328", 1.5)
            } else {
                ("#d0d7de", 1.0)
            };
            let _ = writeln!(
                s,
                r#"  <line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{}" stroke="{stroke}" stroke-width="{w}"/>"#,
                top - 4.0,
                top + plot_h + 4.0
            );
            for ty in [top - 8.0, top + plot_h + 18.0] {
                let _ = writeln!(
                    s,
                    r#"  <text x="{tx:.1}" y="{ty}" text-anchor="middle" fill="{}">{t}</text>"#,
                    Chart::GREY
                );
            }
        }
    }

    /// One benchmark: its label, a bar per ratio, the ratios in figures.
    fn row(&self, s: &mut String, y: f64, line: &Line) {
        let _ = writeln!(
            s,
            r#"  <text x="{}" y="{}" text-anchor="end" font-family="monospace" font-size="11">{}</text>"#,
            self.x0 - 10.0,
            y + 16.0,
            xml(&line.label)
        );
        let one = self.x(1.0);
        let ratios = [
            line.best.as_ref().map(|b| (b.2, b.0.as_str())),
            line.tokio.map(|r| (r, "tokio")),
        ];
        for (k, ratio) in ratios.into_iter().enumerate() {
            let Some((r, peer)) = ratio else { continue };
            let by = y + 4.0 + if k == 0 { 0.0 } else { Chart::BAR + 1.0 };
            let (bx, bw) = if r < 1.0 {
                (self.x(r), one - self.x(r))
            } else {
                (one, self.x(r) - one)
            };
            let _ = writeln!(
                s,
                r#"  <rect class="bar" x="{bx:.1}" y="{by}" width="{:.1}" height="{}" fill="{}"><title>{}: warden ÷ {} = {r:.2}</title></rect>"#,
                bw.max(1.0),
                Chart::BAR,
                BAR_COLOURS[k],
                xml(&line.label),
                xml(peer)
            );
            let _ = writeln!(
                s,
                r#"  <text x="{}" y="{}" text-anchor="end" fill="{}">{r:.2}</text>"#,
                self.x1 + Chart::COLUMNS[k],
                y + 16.0,
                TEXT_COLOURS[k]
            );
        }
    }
}

/// The ratio chart as a standalone SVG: per benchmark with an async peer,
/// a bar for warden ÷ the fastest peer and one for warden ÷ tokio, on a
/// log axis, each starting at 1.0 (left: warden faster), with the noise
/// band shaded. White background and explicit colours, so it reads the
/// same in light and dark themes.
pub fn svg(runs: &Runs, title: &str) -> String {
    let lines: Vec<Line> = lines(runs)
        .into_iter()
        .filter(|l| l.best.is_some() || l.tokio.is_some())
        .collect();
    let chart = Chart::new(&lines);
    let mut s = String::new();
    chart.head(&mut s, title);
    chart.grid(&mut s, lines.len());
    let mut y = chart.top;
    for line in &lines {
        chart.row(&mut s, y, line);
        y += Chart::PITCH;
    }
    let _ = writeln!(
        s,
        r#"  <text x="{}" y="{}" fill="{}">log scale; bars start at 1.0: left, warden is faster; grey band {}-{}: noise</text>"#,
        chart.x0,
        y + 40.0,
        Chart::GREY,
        NOISE_BAND.0,
        NOISE_BAND.1
    );
    s.push_str("</svg>\n");
    s
}
