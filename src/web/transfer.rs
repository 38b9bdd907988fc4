//! The transfer experiment in the page: pretrain on the loaded data's animal classes, then learn its vehicles
//! from a few labelled images three ways (from scratch, frozen features + new head, full fine-tuning). The
//! worker steps it a time budget at a time (like Run) beside the page's model; the page shows the progress,
//! the three test-accuracy curves overlaid and the table of final accuracies.
use wasm_bindgen::prelude::*;
use web_sys::{Document, HtmlButtonElement, HtmlInputElement};

use super::app::{now_ms, on_click, report, App, Shared};
use super::rpc::send;
use super::view::{self, element, grouped, set_error, set_text, typed};
use crate::session::{Request, Response, TransferProgress};
use crate::train::{format_duration, CurvePoint};

/// Milliseconds of the experiment per worker message: the page hears from it about five times a second.
const STEP_BUDGET_MS: f64 = 200.0;
/// Redraw the chart at most this often (and once at the end): drawing is the page's longest task here.
const REDRAW_MS: f64 = 1000.0;

/// What the page keeps of the experiment: its plan and finished runs (the latest reply) and every curve.
#[derive(Default)]
pub struct TransferState {
    running: bool,
    latest: TransferProgress,
    /// Curve points per run, in the plan's order.
    curves: Vec<Vec<CurvePoint>>,
    started_ms: f64,
    /// When the chart was last drawn, and whether points came since.
    drawn_ms: f64,
    undrawn: bool,
    /// The run training and the runs finished when the table was last built (it changes only with them).
    table_shows: Option<(Option<usize>, usize)>,
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    on_click(app, "run-transfer", start)?;
    on_click(app, "stop-transfer", stop)
}

/// A whole number from the input `id`, or a message naming its label's meaning.
fn number(document: &Document, id: &str, what: &str) -> Result<usize, String> {
    let value = typed::<HtmlInputElement>(document, id)
        .map(|input| input.value())
        .unwrap_or_default();
    value
        .trim()
        .parse()
        .map_err(|_| format!("{what}: expected a whole number, found “{value}”"))
}

fn start(app: &Shared) {
    let document = app.borrow().document.clone();
    if app.borrow().transfer.running {
        return;
    }
    let request = (|| {
        Ok::<_, String>(Request::StartTransfer {
            labelled_per_class: number(&document, "transfer-labelled", "labelled images per class")?,
            pretrain_steps: number(&document, "transfer-pretrain-steps", "pretraining steps")?,
            steps: number(&document, "transfer-steps", "steps per run")?,
        })
    })();
    let request = match request {
        Ok(request) => request,
        Err(message) => {
            let _ = set_error(&document, "transfer-status", &message);
            return;
        }
    };
    app.borrow_mut().transfer = TransferState {
        running: true,
        started_ms: now_ms(),
        ..TransferState::default()
    };
    set_buttons(&document, true);
    let _ = set_text(
        &document,
        "transfer-status",
        "Splitting the data into animals and vehicles and building the network…",
    );
    send(app, request, None, None, on_reply);
}

/// A reply from the worker: records it, redraws, and asks for more while the experiment runs.
fn on_reply(app: &Shared, reply: Response, _: Option<js_sys::Uint8Array>) {
    let progress = match reply {
        Response::Transfer(progress) => progress,
        other => {
            app.borrow_mut().transfer.running = false;
            let document = app.borrow().document.clone();
            set_buttons(&document, false);
            let _ = set_error(&document, "transfer-status", &other.message());
            return;
        }
    };
    let (more, draw) = {
        let mut this = app.borrow_mut();
        let state = &mut this.transfer;
        if !state.running {
            return; // stopped meanwhile: this reply is stale
        }
        // the chart shows the downstream runs (the pretraining's points are in its table row); it starts empty
        let first = state.curves.is_empty();
        state.undrawn |= progress.points.iter().any(|p| p.run > 0);
        state.curves.resize(progress.plan.len(), Vec::new());
        for point in &progress.points {
            if let Some(curve) = state.curves.get_mut(point.run) {
                curve.push(point.point);
            }
        }
        state.running = !progress.finished && progress.stopped.is_none();
        state.latest = progress;
        let now = now_ms();
        let draw = first || (state.undrawn && (!state.running || now - state.drawn_ms >= REDRAW_MS));
        if draw {
            state.drawn_ms = now;
            state.undrawn = false;
        }
        (state.running, draw)
    };
    render(app, draw);
    if more {
        send(
            app,
            Request::TransferStep {
                budget_ms: STEP_BUDGET_MS,
            },
            None,
            None,
            on_reply,
        );
    }
}

/// Stops the experiment: the worker drops it, the runs done so far stay in the table.
fn stop(app: &Shared) {
    if !app.borrow().transfer.running {
        return;
    }
    app.borrow_mut().transfer.running = false;
    send(app, Request::StopTransfer, None, None, |_, _, _| {});
    let undrawn = std::mem::take(&mut app.borrow_mut().transfer.undrawn);
    render(app, undrawn);
}

/// The worker died: the experiment went with it (the runs done stay in the table) and can be started again.
pub fn worker_died(app: &Shared) {
    if !app.borrow().transfer.running {
        return;
    }
    app.borrow_mut().transfer.running = false;
    render(app, false);
    let document = app.borrow().document.clone();
    let status = status_line(&app.borrow().transfer, now_ms());
    let _ = set_error(&document, "transfer-status", &format!("{status} The worker died."));
}

fn set_buttons(document: &Document, running: bool) {
    for (id, disabled) in [("run-transfer", running), ("stop-transfer", !running)] {
        if let Ok(button) = typed::<HtmlButtonElement>(document, id) {
            button.set_disabled(disabled);
        }
    }
}

/// The status line, the table (one row per run) and, with `chart`, the overlaid downstream curves.
fn render(app: &Shared, chart: bool) {
    let table_changed = {
        let mut this = app.borrow_mut();
        let state = &mut this.transfer;
        let shows = Some((state.latest.current, state.latest.finished_runs.len()));
        std::mem::replace(&mut state.table_shows, shows) != shows
    };
    let this = app.borrow();
    let document = this.document.clone();
    let state = &this.transfer;
    let progress = &state.latest;
    set_buttons(&document, state.running);
    let status = status_line(state, now_ms());
    let _ = match &progress.stopped {
        Some(reason) => set_error(&document, "transfer-status", &format!("Stopped: {reason}")),
        None => set_text(&document, "transfer-status", &status),
    };
    if table_changed {
        if let Err(error) = render_table(&document, progress) {
            report("could not show the transfer table", &error);
        }
    }
    if chart {
        draw_chart(&this);
    }
}

/// Redraws the chart (at a new size) once the experiment has started; before, the canvas stays blank.
pub fn redraw(app: &Shared) {
    let this = app.borrow();
    if !this.transfer.curves.is_empty() {
        draw_chart(&this);
    }
}

/// The overlaid test-accuracy curves of the downstream runs.
fn draw_chart(this: &App) {
    let progress = &this.transfer.latest;
    let downstream: Vec<(String, Vec<CurvePoint>)> = progress
        .plan
        .iter()
        .zip(&this.transfer.curves)
        .filter(|(run, _)| run.start.is_some())
        .map(|(run, curve)| (run.label.clone(), curve.clone()))
        .collect();
    let title = format!(
        "test accuracy on the {} vehicle test images",
        grouped(progress.target_test_images)
    );
    if let Err(error) = view::draw_experiment_chart(&this.document, "transfer-curves", &downstream, &title) {
        report("could not draw the transfer curves", &error);
    }
}

fn status_line(state: &TransferState, now: f64) -> String {
    let progress = &state.latest;
    let elapsed = format_duration((now - state.started_ms) / 1000.0);
    if progress.finished {
        return format!(
            "Done in {elapsed}: {} steps, {} parameters.",
            grouped(progress.total_steps),
            grouped(progress.parameters)
        );
    }
    let overall = format!(
        "{} of {} steps in all, {elapsed}",
        grouped(progress.steps_done),
        grouped(progress.total_steps)
    );
    if !state.running {
        return format!("Stopped at {overall}.");
    }
    match progress
        .current
        .and_then(|index| progress.plan.get(index).map(|run| (index, run)))
    {
        Some((0, run)) => format!(
            "Pretraining on {} animal images ({} steps)… {overall}.",
            grouped(run.images),
            grouped(run.steps)
        ),
        Some((index, run)) => format!("Run {index} of {}: {}… {overall}.", progress.plan.len() - 1, run.label),
        None => format!("{overall}."),
    }
}

fn render_table(document: &Document, progress: &TransferProgress) -> Result<(), JsValue> {
    let rows = element(document, "transfer-rows")?;
    rows.set_text_content(None);
    for (index, run) in progress.plan.iter().enumerate() {
        let outcome = progress.finished_runs.iter().find(|outcome| outcome.run == index);
        let (task, start) = match run.start {
            None => ("animals (pretraining)".to_string(), "fresh weights".to_string()),
            Some(start) => ("vehicles".to_string(), start.label().to_string()),
        };
        let cells = [
            task,
            start,
            grouped(run.images),
            outcome.map_or_else(
                || {
                    if progress.current == Some(index) {
                        "running".into()
                    } else {
                        "–".into()
                    }
                },
                |o| format!("{:.2} %", 100.0 * o.final_test_accuracy),
            ),
            outcome.map_or("–".into(), |o| format_duration(o.wall_seconds)),
            outcome.map_or("–".into(), |o| format!("{:.1}", o.step_milliseconds)),
        ];
        let tr = view::append(document, &rows, "tr", "", None)?;
        for cell in cells {
            view::append(document, &tr, "td", &cell, None)?;
        }
    }
    Ok(())
}
