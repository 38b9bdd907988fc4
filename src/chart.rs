//! Loss and accuracy curves drawn with plotters on any backend: a PNG in the CLI, a canvas in the page.
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::train::CurvePoint;

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
        root.titled(title, ("sans-serif", text * 5 / 3))?
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
        let mut chart = ChartBuilder::on(panel)
            .margin(10)
            // room for half of the last step's label
            .margin_right(text * 2)
            .x_label_area_size(text * 3)
            .y_label_area_size(text * 25 / 6)
            .build_cartesian_2d(0.0..last_step, 0.0..y_max)?;
        // As many labels as fit (about one per 6 characters across and 2.5 lines up); whole steps without a
        // decimal point.
        let (across, up) = (width / 2 / (text * 6), height / (text * 5 / 2));
        chart
            .configure_mesh()
            .label_style(("sans-serif", text))
            .axis_desc_style(("sans-serif", text))
            .x_labels((across as usize).clamp(2, 10))
            .y_labels((up as usize).clamp(3, 10))
            .x_label_formatter(&|step| {
                // (0.6000000000000001 reads 0.6)
                let label = format!("{step:.2}");
                label.trim_end_matches('0').trim_end_matches('.').to_owned()
            })
            .x_desc("step")
            .y_desc(name)
            .draw()?;
        layout.panels.push(chart.plotting_area().get_pixel_range().0);
        if name == "loss" && !batch_losses.is_empty() && shown(Series::BatchLoss) {
            let line = batch_losses
                .iter()
                .map(|&(s, l)| (s as f64, l.min(max_loss)))
                .filter(|(_, l)| l.is_finite());
            chart
                .draw_series(LineSeries::new(line, BATCH_COLOUR.stroke_width(1)))?
                .label(Series::BatchLoss.label())
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BATCH_COLOUR.stroke_width(1)));
        }
        for (index, (label, points)) in extras.overlays.iter().enumerate() {
            let colour = Palette99::pick(index + 2).to_rgba();
            let line = points
                .iter()
                .map(|p| (p.step as f64, test(p)))
                .filter(|(_, v)| v.is_finite());
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(1)))?
                .label(format!("{label}: test {name}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(1)));
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
        chart
            .configure_series_labels()
            .label_font(("sans-serif", text))
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()?;
    Ok(layout)
}

/// Test accuracy vs step of several runs on one chart (the experiments view), one colour each.
pub fn draw_accuracy_overlay<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[(String, Vec<CurvePoint>)],
    title: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let last_step = runs
        .iter()
        .flat_map(|(_, points)| points.last().map(|p| p.step))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..last_step, 0.0..1.0)?;
    // no minor grid lines: the page redraws this chart while experiments run, and they are most of its strokes
    chart
        .configure_mesh()
        .max_light_lines(0)
        .x_desc("step")
        .y_desc("test accuracy")
        .draw()?;
    for (index, (label, points)) in runs.iter().enumerate() {
        let colour = Palette99::pick(index).to_rgba();
        let line: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.step as f64, p.test_accuracy))
            .filter(|(_, v)| v.is_finite())
            .collect();
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    if !runs.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()
}
