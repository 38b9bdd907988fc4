//! Loss and accuracy curves drawn with plotters on any backend: a PNG in the CLI, a canvas in the page.
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::train::CurvePoint;
use legend::{emptiest_corner, legend_rows};

mod legend;

const TRAIN_COLOUR: RGBColor = RGBColor(31, 119, 180);
const TEST_COLOUR: RGBColor = RGBColor(214, 39, 40);

/// Reads one value of a curve point.
type Metric = fn(&CurvePoint) -> f64;

/// Draws two panels side by side: loss vs step and accuracy vs step, train and test.
pub fn draw_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: &[CurvePoint],
    title: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    draw_curves_with_batches(root, points, &[], title)
}

const BATCH_COLOUR: RGBColor = RGBColor(150, 180, 210);
const MARKER_COLOUR: RGBColor = RGBColor(120, 60, 160);

/// One line of the live chart, which the page can switch on and off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Series {
    BatchLoss,
    TrainLoss,
    TestLoss,
    TrainAccuracy,
    TestAccuracy,
}

impl Series {
    pub const ALL: [Series; 5] = [
        Series::BatchLoss,
        Series::TrainLoss,
        Series::TestLoss,
        Series::TrainAccuracy,
        Series::TestAccuracy,
    ];

    /// The legend's (and the page's switch's) label.
    pub fn label(self) -> &'static str {
        match self {
            Series::BatchLoss => "batch loss",
            Series::TrainLoss => "train loss",
            Series::TestLoss => "test loss",
            Series::TrainAccuracy => "train accuracy",
            Series::TestAccuracy => "test accuracy",
        }
    }
}

/// What the page's live chart draws besides the run's curve points.
#[derive(Clone, Debug, Default)]
pub struct CurveExtras {
    /// Each step's batch loss `(step, loss)`, a thin line under the loss curves.
    pub batch_losses: Vec<(usize, f64)>,
    /// Vertical markers `(step, label)`: a hyperparameter changed after that step.
    pub markers: Vec<(usize, String)>,
    /// Earlier runs drawn thin beside this one (their test loss and test accuracy).
    pub overlays: Vec<(String, Vec<CurvePoint>)>,
    /// Series switched off.
    pub hidden: Vec<Series>,
    /// The text's size in pixels (the page's, so that Large type enlarges the chart's labels too); plotters'
    /// 12 px when `None`.
    pub text_px: Option<u32>,
}

/// Where the two panels' plotting areas lie on the drawing (pixel columns) and the steps they span: the page
/// maps the pointer to a step with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurveLayout {
    pub panels: Vec<std::ops::Range<i32>>,
    pub last_step: f64,
}

/// [`draw_curves`] plus each step's batch loss `(step, loss)` as a thin line under the loss curves.
pub fn draw_curves_with_batches<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: &[CurvePoint],
    batch_losses: &[(usize, f64)],
    title: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let extras = CurveExtras {
        batch_losses: batch_losses.to_vec(),
        ..CurveExtras::default()
    };
    draw_curves_with_extras(root, points, &extras, title).map(|_| ())
}

/// Below this height (pixels) the training chart leaves out its title.
const SHORT_CHART: u32 = 300;

/// The page's live view: the curves, the batch losses (they move every step, between the evaluation points),
/// markers where hyperparameters changed, earlier runs overlaid, and only the series switched on.
pub fn draw_curves_with_extras<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: &[CurvePoint],
    extras: &CurveExtras,
    title: &str,
) -> Result<CurveLayout, DrawingAreaErrorKind<DB::ErrorType>> {
    let batch_losses = &extras.batch_losses[..];
    let shown = |series: Series| !extras.hidden.contains(&series);
    root.fill(&WHITE)?;
    // A short chart (the page's classroom view on a laptop) gives the title's line to the curves: the panels
    // name what they show.
    let (width, height) = root.dim_in_pixel();
    let text = extras.text_px.unwrap_or(12).clamp(8, 40);
    let root = if height >= SHORT_CHART {
        titled(root, title, text)?
    } else {
        root.clone()
    };
    let panels = root.split_evenly((1, 2));
    let last_step = points
        .last()
        .map_or(1, |p| p.step)
        .max(batch_losses.last().map_or(1, |b| b.0))
        .max(
            extras
                .overlays
                .iter()
                .flat_map(|(_, o)| o.last())
                .map(|p| p.step)
                .max()
                .unwrap_or(1),
        )
        .max(1) as f64;
    // The range follows the evaluation points; the batch losses set it only before the first point (early
    // batch losses can be 100× the later ones and would flatten every curve).
    let range_from_batches = points.is_empty() && shown(Series::BatchLoss);
    let max_loss = points
        .iter()
        .flat_map(|p| [p.train_loss, p.test_loss])
        .chain(extras.overlays.iter().flat_map(|(_, o)| o.iter().map(|p| p.test_loss)))
        .chain(batch_losses.iter().filter(|_| range_from_batches).map(|b| b.1))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.05;
    let series: [(&str, Series, Series, Metric, Metric, f64); 2] = [
        (
            "loss",
            Series::TrainLoss,
            Series::TestLoss,
            |p| p.train_loss,
            |p| p.test_loss,
            max_loss,
        ),
        (
            "accuracy",
            Series::TrainAccuracy,
            Series::TestAccuracy,
            |p| p.train_accuracy,
            |p| p.test_accuracy,
            1.0,
        ),
    ];
    let mut layout = CurveLayout {
        panels: Vec::new(),
        last_step,
    };
    for (panel, (name, train_series, test_series, train, test, y_max)) in panels.iter().zip(series) {
        let mut chart = step_chart(panel, text, last_step, y_max)?;
        draw_step_mesh(&mut chart, text, (width / 2, height), name, true)?;
        layout.panels.push(chart.plotting_area().get_pixel_range().0);
        // every labelled line drawn (the legend goes where it covers the fewest of them) and its label
        let mut drawn: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        if name == "loss" && !batch_losses.is_empty() && shown(Series::BatchLoss) {
            let line: Vec<(f64, f64)> = batch_losses
                .iter()
                .map(|&(s, l)| (s as f64, l.min(max_loss)))
                .filter(|(_, l)| l.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(line.iter().copied(), BATCH_COLOUR.stroke_width(1)))?
                .label(Series::BatchLoss.label())
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BATCH_COLOUR.stroke_width(1)));
            drawn.push((Series::BatchLoss.label().to_string(), line));
        }
        for (index, (label, points)) in extras.overlays.iter().enumerate() {
            let colour = Palette99::pick(index + 2).to_rgba();
            let line: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.step as f64, test(p)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            let label = format!("{label}: test {name}");
            chart
                .draw_series(LineSeries::new(line.iter().copied(), colour.stroke_width(1)))?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(1)));
            drawn.push((label, line));
        }
        for (series, colour, value) in [(train_series, TRAIN_COLOUR, train), (test_series, TEST_COLOUR, test)] {
            if !shown(series) {
                continue;
            }
            let line: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.step as f64, value(p)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(line.iter().copied(), colour.stroke_width(2)))?
                .label(series.label())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            chart.draw_series(line.iter().map(|&(x, y)| Circle::new((x, y), 2, colour.filled())))?;
            drawn.push((series.label().to_string(), line));
        }
        for (step, label) in &extras.markers {
            let x = *step as f64;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, y_max)],
                MARKER_COLOUR.stroke_width(1),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                label.clone(),
                (x, y_max * 0.98),
                ("sans-serif", text + 1).into_font().color(&MARKER_COLOUR),
            )))?;
        }
        // the legend's size as plotters lays it out (a 30 px sample, 10 px margins, lines of about 1.25 em), as
        // fractions of the plot
        let mut label_width = 0;
        for (label, _) in &drawn {
            label_width = label_width.max(
                panel
                    .estimate_text_size(label, &TextStyle::from(("sans-serif", text).into_font()))?
                    .0,
            );
        }
        let (plot_width, plot_height) = chart.plotting_area().dim_in_pixel();
        let legend = (
            f64::from(label_width + 55) / f64::from(plot_width.max(1)),
            f64::from(drawn.len() as u32 * text * 5 / 4 + 25) / f64::from(plot_height.max(1)),
        );
        let scale = |&(x, y): &(f64, f64)| (x / last_step, y / y_max);
        let lines: Vec<Vec<(f64, f64)>> = drawn.iter().map(|(_, line)| line.iter().map(scale).collect()).collect();
        chart
            .configure_series_labels()
            .position(emptiest_corner(&lines, legend).position())
            .label_font(("sans-serif", text))
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()?;
    Ok(layout)
}

/// Test accuracy vs step of several runs on one chart (the experiments' views), one colour each. The legend
/// lies below the plot, its entries in rows across, so it covers no curve wherever the runs go. `text_px` as in
/// [`CurveExtras::text_px`].
pub fn draw_accuracy_overlay<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[(String, Vec<CurvePoint>)],
    title: &str,
    text_px: Option<u32>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let text = text_px.unwrap_or(12).clamp(8, 40);
    let root = titled(root, title, text)?;
    let (width, height) = root.dim_in_pixel();
    let last_step = runs
        .iter()
        .flat_map(|(_, points)| points.last().map(|p| p.step))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    // The legend's entries: a line in the run's colour, then its label; as many per row as fit under the plot.
    let label_style = TextStyle::from(("sans-serif", text).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let (sample, gap) = (text * 2, text * 2);
    let mut widths = Vec::with_capacity(runs.len());
    for (label, _) in runs {
        widths.push(sample + root.estimate_text_size(label, &label_style)?.0);
    }
    let left = CHART_MARGIN + y_label_width(text);
    let rows = legend_rows(&widths, width.saturating_sub(left + CHART_MARGIN), gap);
    let line_height = text * 3 / 2;
    let legend_height = rows.len() as u32 * line_height;
    let (plot, legend) = root.split_vertically(height.saturating_sub(legend_height));
    let mut chart = step_chart(&plot, text, last_step, 1.0)?;
    // no minor grid lines: the page redraws this chart while experiments run, and they are most of its strokes
    draw_step_mesh(&mut chart, text, plot.dim_in_pixel(), "test accuracy", false)?;
    let colour = |index: usize| Palette99::pick(index).to_rgba();
    for (index, (_, points)) in runs.iter().enumerate() {
        let line = points
            .iter()
            .map(|p| (p.step as f64, p.test_accuracy))
            .filter(|(_, v)| v.is_finite());
        chart.draw_series(LineSeries::new(line, colour(index).stroke_width(2)))?;
    }
    for (row, entries) in rows.iter().enumerate() {
        let y = (row as u32 * line_height + line_height / 2) as i32;
        let mut x = left as i32;
        for &index in entries {
            let line_end = x + (sample - text / 2) as i32;
            legend.draw(&PathElement::new(
                vec![(x, y), (line_end, y)],
                colour(index).stroke_width(2),
            ))?;
            legend.draw_text(&runs[index].0, &label_style, (x + sample as i32, y))?;
            x += (widths[index] + gap) as i32;
        }
    }
    root.present()
}

/// `root` below a title in type 5/3 the size of `text`, or smaller down to `text` where a narrow chart (an
/// experiment's beside the curves) would cut it at both ends.
fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    text: u32,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let large = text * 5 / 3;
    let room = root.dim_in_pixel().0.saturating_sub(2 * CHART_MARGIN);
    let (width, _) = root.estimate_text_size(title, &TextStyle::from(("sans-serif", large).into_font()))?;
    let size = if width <= room {
        large
    } else {
        (large as u64 * room as u64 / width.max(1) as u64) as u32
    };
    root.titled(title, ("sans-serif", size.max(text)))
}

/// The space around a step chart's plot (pixels), besides its axes' labels.
const CHART_MARGIN: u32 = 10;

/// The width of a step chart's y axis labels and description for text of `text` pixels.
fn y_label_width(text: u32) -> u32 {
    text * 25 / 6
}

/// A chart of values (y) against the step (x), both as f64.
type StepChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart of values against the step on `area`, from step 0 to `last_step`: room below and left for the
/// axes' labels, and on the right for half of the last step's label (centred on the plot's right edge).
fn step_chart<'a, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: u32,
    last_step: f64,
    y_max: f64,
) -> Result<StepChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(area)
        .margin(CHART_MARGIN)
        .margin_right(text * 2)
        .x_label_area_size(text * 3)
        .y_label_area_size(y_label_width(text))
        .build_cartesian_2d(0.0..last_step, 0.0..y_max)
}

/// A step chart's grid and axes: as many labels as fit on an area of `size` pixels (about one per 6
/// characters across and 2.5 lines up), whole steps without a decimal point; minor grid lines with
/// `light_lines`.
fn draw_step_mesh<DB: DrawingBackend>(
    chart: &mut StepChart<'_, DB>,
    text: u32,
    (width, height): (u32, u32),
    y_description: &str,
    light_lines: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (across, up) = (width / (text * 6), height / (text * 5 / 2));
    let mut mesh = chart.configure_mesh();
    if !light_lines {
        mesh.max_light_lines(0);
    }
    mesh.label_style(("sans-serif", text))
        .axis_desc_style(("sans-serif", text))
        .x_labels((across as usize).clamp(2, 10))
        .y_labels((up as usize).clamp(3, 10))
        .x_label_formatter(&|step| {
            // (0.6000000000000001 reads 0.6)
            let label = format!("{step:.2}");
            label.trim_end_matches('0').trim_end_matches('.').to_owned()
        })
        .x_desc("step")
        .y_desc(y_description)
        .draw()
}
