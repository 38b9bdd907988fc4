//! The live chart's reading aids: switches that show and hide each series, the values under the pointer (or
//! under a cursor moved with the arrow keys), markers where a hyperparameter changed, and earlier runs laid
//! over the current one. The chart itself is drawn by [`crate::chart`].
use std::rc::Rc;

use gloo::events::EventListener;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, HtmlInputElement, KeyboardEvent, MouseEvent};

use super::app::{listen, Shared};
use super::training::redraw;
use super::view::{append, element, set_text, typed};
use crate::chart::{CurveExtras, CurveLayout, Series};
use crate::train::CurvePoint;

/// What the chart shows besides the run: switched-off series, markers, overlays, and where it was drawn.
#[derive(Default)]
pub struct ChartState {
    pub hidden: Vec<Series>,
    /// `(step, label)`: a hyperparameter change after `step` steps.
    pub markers: Vec<(usize, String)>,
    /// Earlier runs from the history, by their history id.
    pub overlays: Vec<(u64, String, Vec<CurvePoint>)>,
    pub layout: CurveLayout,
    /// The curve point the keyboard cursor is on, and the step the readout shows.
    cursor: Option<usize>,
    readout: Option<f64>,
    switches: Vec<EventListener>,
}

impl ChartState {
    /// The extras to draw with `batch_losses`.
    pub fn extras(&self, batch_losses: &[(usize, f64)]) -> CurveExtras {
        CurveExtras {
            batch_losses: batch_losses.to_vec(),
            markers: self.markers.clone(),
            overlays: self
                .overlays
                .iter()
                .map(|(_, label, points)| (label.clone(), points.clone()))
                .collect(),
            hidden: self.hidden.clone(),
            text_px: None,
        }
    }
}

/// The element id of a series' switch, e.g. `series-test-loss`.
fn switch_id(series: Series) -> String {
    format!("series-{}", series.label().replace(' ', "-"))
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    let document = app.borrow().document.clone();
    let group = element(&document, "series-switches")?;
    let mut switches = Vec::new();
    for series in Series::ALL {
        let label = append(&document, &group, "label", "", Some("check"))?;
        let input: HtmlInputElement = document.create_element("input")?.dyn_into()?;
        input.set_type("checkbox");
        input.set_id(&switch_id(series));
        input.set_checked(true);
        label.append_child(&input)?;
        label.append_with_str_1(&format!(" {}", series.label()))?;
        let weak = Rc::downgrade(app);
        switches.push(EventListener::new(&input, "change", move |event| {
            let Some(app) = weak.upgrade() else { return };
            let on = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                .is_some_and(|i| i.checked());
            {
                let hidden = &mut app.borrow_mut().chart.hidden;
                hidden.retain(|s| *s != series);
                if !on {
                    hidden.push(series);
                }
            }
            redraw(&app, true);
            let readout = app.borrow().chart.readout;
            if let Some(step) = readout {
                show_values_near(&app, step);
            }
        }));
    }
    app.borrow_mut().chart.switches = switches;
    let weak = Rc::downgrade(app);
    listen(app, "curves", "mousemove", move |event| {
        let (Some(app), Some(mouse)) = (weak.upgrade(), event.dyn_ref::<MouseEvent>()) else {
            return;
        };
        let document = app.borrow().document.clone();
        let Ok(canvas) = typed::<HtmlCanvasElement>(&document, "curves") else {
            return;
        };
        // The canvas may be drawn smaller than its pixel size.
        let scale = f64::from(canvas.width()) / f64::from(canvas.client_width().max(1));
        let x = f64::from(mouse.offset_x()) * scale;
        let step = step_at(&app.borrow().chart.layout, x);
        if let Some(step) = step {
            show_values_near(&app, step);
        }
    })?;
    let weak = Rc::downgrade(app);
    listen(app, "curves", "keydown", move |event| {
        let (Some(app), Some(key)) = (weak.upgrade(), event.dyn_ref::<KeyboardEvent>()) else {
            return;
        };
        let count = app.borrow().run.points.len();
        if count == 0 {
            return;
        }
        let current = app.borrow().chart.cursor;
        let next = match key.key().as_str() {
            "ArrowRight" => current.map_or(0, |i| (i + 1).min(count - 1)),
            "ArrowLeft" => current.map_or(count - 1, |i| i.saturating_sub(1)),
            "Home" => 0,
            "End" => count - 1,
            _ => return,
        };
        app.borrow_mut().chart.cursor = Some(next);
        let step = app.borrow().run.points[next].step;
        show_values_near(&app, step as f64);
    })
}

/// The step under pixel column `x`, if it is over a panel.
fn step_at(layout: &CurveLayout, x: f64) -> Option<f64> {
    layout.panels.iter().find_map(|columns| {
        let (left, right) = (f64::from(columns.start), f64::from(columns.end));
        (x >= left && x <= right && right > left).then(|| (x - left) / (right - left) * layout.last_step)
    })
}

/// Writes the values of the curve point (and batch loss) nearest to `step` into the readout.
fn show_values_near(app: &Shared, step: f64) {
    app.borrow_mut().chart.readout = Some(step);
    let this = app.borrow();
    let nearest = |s: usize| (s as f64 - step).abs();
    let point = this
        .run
        .points
        .iter()
        .min_by(|a, b| nearest(a.step).total_cmp(&nearest(b.step)));
    let batch = this
        .run
        .batches
        .iter()
        .min_by(|a, b| nearest(a.0).total_cmp(&nearest(b.0)));
    let mut parts = Vec::new();
    let shown = |series: Series| !this.chart.hidden.contains(&series);
    if let Some(point) = point {
        parts.push(format!("step {}", point.step));
        for (series, value, percent) in [
            (Series::TrainLoss, point.train_loss, false),
            (Series::TestLoss, point.test_loss, false),
            (Series::TrainAccuracy, point.train_accuracy, true),
            (Series::TestAccuracy, point.test_accuracy, true),
        ] {
            if shown(series) {
                parts.push(match percent {
                    true => format!("{} {:.2} %", series.label(), 100.0 * value),
                    false => format!("{} {value:.4}", series.label()),
                });
            }
        }
    }
    if let Some(&(batch_step, loss)) = batch.filter(|_| shown(Series::BatchLoss)) {
        parts.push(format!("batch loss {loss:.4} (step {batch_step})"));
    }
    for (_, label, points) in &this.chart.overlays {
        if let Some(p) = points.iter().min_by(|a, b| nearest(a.step).total_cmp(&nearest(b.step))) {
            parts.push(format!(
                "{label}: test accuracy {:.2} % (step {})",
                100.0 * p.test_accuracy,
                p.step
            ));
        }
    }
    let text = if parts.is_empty() {
        "No values yet: train a few steps.".to_string()
    } else {
        parts.join(" · ")
    };
    let _ = set_text(&this.document, "chart-readout", &text);
}
