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
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let panels = root.split_evenly((1, 2));
    let last_step = points.last().map_or(1, |p| p.step).max(1) as f64;
    let max_loss = points
        .iter()
        .flat_map(|p| [p.train_loss, p.test_loss])
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.05;
    let series: [(&str, Metric, Metric, f64); 2] = [
        ("loss", |p| p.train_loss, |p| p.test_loss, max_loss),
        ("accuracy", |p| p.train_accuracy, |p| p.test_accuracy, 1.0),
    ];
    for (panel, (name, train, test, y_max)) in panels.iter().zip(series) {
        let mut chart = ChartBuilder::on(panel)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..last_step, 0.0..y_max)?;
        chart.configure_mesh().x_desc("step").y_desc(name).draw()?;
        for (label, colour, value) in [("train", TRAIN_COLOUR, train), ("test", TEST_COLOUR, test)] {
            let line: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.step as f64, value(p)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(line.iter().copied(), colour.stroke_width(2)))?
                .label(format!("{label} {name}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            chart.draw_series(line.iter().map(|&(x, y)| Circle::new((x, y), 2, colour.filled())))?;
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()
}
