//! SVG charts for the simulation report: latency CDFs, deliveries over time with the faults
//! drawn in, and bar charts of labelled values.
//!
//! The report is read in a browser or on a forge, so every chart is one self-contained
//! 900×540 SVG file (no fonts, scripts or images fetched from elsewhere). The data comes from
//! runs that can go wrong in every way a chart has to survive: a scenario with no traffic, a
//! single document, a division by zero upstream (NaN, ∞), or millions of latencies. None of
//! that panics here: non-finite values are dropped, flat data gets an axis with a non-zero
//! range, empty charts say "no data", and CDFs are thinned to a few hundred points so the file
//! stays small.
//!
//! Without plotters' `ttf` feature text sizes are estimated from the byte length of the text,
//! not measured, so Vietnamese labels (two or three bytes per letter) get legend boxes a little
//! wider than needed; the text itself is written to the SVG as UTF-8 and laid out by the
//! viewer.

use std::ops::Range;
use std::path::Path;

use anyhow::Context as _;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Size of every chart, in pixels: readable on a laptop screen without scaling, and the same
/// for all charts so they line up in the report.
const SIZE: (u32, u32) = (900, 540);

/// At most this many points per CDF line: more cannot be told apart at 900 px and only make
/// the SVG heavy (a national run has millions of documents).
const MAX_CDF_POINTS: usize = 500;

/// Shown in place of a chart's data when there is nothing to draw, so an empty run still
/// produces a readable file instead of an error.
const NO_DATA: &str = "no data";

/// Smallest axis width (and, inverted, largest log-axis decade) that plotters' tick algorithms
/// handle: below it their steps reach subnormal numbers and stop shrinking.
const TINY: f64 = 1e-200;

/// Space around the plot, in pixels.
const MARGIN: u32 = 15;
/// More on the right, where the last x tick label is centred on the plot's edge.
const MARGIN_RIGHT: u32 = 40;
/// Room for tick labels and the axis description under the plot and left of it.
const X_LABEL_AREA: u32 = 45;
const Y_LABEL_AREA: u32 = 70;
/// Height of one row of fault labels above a timeline.
const BAND_LABEL_ROW: u32 = 18;
/// Rows of fault labels: enough for overlapping faults, without squashing the plot.
const MAX_BAND_LABEL_ROWS: usize = 3;

/// The backend's error, as wrapped by plotters' drawing areas.
type DrawError = DrawingAreaErrorKind<std::io::Error>;

/// One line on a chart.
///
/// Points are `(x, y)` in the chart's units; the caller decides what they mean (count per
/// bucket, cumulative count, …). Non-finite points are left out when drawing.
#[derive(Debug, Clone)]
pub struct Series {
    /// Shown in the legend; any UTF-8 text.
    pub label: String,
    /// The line's points; they are drawn in order of `x`.
    pub points: Vec<(f64, f64)>,
}

/// A fault drawn as a shaded band from `start_s` to `end_s` (seconds on the x axis) with its
/// label.
///
/// Drawn behind the lines so a dip in deliveries can be read against the fault that caused it.
/// An infinite end means "still going at the end of the chart"; a NaN bound skips the band.
#[derive(Debug, Clone)]
pub struct Band {
    /// Where the fault starts, in seconds since the start of the run.
    pub start_s: f64,
    /// Where the fault is healed, in seconds since the start of the run.
    pub end_s: f64,
    /// Written above the band, in the band's colour.
    pub label: String,
}

/// Latency distribution: for each named sample set (e.g. "receipt 01, federation",
/// "receipt 01, hub"), its empirical CDF (x: latency in `unit`, log scale if the range spans
/// more than two decades, y: share of documents 0..1), with p50/p99 noted in the legend.
///
/// A CDF shows the whole distribution, tail included, and several sets compare on one chart,
/// which a histogram or a pair of percentiles cannot do. Each line is a step function starting
/// at `(min, 0)`, so a set with one sample is a single vertical step. Non-finite samples are
/// dropped; a set left empty stays in the legend marked "no data".
pub fn latency_chart(
    path: &Path,
    title: &str,
    unit: &str,
    samples: &[(String, Vec<f64>)],
) -> anyhow::Result<()> {
    let sets: Vec<Cdf> = samples
        .iter()
        .map(|(name, values)| Cdf::new(name, unit, values))
        .collect();
    let (lo, hi) = finite_bounds(sets.iter().flat_map(|s| [s.min, s.max])).unwrap_or((0.0, 1.0));
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    // Whole decades, so a log axis starts and ends on labelled powers of ten. Only within
    // ±200 decades of 1: past that plotters' log axis computes its tick count as
    // `(end / start).ln()`, which overflows to ∞ and makes it loop (practically) forever.
    let decades = (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil()),
    );
    let drawn = if lo > 0.0 && hi / lo > 100.0 && decades.0 >= TINY && decades.1 <= 1.0 / TINY {
        draw_cdfs(
            &root,
            title,
            unit,
            (decades.0..decades.1).log_scale(),
            &sets,
        )
    } else {
        let mut x = padded_range(lo, hi, 0.05);
        if lo >= 0.0 {
            // Latencies are never negative: do not let the padding suggest they could be.
            x.start = x.start.max(0.0);
        }
        draw_cdfs(&root, title, unit, x, &sets)
    };
    finish(&root, drawn, path)
}

/// Deliveries over time: lines (x: time in seconds since the start, y: count per bucket or
/// cumulative — the caller gives the points), faults as translucent bands with their labels at
/// the top.
///
/// The point is to see what each fault did to the traffic, so the bands span the whole height
/// and their labels sit above the plot, where they cannot hide a line or the legend. The y axis
/// includes zero, since these are counts.
pub fn timeline_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    faults: &[Band],
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    let drawn = draw_timeline(&root, title, x_label, y_label, series, faults);
    finish(&root, drawn, path)
}

/// A bar chart of labelled values (for the README's national-1000 chart, e.g. wall time or
/// memory per phase).
///
/// Each bar carries its value written above it, so the chart can be quoted without reading
/// values off the axis. A non-finite value keeps its place and label, marked "n/a", so a
/// missing measurement is visible rather than silently gone.
pub fn bar_chart(
    path: &Path,
    title: &str,
    y_label: &str,
    bars: &[(String, f64)],
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    let drawn = draw_bars(&root, title, y_label, bars);
    finish(&root, drawn, path)
}

/// Writes the file, and turns plotters' errors into anyhow errors that name the file: plotters'
/// own messages ("No such file or directory") do not say which chart failed.
fn finish(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    drawn: Result<(), DrawError>,
    path: &Path,
) -> anyhow::Result<()> {
    drawn
        .and_then(|()| root.present())
        .map_err(anyhow::Error::new)
        .with_context(|| format!("drawing chart {}", path.display()))
}

/// One sample set, sorted and reduced to what the chart needs.
#[derive(Debug)]
struct Cdf {
    /// Legend text: the set's name with its percentiles.
    legend: String,
    /// `(latency, share)` corners of the step line, at most 2 × [`MAX_CDF_POINTS`].
    points: Vec<(f64, f64)>,
    /// Smallest and largest samples; NaN when the set is empty.
    min: f64,
    max: f64,
}

impl Cdf {
    fn new(name: &str, unit: &str, values: &[f64]) -> Self {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_unstable_by(f64::total_cmp);
        let name = clean(name);
        let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
            return Self {
                legend: format!("{name}: {NO_DATA}"),
                points: Vec::new(),
                min: f64::NAN,
                max: f64::NAN,
            };
        };
        let n = sorted.len();
        let unit = clean(unit);
        let legend = format!(
            "{name}: p50 {} {unit}, p99 {} {unit}, n = {n}",
            format_number(percentile(&sorted, 0.50)),
            format_number(percentile(&sorted, 0.99)),
        );
        let ranks: Vec<usize> = if n <= MAX_CDF_POINTS {
            (0..n).collect()
        } else {
            // Evenly spaced ranks, first and last included, so both tails stay exact.
            let step = (n - 1) as f64 / (MAX_CDF_POINTS - 1) as f64;
            (0..MAX_CDF_POINTS)
                .map(|k| (k as f64 * step).round() as usize)
                .collect()
        };
        // Drawn as steps, as an empirical CDF is: flat until a sample, then up by its share.
        // A straight line between samples would claim documents at latencies never measured.
        let mut points = Vec::with_capacity(2 * ranks.len());
        let mut below = 0.0;
        for i in ranks {
            let share = (i + 1) as f64 / n as f64;
            points.push((sorted[i], below));
            points.push((sorted[i], share));
            below = share;
        }
        Self {
            legend,
            points,
            min,
            max,
        }
    }
}

/// Nearest-rank percentile of sorted, non-empty samples: always a value that was measured.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Draws the CDFs on either a linear or a log x axis; generic because the two are different
/// coordinate types in plotters.
fn draw_cdfs<X>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    unit: &str,
    x: X,
    sets: &[Cdf],
) -> Result<(), DrawError>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let area = titled(root, title)?;
    let mut chart = ChartBuilder::on(&area)
        .margin(MARGIN)
        .margin_right(MARGIN_RIGHT)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc(format!("latency ({})", clean(unit)))
        .y_desc("share of documents")
        .x_label_formatter(&|v| format_number(*v))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .axis_desc_style(axis_font())
        .label_style(label_font())
        .draw()?;
    for (i, set) in sets.iter().enumerate() {
        let colour = series_colour(i);
        let style = colour.stroke_width(2);
        chart
            .draw_series(LineSeries::new(set.points.iter().copied(), style))?
            .label(set.legend.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    }
    if sets.iter().all(|s| s.points.is_empty()) {
        no_data_note(chart.plotting_area().strip_coord_spec())?;
    }
    if !sets.is_empty() {
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    }
    Ok(())
}

fn draw_timeline(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    faults: &[Band],
) -> Result<(), DrawError> {
    let lines: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|s| {
            let mut points: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            (clean(&s.label), points)
        })
        .collect();
    let all_points = || lines.iter().flat_map(|(_, p)| p.iter().copied());
    let band_edges = faults
        .iter()
        .flat_map(|b| [b.start_s, b.end_s])
        .filter(|v| v.is_finite());
    let x = match finite_bounds(all_points().map(|(x, _)| x).chain(band_edges)) {
        // Time since the start: show the start.
        Some((lo, hi)) => padded_range(lo.min(0.0), hi, 0.0),
        None => 0.0..1.0,
    };
    let y = match finite_bounds(all_points().map(|(_, y)| y)) {
        // Counts: keep zero on the axis so heights compare.
        Some((lo, hi)) => {
            let mut y = padded_range(lo.min(0.0), hi.max(0.0), 0.05);
            if lo >= 0.0 {
                y.start = 0.0;
            }
            y
        }
        None => 0.0..1.0,
    };
    let bands: Vec<(Range<f64>, String)> = faults
        .iter()
        .filter(|b| !b.start_s.is_nan() && !b.end_s.is_nan())
        .map(|b| {
            let clamp = |v: f64| v.clamp(x.start, x.end);
            let (a, b_end) = (clamp(b.start_s), clamp(b.end_s));
            (a.min(b_end)..a.max(b_end), clean(&b.label))
        })
        .collect();
    let labels = place_band_labels(root, &x, &bands)?;
    let label_rows = labels.iter().map(|l| l.row + 1).max().unwrap_or(0);

    let area = titled(root, title)?;
    let mut chart = ChartBuilder::on(&area)
        .margin(MARGIN)
        .margin_right(MARGIN_RIGHT)
        .margin_top(MARGIN + BAND_LABEL_ROW * label_rows)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x.clone(), y.clone())?;
    chart
        .configure_mesh()
        .x_desc(clean(x_label))
        .y_desc(clean(y_label))
        .x_label_formatter(&|v| format_number(*v))
        .y_label_formatter(&|v| format_number(*v))
        .axis_desc_style(axis_font())
        .label_style(label_font())
        .draw()?;

    // Bands first, behind the lines.
    for (i, (span, _)) in bands.iter().enumerate() {
        let colour = band_colour(i);
        chart.draw_series([
            Rectangle::new(
                [(span.start, y.start), (span.end, y.end)],
                colour.mix(0.15).filled(),
            ),
            Rectangle::new(
                [(span.start, y.start), (span.end, y.end)],
                colour.mix(0.5).stroke_width(1),
            ),
        ])?;
    }
    for (i, (label, points)) in lines.iter().enumerate() {
        let style = series_colour(i).stroke_width(2);
        let anno = if points.windows(2).all(|w| w[0] == w[1]) {
            // One point (or the same one repeated) makes no line: mark it so it is seen.
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, style.filled())))?
        } else {
            chart.draw_series(LineSeries::new(points.iter().copied(), style))?
        };
        anno.label(label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    }
    if lines.iter().all(|(_, p)| p.is_empty()) {
        no_data_note(chart.plotting_area().strip_coord_spec())?;
    }
    if !lines.is_empty() {
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    }

    // Band labels above the plot, in the band's colour.
    let top = chart.plotting_area().get_pixel_range().1.start;
    for (i, (label, place)) in bands.iter().map(|(_, l)| l).zip(&labels).enumerate() {
        let font = band_label_font(i).pos(Pos::new(HPos::Left, VPos::Bottom));
        let bottom = top - 6 - (BAND_LABEL_ROW * place.row) as i32;
        root.draw(&Text::new(label.as_str(), (place.left, bottom), font))?;
    }
    Ok(())
}

/// Where a fault band's label goes above the plot.
#[derive(Debug)]
struct LabelPlace {
    /// Left end, in pixels.
    left: i32,
    /// 0 is the row nearest the plot.
    row: u32,
}

/// Puts each band label at its band's start, in the first row above the plot where it does
/// not overlap an earlier label (at most [`MAX_BAND_LABEL_ROWS`]; past that, the row that
/// frees up first). Done before the chart is built because the rows decide the top margin;
/// the horizontal pixel positions do not depend on it, so they are computed the way plotters
/// will lay out the plot.
fn place_band_labels(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    x: &Range<f64>,
    bands: &[(Range<f64>, String)],
) -> Result<Vec<LabelPlace>, DrawError> {
    let plot_left = (MARGIN + Y_LABEL_AREA) as f64;
    let plot_right = (SIZE.0 - MARGIN_RIGHT) as f64;
    let width = x.end - x.start;
    let mut order: Vec<usize> = (0..bands.len()).collect();
    order.sort_by(|&a, &b| bands[a].0.start.total_cmp(&bands[b].0.start));
    let mut row_ends: Vec<i32> = Vec::new();
    let mut places: Vec<Option<LabelPlace>> = (0..bands.len()).map(|_| None).collect();
    for i in order {
        let (span, label) = &bands[i];
        let (text_width, _) = root.estimate_text_size(label, &band_label_font(i))?;
        let at = plot_left + (span.start - x.start) / width * (plot_right - plot_left);
        let left = (at.round() as i32)
            .min(SIZE.0 as i32 - text_width as i32 - 5)
            .max(5);
        let free = row_ends.iter().position(|&end| end + 10 <= left);
        let row = match free {
            Some(row) => row,
            None if row_ends.len() < MAX_BAND_LABEL_ROWS => {
                row_ends.push(i32::MIN);
                row_ends.len() - 1
            }
            // Every row taken: the one whose last label ends first.
            None => (0..row_ends.len())
                .min_by_key(|&r| row_ends[r])
                .unwrap_or(0),
        };
        row_ends[row] = left + text_width as i32;
        places[i] = Some(LabelPlace {
            left,
            row: row as u32,
        });
    }
    Ok(places.into_iter().flatten().collect())
}

fn band_label_font(i: usize) -> TextStyle<'static> {
    ("sans-serif", 16).into_font().color(&band_colour(i))
}

fn draw_bars(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    y_label: &str,
    bars: &[(String, f64)],
) -> Result<(), DrawError> {
    let labels: Vec<String> = bars.iter().map(|(label, _)| clean(label)).collect();
    let y = match finite_bounds(bars.iter().map(|(_, v)| *v)) {
        // Bars grow from zero; leave room above for the value written on each.
        Some((lo, hi)) => {
            let mut y = padded_range(lo.min(0.0), hi.max(0.0), 0.1);
            if lo >= 0.0 {
                y.start = 0.0;
            }
            if hi <= 0.0 {
                y.end = 0.0_f64.max(y.end);
            }
            y
        }
        None => 0.0..1.0,
    };
    // One unit per bar, bars centred on whole numbers; the axis labels are the bar names.
    let x = -0.5..(bars.len().max(1) as f64 - 0.5);

    let area = titled(root, title)?;
    let mut chart = ChartBuilder::on(&area)
        .margin(MARGIN)
        .margin_right(MARGIN_RIGHT)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc(clean(y_label))
        .y_label_formatter(&|v| format_number(*v))
        .axis_desc_style(axis_font())
        .label_style(label_font())
        .draw()?;
    chart.draw_series(
        bars.iter()
            .enumerate()
            .filter(|(_, (_, v))| v.is_finite())
            .map(|(i, (_, v))| {
                let centre = i as f64;
                Rectangle::new(
                    [(centre - 0.35, 0.0), (centre + 0.35, *v)],
                    series_colour(i).filled(),
                )
            }),
    )?;

    // Values on the bars, names under them: drawn by hand because plotters' tick labels are
    // placed where its own tick algorithm wants, not one per bar.
    let bottom = chart.plotting_area().get_pixel_range().1.end;
    for (i, ((_, value), label)) in bars.iter().zip(&labels).enumerate() {
        let centre = i as f64;
        let (text, at) = if value.is_finite() {
            (format_number(*value), *value)
        } else {
            ("n/a".to_owned(), 0.0)
        };
        let (px, py) = chart.backend_coord(&(centre, at.max(0.0)));
        let above = label_font().pos(Pos::new(HPos::Center, VPos::Bottom));
        root.draw(&Text::new(text, (px, py - 3), above))?;
        let below = label_font().pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(label.as_str(), (px, bottom + 8), below))?;
    }
    if bars.is_empty() {
        no_data_note(chart.plotting_area().strip_coord_spec())?;
    }
    Ok(())
}

/// A white page with the title on top; returns the area below it. Done here rather than with
/// `ChartBuilder::caption`, which puts the title under the margins, where it would sit between
/// the fault labels and the plot.
fn titled<'a>(
    root: &DrawingArea<SVGBackend<'a>, Shift>,
    title: &str,
) -> Result<DrawingArea<SVGBackend<'a>, Shift>, DrawError> {
    root.fill(&WHITE)?;
    root.margin(MARGIN as i32 / 2, 0, 0, 0)
        .titled(&clean(title), title_font())
}

/// The legend, with a background so lines behind it do not run through the text.
fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 16))
        .draw()
}

/// "no data" in the middle of the plot, so an empty chart does not look like a broken one.
fn no_data_note(area: DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), DrawError> {
    let (w, h) = area.dim_in_pixel();
    let font = ("sans-serif", 24)
        .into_font()
        .color(&BLACK.mix(0.5))
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(NO_DATA, (w as i32 / 2, h as i32 / 2), font))
}

/// Smallest and largest finite values, or `None` if there are none.
fn finite_bounds(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// `lo..hi` widened by `pad` of its width on each side, never empty, never infinite and never
/// narrower than [`TINY`]: plotters cannot place ticks on an axis of zero width, its tick
/// search loops forever once steps become subnormal, and `hi - lo` overflows for values near
/// `f64::MAX`.
fn padded_range(lo: f64, hi: f64, pad: f64) -> Range<f64> {
    // Halves, so the width of [-MAX, MAX] stays finite.
    let half = hi / 2.0 - lo / 2.0;
    let scale = lo.abs().max(hi.abs());
    if half <= scale * 1e-9 || half < TINY {
        // Flat data: a window around it, of the value's own size (or 1 around zero).
        let window = if scale >= TINY { scale * 0.1 } else { 1.0 };
        return clamp_finite(lo - window, hi + window);
    }
    let mid = lo / 2.0 + hi / 2.0;
    let half = half * (1.0 + 2.0 * pad);
    clamp_finite(mid - half, mid + half)
}

fn clamp_finite(lo: f64, hi: f64) -> Range<f64> {
    let limit = f64::MAX / 4.0;
    lo.clamp(-limit, limit)..hi.clamp(-limit, limit)
}

/// Short, readable numbers for axes and legends: 3 significant digits, thousands without
/// exponent, exponent only for very large or very small values.
fn format_number(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".to_owned()
    } else if !(1e-3..1e7).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        let digits = if a >= 10.0 {
            1
        } else if a >= 1.0 {
            2
        } else {
            3
        };
        let s = format!("{v:.digits$}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_owned()
    }
}

/// Labels on one line: control characters (newlines, tabs) become spaces, since a text element
/// in the SVG is one line and the layout estimate counts them as letters.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Distinct colours for lines and bars: Tableau 10, then plotters' palette.
fn series_colour(i: usize) -> RGBColor {
    const TABLEAU: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    match TABLEAU.get(i) {
        Some(colour) => *colour,
        None => {
            let (r, g, b) = Palette99::pick(i).rgb();
            RGBColor(r, g, b)
        }
    }
}

/// Warm colours for fault bands, distinct from one another so each label matches its band.
fn band_colour(i: usize) -> RGBColor {
    const BANDS: [RGBColor; 4] = [
        RGBColor(200, 30, 30),
        RGBColor(210, 120, 0),
        RGBColor(130, 40, 150),
        RGBColor(120, 80, 40),
    ];
    BANDS[i % BANDS.len()]
}

fn title_font() -> TextStyle<'static> {
    ("sans-serif", 26).into_font().into()
}

fn axis_font() -> TextStyle<'static> {
    ("sans-serif", 18).into_font().into()
}

fn label_font() -> TextStyle<'static> {
    ("sans-serif", 16).into_font().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the chart back, checking it is a complete SVG of the right size.
    fn read_svg(path: &Path) -> String {
        let svg = std::fs::read_to_string(path).expect("chart written");
        assert!(
            svg.starts_with("<svg"),
            "not an SVG: {}",
            &svg[..svg.len().min(80)]
        );
        assert!(svg.trim_end().ends_with("</svg>"), "SVG not closed");
        assert!(svg.contains(r#"width="900""#) && svg.contains(r#"height="540""#));
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "non-finite coordinate"
        );
        assert!(!svg.contains("href"), "external resource");
        svg
    }

    /// The contents of the SVG's text elements, unescaped as far as the tests need.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let start = t.find('>')? + 1;
                let end = t.find("</text>")?;
                Some(t[start..end].trim().replace("&amp;", "&"))
            })
            .collect()
    }

    /// One text element reads exactly `text`.
    fn assert_text(svg: &str, text: &str) {
        let texts = texts(svg);
        assert!(
            texts.iter().any(|t| t == text),
            "no text {text:?} in {texts:?}"
        );
    }

    fn assert_contains(svg: &str, texts: &[&str]) {
        for text in texts {
            assert!(svg.contains(text), "{text:?} missing from the chart");
        }
    }

    #[test]
    fn latency_chart_draws_each_set_with_percentiles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latency.svg");
        let federation: Vec<f64> = (1..=1000).map(f64::from).collect();
        let hub: Vec<f64> = (1..=1000).map(|v| f64::from(v) * 3.0).collect();
        latency_chart(
            &path,
            "Receipt latency",
            "ms",
            &[
                ("receipt 01, federation".into(), federation),
                ("receipt 01, hub".into(), hub),
            ],
        )
        .unwrap();
        let svg = read_svg(&path);
        assert_contains(
            &svg,
            &[
                "Receipt latency",
                "receipt 01, federation: p50 500 ms, p99 990 ms, n = 1000",
                "receipt 01, hub: p50 1500 ms, p99 2970 ms, n = 1000",
                "latency (ms)",
                "share of documents",
            ],
        );
        assert!(!svg.contains(NO_DATA));
    }

    #[test]
    fn latency_chart_survives_edge_cases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edges.svg");
        latency_chart(
            &path,
            "Độ trễ biên nhận",
            "giây",
            &[
                ("rỗng".into(), vec![]),
                ("một điểm".into(), vec![42.0]),
                (
                    "vô hạn ∞".into(),
                    vec![f64::NAN, f64::INFINITY, 7.0, f64::NEG_INFINITY],
                ),
                ("bằng nhau".into(), vec![5.0; 20]),
                ("Đã đến (01)".into(), vec![0.0, 0.0]),
            ],
        )
        .unwrap();
        let svg = read_svg(&path);
        assert_contains(
            &svg,
            &[
                "Độ trễ biên nhận",
                "rỗng: no data",
                "một điểm: p50 42 giây, p99 42 giây, n = 1",
                "vô hạn ∞: p50 7 giây",
                "bằng nhau: p50 5 giây",
                "Đã đến (01): p50 0 giây",
            ],
        );
    }

    #[test]
    fn latency_chart_without_any_data() {
        let dir = tempfile::tempdir().unwrap();
        for (name, samples) in [
            ("none.svg", vec![]),
            ("empty.svg", vec![("not finite".to_owned(), vec![f64::NAN])]),
            ("one.svg", vec![("all equal".to_owned(), vec![3.0])]),
        ] {
            let path = dir.path().join(name);
            latency_chart(&path, "Empty", "ms", &samples).unwrap();
            let svg = read_svg(&path);
            assert_contains(&svg, &["Empty"]);
            for (label, _) in &samples {
                assert_contains(&svg, &[label]);
            }
        }
    }

    #[test]
    fn latency_chart_uses_log_scale_and_thins_huge_sets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.svg");
        // 1 µs .. 1000 s: nine decades, 200 000 samples.
        let samples: Vec<f64> = (0..200_000)
            .map(|i| 10f64.powf(-3.0 + 6.0 * f64::from(i) / 200_000.0))
            .collect();
        latency_chart(&path, "Huge", "s", &[("all".into(), samples)]).unwrap();
        let svg = read_svg(&path);
        assert_contains(&svg, &["Huge", "all: p50 1 s", "n = 200000"]);
        // Powers of ten on the axis.
        assert_text(&svg, "0.01");
        assert_text(&svg, "1000");
        assert!(
            svg.len() < 200_000,
            "SVG of {} bytes: CDF not thinned",
            svg.len()
        );

        let cdf = Cdf::new("x", "s", &(0..1_000_000).map(f64::from).collect::<Vec<_>>());
        assert!(cdf.points.len() <= 2 * MAX_CDF_POINTS);
        assert_eq!(cdf.points.first(), Some(&(0.0, 0.0)));
        assert_eq!(cdf.points.last(), Some(&(999_999.0, 1.0)));
    }

    #[test]
    fn latency_chart_survives_extreme_values() {
        let dir = tempfile::tempdir().unwrap();
        for (name, values) in [
            ("max", vec![1.0, f64::MAX]),
            ("tiny", vec![f64::MIN_POSITIVE / 1e10, 1.0]),
            ("both", vec![f64::MIN_POSITIVE, f64::MAX]),
            ("negative", vec![-f64::MAX, f64::MAX]),
            ("close", vec![1.0, 1.0 + f64::EPSILON]),
            ("subnormal", vec![1e-320, 2e-320]),
            ("subnormal and one", vec![1e-320, 1.0]),
        ] {
            let path = dir.path().join(format!("{name}.svg"));
            latency_chart(&path, name, "ms", &[(name.to_owned(), values)]).unwrap();
            assert_contains(&read_svg(&path), &[name]);
        }
    }

    #[test]
    fn timeline_chart_draws_series_and_fault_bands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timeline.svg");
        let arrived = Series {
            label: "Đã đến (01)".into(),
            points: (0..100)
                .map(|t| (f64::from(t) * 60.0, f64::from(t)))
                .collect(),
        };
        let lost = Series {
            label: "lost & retried".into(),
            points: (0..100)
                .map(|t| (f64::from(t) * 60.0, f64::from(t % 7)))
                .collect(),
        };
        let faults = [
            Band {
                start_s: 600.0,
                end_s: 1200.0,
                label: "relay 02 down".into(),
            },
            Band {
                start_s: 3000.0,
                end_s: f64::INFINITY,
                label: "Mất mạng thuế".into(),
            },
        ];
        timeline_chart(
            &path,
            "Deliveries per minute",
            "time (s)",
            "documents",
            &[arrived, lost],
            &faults,
        )
        .unwrap();
        let svg = read_svg(&path);
        assert_contains(
            &svg,
            &[
                "Deliveries per minute",
                "time (s)",
                "documents",
                "Đã đến (01)",
                "lost &amp; retried",
                "relay 02 down",
                "Mất mạng thuế",
            ],
        );
    }

    #[test]
    fn timeline_chart_survives_edge_cases() {
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<(&str, Vec<Series>, Vec<Band>)> = vec![
            ("nothing", vec![], vec![]),
            (
                "empty series",
                vec![Series {
                    label: "empty".into(),
                    points: vec![],
                }],
                vec![],
            ),
            (
                "one point",
                vec![Series {
                    label: "single".into(),
                    points: vec![(10.0, 3.0)],
                }],
                vec![],
            ),
            (
                "non-finite",
                vec![Series {
                    label: "bad & worse".into(),
                    points: vec![
                        (f64::NAN, 1.0),
                        (1.0, f64::INFINITY),
                        (2.0, 2.0),
                        (3.0, 1.0),
                    ],
                }],
                vec![Band {
                    start_s: f64::NAN,
                    end_s: 4.0,
                    label: "skipped".into(),
                }],
            ),
            (
                "equal values",
                vec![Series {
                    label: "flat".into(),
                    points: vec![(5.0, 7.0), (5.0, 7.0), (5.0, 7.0)],
                }],
                vec![Band {
                    start_s: 5.0,
                    end_s: 5.0,
                    label: "instant".into(),
                }],
            ),
            (
                "bands only",
                vec![],
                vec![Band {
                    start_s: 20.0,
                    end_s: 10.0,
                    label: "reversed".into(),
                }],
            ),
            (
                "many faults",
                vec![Series {
                    label: "cumulative".into(),
                    points: (0..50).map(|t| (f64::from(t), f64::from(t * t))).collect(),
                }],
                (0..6)
                    .map(|i| Band {
                        start_s: f64::from(i) * 2.0,
                        end_s: f64::from(i) * 2.0 + 5.0,
                        label: format!("sự cố {i}"),
                    })
                    .collect(),
            ),
            (
                "huge values",
                vec![Series {
                    label: "huge".into(),
                    points: vec![(0.0, -f64::MAX), (1.0, f64::MAX)],
                }],
                vec![],
            ),
        ];
        for (title, series, faults) in cases {
            let path = dir.path().join(format!("{title}.svg"));
            timeline_chart(&path, title, "t", "n", &series, &faults).unwrap();
            let svg = read_svg(&path);
            assert_contains(&svg, &[title]);
            for s in &series {
                assert_contains(&svg, &[&s.label.replace('&', "&amp;")]);
            }
            for band in faults.iter().filter(|b| !b.start_s.is_nan()) {
                assert_contains(&svg, &[&band.label]);
            }
        }
    }

    #[test]
    fn bar_chart_draws_labelled_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bars.svg");
        bar_chart(
            &path,
            "national-1000: wall time per phase",
            "seconds",
            &[
                ("start".into(), 12.5),
                ("gửi văn bản".into(), 340.0),
                ("drain".into(), 48.0),
                ("broken".into(), f64::NAN),
            ],
        )
        .unwrap();
        let svg = read_svg(&path);
        assert_contains(
            &svg,
            &[
                "national-1000: wall time per phase",
                "seconds",
                "start",
                "gửi văn bản",
                "drain",
                "broken",
            ],
        );
        for text in ["start", "gửi văn bản", "12.5", "340", "n/a"] {
            assert_text(&svg, text);
        }
    }

    #[test]
    fn bar_chart_survives_edge_cases() {
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<(&str, Vec<(String, f64)>)> = vec![
            ("no bars", vec![]),
            ("one bar", vec![("Đã đến (01)".into(), 1.0)]),
            ("zeros", vec![("a".into(), 0.0), ("b".into(), 0.0)]),
            ("equal", vec![("a".into(), 4.0), ("b".into(), 4.0)]),
            ("negative", vec![("a".into(), -4.0), ("b".into(), -1.0)]),
            (
                "non-finite",
                vec![("nan".into(), f64::NAN), ("inf".into(), f64::INFINITY)],
            ),
        ];
        for (title, bars) in cases {
            let path = dir.path().join(format!("{title}.svg"));
            bar_chart(&path, title, "value", &bars).unwrap();
            let svg = std::fs::read_to_string(&path).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
            assert_contains(&svg, &[title]);
            for (label, _) in &bars {
                assert_text(&svg, label);
            }
        }
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("chart.svg");
        let err = bar_chart(&path, "t", "y", &[("a".into(), 1.0)]).unwrap_err();
        assert!(format!("{err:#}").contains("chart.svg"), "{err:#}");
    }

    #[test]
    fn helpers() {
        assert_eq!(padded_range(3.0, 3.0, 0.05), 2.7..3.3);
        assert_eq!(padded_range(0.0, 0.0, 0.05), -1.0..1.0);
        let huge = padded_range(-f64::MAX, f64::MAX, 0.05);
        assert!(huge.start.is_finite() && huge.end.is_finite() && huge.start < huge.end);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.99), 4.0);
        assert_eq!(format_number(1500.0), "1500");
        assert_eq!(format_number(12.5), "12.5");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(2.0), "2");
        assert_eq!(format_number(1e-6), "1.00e-6");
        assert_eq!(clean("a\nb"), "a b");
    }
}
