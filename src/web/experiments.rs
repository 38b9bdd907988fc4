//! The experiments queue: the report's Table 1 rows trained one after another on the loaded data, each
//! row's final test accuracy next to the report's, and every row's test-accuracy curve overlaid.
use wasm_bindgen::prelude::*;

use super::app::{on_click, report, App, Shared};
use super::form::configure;
use super::training::update_counters;
use super::view::{self, element};
use crate::train::CurvePoint;

/// One row of the queue.
struct Row {
    label: String,
    query: String,
    report: Option<f64>,
    result: Option<f64>,
    status: String,
}

/// The queue: its rows, the row running (while it runs) and the curves of the rows done.
#[derive(Default)]
pub struct Queue {
    rows: Vec<Row>,
    pub current: Option<usize>,
    curves: Vec<(String, Vec<CurvePoint>)>,
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    on_click(app, "run-experiments", start)?;
    on_click(app, "stop-experiments", stop)
}

fn start(app: &Shared) {
    {
        let mut this = app.borrow_mut();
        let rows = this
            .form
            .presets
            .iter()
            .filter(|p| p.table1)
            .map(|p| Row {
                label: p.label.clone(),
                query: p.query.clone(),
                report: p.report_accuracy,
                result: None,
                status: "queued".into(),
            })
            .collect();
        this.queue = Queue {
            rows,
            current: Some(0),
            curves: Vec::new(),
        };
    }
    start_row(app);
}

/// Configures the current row; training starts once the configuration is in (see [`configure`]).
fn start_row(app: &Shared) {
    let next = {
        let mut this = app.borrow_mut();
        let queue = &mut this.queue;
        let Some(index) = queue.current else { return };
        match queue.rows.get_mut(index) {
            Some(row) => {
                row.status = "running".into();
                Some(row.query.clone())
            }
            None => {
                queue.current = None;
                None
            }
        }
    };
    render(app);
    update_counters(app);
    if let Some(query) = next {
        configure(app, query);
    }
}

/// The current row finished (or stopped): records it and starts the next.
pub fn row_done(app: &Shared, accuracy: Option<f64>, stopped: Option<String>) {
    {
        let mut this = app.borrow_mut();
        let points = this.run.points.clone();
        let queue = &mut this.queue;
        let Some(index) = queue.current else { return };
        if let Some(row) = queue.rows.get_mut(index) {
            row.result = accuracy.map(|a| 100.0 * a);
            row.status = stopped.unwrap_or_else(|| "done".into());
            queue.curves.push((format!("row {}", index + 1), points));
        }
        queue.current = Some(index + 1);
    }
    start_row(app);
}

/// Stops the queue (the row running is marked stopped).
pub fn stop(app: &Shared) {
    {
        let mut this = app.borrow_mut();
        if let Some(index) = this.queue.current.take() {
            if let Some(row) = this.queue.rows.get_mut(index) {
                row.status = "stopped".into();
            }
        }
        this.run.running = false;
    }
    render(app);
    update_counters(app);
}

/// The table of the queue's rows and the chart of their curves.
fn render(app: &Shared) {
    let this = app.borrow();
    let document = &this.document;
    let Ok(rows) = element(document, "experiment-rows") else {
        return;
    };
    rows.set_text_content(None);
    for (i, row) in this.queue.rows.iter().enumerate() {
        let Ok(tr) = view::append(document, &rows, "tr", "", None) else {
            return;
        };
        let percent = |value: Option<f64>| value.map_or("–".into(), |r| format!("{r:.2} %"));
        let cells = [
            (i + 1).to_string(),
            row.label.clone(),
            percent(row.report),
            percent(row.result),
            row.status.clone(),
        ];
        for cell in cells {
            let _ = view::append(document, &tr, "td", &cell, None);
        }
    }
    draw_chart(&this);
}

/// Redraws the chart (at a new size) once the queue has run; before, the canvas stays blank.
pub fn redraw(app: &Shared) {
    let this = app.borrow();
    if !this.queue.rows.is_empty() {
        draw_chart(&this);
    }
}

fn draw_chart(this: &App) {
    let (runs, title) = (&this.queue.curves, "test accuracy, Table 1 rows");
    if let Err(error) = view::draw_experiment_chart(&this.document, "experiment-curves", runs, title) {
        report("could not draw the experiments", &error);
    }
}
