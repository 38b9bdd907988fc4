//! The training controls: Step, Step ×10, Run, Pause, Reset and Evaluate, the step counter and a trustworthy
//! images/s, and the live chart. With helper workers a step goes through [`super::parallel`].
use std::collections::VecDeque;

use super::app::{now_ms, on_click, report, show_error, show_state, Shared};
use super::parallel::{parallel_step, workers_synced};
use super::rpc::{in_wasm, mirror, send};
use super::view::{self, clear_error, set_error, set_text, typed};
use crate::session::{Progress, Request, Response};
use crate::train::CurvePoint;
use wasm_bindgen::prelude::*;
use web_sys::HtmlButtonElement;

/// Milliseconds of training per worker message while running: the worker answers (and the chart moves)
/// about five times a second, and a Pause takes effect within that time.
const RUN_BUDGET_MS: f64 = 200.0;
/// The budget of `Step` and `Step ×10`: all the steps asked for.
const NO_BUDGET_MS: f64 = 1e12;
/// Redraw the chart at most this often while running.
const REDRAW_MS: f64 = 250.0;
/// Batch-loss points kept for the chart (older ones are thinned out).
const MAX_BATCH_POINTS: usize = 4000;
/// The images/s shown: the images of the steps that ended in the last this many milliseconds of wall time.
const SPEED_WINDOW_MS: f64 = 3000.0;

/// What the page keeps of the run in the worker: the curves, the counter and whether it is running.
#[derive(Default)]
pub struct RunState {
    pub points: Vec<CurvePoint>,
    pub batches: Vec<(usize, f64)>,
    pub steps_done: usize,
    pub total_steps: usize,
    pub running: bool,
    /// A step request is on its way (only one at a time).
    pub stepping: bool,
    last_draw_ms: f64,
    pub speed: SpeedMeter,
}

/// Images per second over the last [`SPEED_WINDOW_MS`] of wall time: the images of the steps that ended in
/// that window over the time from the first one's start to the last one's end, test-set evaluations left
/// out. A short last step (after Pause) weighs as little as it lasted.
#[derive(Default)]
pub struct SpeedMeter {
    /// (start, end, images, evaluation ms, steps) of recent step requests.
    steps: VecDeque<(f64, f64, usize, f64, usize)>,
}

impl SpeedMeter {
    /// A reply covering `steps` steps of `images` images in all, requested at `start` and back at `end`.
    pub fn record(&mut self, start: f64, end: f64, images: usize, steps: usize, eval_ms: f64) {
        if images == 0 {
            return;
        }
        self.steps.push_back((start, end, images, eval_ms, steps));
        while self.steps.len() > 1 && self.steps.front().is_some_and(|s| s.1 < end - SPEED_WINDOW_MS) {
            self.steps.pop_front();
        }
    }

    pub fn clear(&mut self) {
        self.steps.clear();
    }

    /// The time the remaining steps take at [`SpeedMeter::rate`], each step as large as the measured ones.
    pub fn time_left(&self, remaining_steps: usize) -> Option<f64> {
        let images: usize = self.steps.iter().map(|s| s.2).sum();
        let steps: usize = self.steps.iter().map(|s| s.4).sum();
        let images_per_step = images.checked_div(steps)?;
        crate::train::time_left(remaining_steps, images_per_step, self.rate()?)
    }

    /// Images per second, once a step has been timed.
    pub fn rate(&self) -> Option<f64> {
        let (first, last) = (self.steps.front()?, self.steps.back()?);
        let images: usize = self.steps.iter().map(|s| s.2).sum();
        let evaluating: f64 = self.steps.iter().map(|s| s.3).sum();
        let wall = last.1 - first.0 - evaluating;
        (wall > 0.0).then(|| images as f64 * 1000.0 / wall)
    }
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    on_click(app, "step", |app| start_steps(app, 1, NO_BUDGET_MS))?;
    on_click(app, "step10", |app| start_steps(app, 10, NO_BUDGET_MS))?;
    on_click(app, "run", run)?;
    on_click(app, "pause", pause)?;
    on_click(app, "reset", reset)?;
    on_click(app, "evaluate", evaluate)?;
    Ok(())
}

/// `Step` and `Step ×10`: the speed shown is these steps'.
fn start_steps(app: &Shared, steps: usize, budget_ms: f64) {
    if app.borrow().run.stepping {
        return;
    }
    app.borrow_mut().run.speed.clear();
    request_steps(app, steps, budget_ms);
}

/// Asks for `steps` steps (within `budget_ms`); when running, asks again until done, paused or stopped.
pub fn request_steps(app: &Shared, steps: usize, budget_ms: f64) {
    if app.borrow().run.stepping || !workers_synced(app) {
        return;
    }
    if app.borrow().rpc.helpers() > 0 {
        app.borrow_mut().parallel.queued = steps;
        parallel_step(app);
        return;
    }
    app.borrow_mut().run.stepping = true;
    let sent = now_ms();
    send(
        app,
        Request::Step { steps, budget_ms },
        None,
        None,
        move |app, reply, _| {
            app.borrow_mut().run.stepping = false;
            if let Response::Progress(progress) = &reply {
                // The page's images/s: wall time from request to reply, messages included, a test-set
                // evaluation left out; measured as for several workers.
                app.borrow_mut().run.speed.record(
                    sent,
                    now_ms(),
                    progress.images,
                    progress.batches.len(),
                    progress.eval_ms,
                );
            }
            on_progress(app, reply);
        },
    );
}

/// A step's reply: the counter, the curves, the status line; asks for more while running.
pub fn on_progress(app: &Shared, reply: Response) {
    let document = app.borrow().document.clone();
    let progress: Progress = match reply {
        Response::Progress(progress) => progress,
        Response::Error { message } => {
            show_error(app, "train-message", &message);
            app.borrow_mut().run.running = false;
            update_counters(app);
            return;
        }
        other => {
            report("unexpected reply to a step", &JsValue::from_str(&format!("{other:?}")));
            return;
        }
    };
    if let Some(notice) = &progress.notice {
        super::backend::fell_back(app, notice);
    }
    if let Some(step) = progress.rewound_to {
        super::backend::rewind(app, step);
    }
    let finished = progress.finished;
    let stopped = progress.stopped.clone();
    {
        let mut this = app.borrow_mut();
        let run = &mut this.run;
        run.batches.extend(progress.batches.iter().map(|b| (b.step, b.loss)));
        if run.batches.len() > MAX_BATCH_POINTS {
            // Keep every other point: the line keeps its shape and the chart stays cheap to draw.
            run.batches = run.batches.iter().step_by(2).copied().collect();
        }
        run.points.extend(progress.points.iter().copied());
        run.steps_done = progress.steps_done;
        run.total_steps = progress.total_steps;
        if finished || stopped.is_some() {
            run.running = false;
        }
    }
    // While running, the next request goes out before the page draws: the worker trains while this thread
    // draws the curves, instead of waiting for it between every two requests.
    let running = app.borrow().run.running;
    if running {
        let remaining = {
            let run = &app.borrow().run;
            run.total_steps.saturating_sub(run.steps_done)
        };
        request_steps(app, remaining, RUN_BUDGET_MS);
    }
    super::network::on_progress(app, &progress);
    super::inspector::on_progress(app, &progress);
    let last = app.borrow().run.points.last().copied();
    let mut status = format!("Step {} of {}", progress.steps_done, progress.total_steps);
    if let Some(batch) = progress.batches.last() {
        status += &format!(": batch loss {:.3}", batch.loss);
    }
    if let Some(point) = last {
        status += &format!(
            "; test accuracy {:.2} % at step {} (whole test set)",
            100.0 * point.test_accuracy,
            point.step
        );
    }
    if finished {
        status += ". Finished.";
    }
    let _ = set_text(&document, "train-status", &status);
    match &stopped {
        Some(reason) => {
            let _ = set_error(&document, "train-message", reason);
        }
        // Training goes on: an error about an earlier file no longer applies.
        None => {
            let _ = clear_error(&document, "data-message");
        }
    }
    if !running {
        // The one announcement per click or run: where training stopped.
        let _ = set_text(&document, "train-announce", &status);
        // Where a run stops (paused, finished, a click's steps done) it is kept, and a lesson compares.
        super::history::record(app);
        super::lessons::run_stopped(app, finished);
    }
    redraw(app, !running);
    update_counters(app);
    super::recovery::maybe_snapshot(app);
    if running {
        return; // the next request went out above
    }
    let queued = app.borrow().parallel.queued;
    if queued > 0 && !finished && stopped.is_none() {
        parallel_step(app);
    } else if app.borrow().queue.current.is_some() && (finished || stopped.is_some()) {
        super::experiments::row_done(app, last.map(|p| p.test_accuracy), stopped);
    }
}

/// The counter, the images/s and which buttons apply now.
pub fn update_counters(app: &Shared) {
    let this = app.borrow();
    let document = &this.document;
    let run = &this.run;
    let _ = set_text(document, "step-counter", &run.steps_done.to_string());
    let _ = set_text(document, "step-total", &run.total_steps.to_string());
    let speed = run.speed.rate().map_or("–".to_string(), |s| format!("{s:.0}"));
    let _ = set_text(document, "speed", &speed);
    let remaining = run.total_steps.saturating_sub(run.steps_done);
    let left = match run.speed.time_left(remaining) {
        Some(seconds) => format!("≈ {}", crate::train::format_duration(seconds)),
        None if remaining > 0 => "after a step".to_string(),
        None => "–".to_string(),
    };
    let _ = set_text(document, "time-left", &left);
    let button = |id: &str, disabled: bool| {
        let _ = typed::<HtmlButtonElement>(document, id).map(|b| b.set_disabled(disabled));
    };
    button("pause", !run.running);
    button("run", run.running || !this.ready);
    let idle = !run.running && this.ready;
    button("step", !idle);
    button("step10", !idle);
    let queue = this.queue.current.is_some();
    button("run-experiments", queue || !this.ready);
    button("stop-experiments", !queue);
}

/// Redraws the chart (at most every [`REDRAW_MS`] unless `force`).
pub fn redraw(app: &Shared, force: bool) {
    let now = now_ms();
    let mut this = app.borrow_mut();
    if !force && now - this.run.last_draw_ms < REDRAW_MS {
        return;
    }
    this.run.last_draw_ms = now;
    let mut extras = this.chart.extras(&this.run.batches);
    extras.text_px = super::classroom::fit_chart(&this.document);
    match view::draw_training_chart("curves", &this.run.points, &extras) {
        Ok(layout) => this.chart.layout = layout,
        Err(error) => report("could not draw the curves", &error),
    }
}

pub fn run(app: &Shared) {
    {
        let mut this = app.borrow_mut();
        if this.run.running || !this.ready {
            return;
        }
        this.run.running = true;
        this.run.speed.clear();
    }
    let _ = set_text(&app.borrow().document.clone(), "train-message", "");
    update_counters(app);
    let remaining = {
        let run = &app.borrow().run;
        run.total_steps.saturating_sub(run.steps_done).max(1)
    };
    request_steps(app, remaining, RUN_BUDGET_MS);
}

pub fn pause(app: &Shared) {
    app.borrow_mut().run.running = false;
    app.borrow_mut().parallel.queued = 0;
    update_counters(app);
}

pub fn reset(app: &Shared) {
    reset_saying(app, "Reset: a fresh model from the seed.".into());
}

/// Starts over on every worker, then shows `message` as the training status.
pub fn reset_saying(app: &Shared, message: String) {
    pause(app);
    mirror(app, &Request::Reset, None);
    send(app, Request::Reset, None, None, move |app, reply, pixels| {
        let document = app.borrow().document.clone();
        let _ = set_text(&document, "train-status", &message);
        let _ = set_text(&document, "train-message", "");
        show_state(app, reply, &in_wasm(&pixels));
    });
}

fn evaluate(app: &Shared) {
    let document = app.borrow().document.clone();
    let _ = set_text(&document, "train-status", "Evaluating on the whole test set…");
    send(app, Request::Evaluate, None, None, |app, reply, _| {
        let document = app.borrow().document.clone();
        match reply {
            Response::Evaluation { loss, accuracy, images } => {
                let text = format!(
                    "Test loss {loss:.4}, test accuracy {:.2} % on all {images} test images (step {}).",
                    100.0 * accuracy,
                    app.borrow().run.steps_done
                );
                let _ = set_text(&document, "train-status", &text);
            }
            other => show_error(app, "train-message", &other.message()),
        }
    });
}
