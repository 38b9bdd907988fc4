//! A dead worker is not a dead page. A worker traps when it runs out of memory or panics: its module is then
//! unusable, `www/worker.js` says so (`{ trapped }`, after the panic hook's `{ panic }` when there was one) and
//! closes. The page then says what happened, stops every worker (helpers included: their run can no longer
//! take data-parallel steps with the dead one), starts new ones, gives them the data (the files kept in
//! [`super::files::DataFiles`]) and the configuration (the query) again, and offers to resume from the latest
//! snapshot of the run, a saved run ([`crate::train::checkpoint`]) it asks the main worker for every
//! [`SNAPSHOT_MS`] while training and whenever training stops.
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::HtmlButtonElement;

use super::app::{became_interactive, now_ms, on_click, show_state, Shared};
use super::experiments;
use super::files::read_files;
use super::parallel::workers_synced;
use super::rpc::{copy_files, file_entry, in_wasm, mirror, send, start_worker};
use super::training::{pause, update_counters};
use super::view::{hide, set_error, set_text, show, typed};
use crate::session::{Request, Response};

/// How often the page asks for a snapshot while training (and always when training stops).
pub const SNAPSHOT_MS: f64 = 5000.0;
/// More deaths than this within [`DEATH_WINDOW_MS`]: the page stops starting workers (one that dies as it
/// starts would otherwise be restarted for ever).
const MAX_DEATHS: usize = 3;
const DEATH_WINDOW_MS: f64 = 60_000.0;

/// What the page keeps to bring a dead worker back.
#[derive(Default)]
pub struct Recovery {
    /// The latest snapshot of the run: its step and its bytes (kept in JS memory, not in wasm).
    snapshot: Option<(usize, Uint8Array)>,
    last_snapshot_ms: f64,
    snapshot_pending: bool,
    /// The panic message a worker sent just before it trapped.
    panic: Option<String>,
    /// When workers died lately.
    deaths: Vec<f64>,
    /// New workers are being given the data and configuration; the main one is done when `main_restored`.
    /// The helpers start after it (they then sync as when the number of workers changes), one file read at a
    /// time.
    restoring: bool,
    main_restored: bool,
    helpers: usize,
    /// The files a worker is decoding (if it dies meanwhile, they are why: they are not loaded again).
    decoding: Vec<String>,
    /// What the page says happened, and the snapshot it offers to resume from.
    what_happened: String,
    offer: Option<(usize, Uint8Array)>,
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    on_click(app, "resume-run", resume)
}

/// The main worker is decoding `files` (empty: done).
pub fn decoding(app: &Shared, files: Vec<String>) {
    app.borrow_mut().recovery.decoding = files;
}

/// Whether a new main worker should be restored rather than started afresh (see [`restore_main`]).
pub fn restoring(app: &Shared) -> bool {
    app.borrow().recovery.restoring
}

/// A worker's panic message, sent by its panic hook just before it traps.
pub fn panicked(app: &Shared, message: String) {
    app.borrow_mut().recovery.panic = Some(message);
}

/// Worker `index` died (`what`: the trap or the error event's message): stop all, start new ones.
pub fn worker_died(app: &Shared, index: usize, what: String) {
    let now = now_ms();
    let give_up = {
        let mut this = app.borrow_mut();
        let helpers = this.rpc.helpers();
        let recovery = &mut this.recovery;
        recovery.deaths.retain(|&time| now - time < DEATH_WINDOW_MS);
        recovery.deaths.push(now);
        let mut cause = match recovery.panic.take() {
            Some(panic) => format!("{panic} ({what})"),
            None => what,
        };
        if !recovery.decoding.is_empty() {
            let files = std::mem::take(&mut recovery.decoding).join(", ");
            cause += &format!(", while decoding {files} (not loaded again; the data loaded before is kept)");
        }
        recovery.what_happened = format!("{} stopped: {cause}.", worker_name(index));
        if recovery.offer.is_none() {
            recovery.offer = recovery.snapshot.take();
        }
        recovery.snapshot_pending = false;
        let give_up = recovery.deaths.len() > MAX_DEATHS;
        recovery.restoring = !give_up;
        recovery.main_restored = false;
        recovery.helpers = helpers;
        // Every worker goes: the replies they owed will never come.
        this.rpc.stop_all();
        this.parallel.restart();
        this.run.stepping = false;
        this.ready = false;
        give_up
    };
    super::watchdog::forget(app);
    if app.borrow().queue.current.is_some() {
        experiments::stop(app);
    }
    super::transfer::worker_died(app);
    pause(app);
    let document = app.borrow().document.clone();
    let _ = hide(&document, "resume-run");
    let step = app.borrow().run.steps_done;
    let _ = set_text(
        &document,
        "train-status",
        &format!("Training stopped at step {step}: the worker died."),
    );
    if give_up {
        let message = format!(
            "{} Workers stopped {} times within a minute: no new one was started. Reload the page.",
            app.borrow().recovery.what_happened,
            MAX_DEATHS + 1
        );
        let _ = set_error(&document, "recovery-message", &message);
        return;
    }
    let message = format!(
        "{} Starting a new worker and giving it your data and configuration…",
        app.borrow().recovery.what_happened
    );
    let _ = set_error(&document, "recovery-message", &message);
    let _ = set_text(&document, "status", "Restarting the training worker…");
    start_workers(app, 0..1);
}

/// "The training worker" (worker 0) or "Helper worker N", as the page names them.
pub fn worker_name(index: usize) -> String {
    if index == 0 {
        "The training worker".into()
    } else {
        format!("Helper worker {index}")
    }
}

fn start_workers(app: &Shared, workers: std::ops::Range<usize>) {
    for worker in workers {
        if let Err(error) = start_worker(app, worker) {
            let document = app.borrow().document.clone();
            let _ = set_error(
                &document,
                "recovery-message",
                &format!("Could not start a new worker: {error:?}"),
            );
            return;
        }
    }
}

/// The new main worker has loaded: give it the data and the configuration again.
pub fn restore_main(app: &Shared) {
    let (files, query) = {
        let this = app.borrow();
        (this.data.files.clone(), this.form.query.clone())
    };
    read_files(
        app,
        files,
        Box::new(move |app, read| {
            if read.length() > 0 {
                send(app, Request::AddFiles, Some(read), None, |app, reply, _| {
                    if let Response::Error { message } = reply {
                        let document = app.borrow().document.clone();
                        let _ = set_error(&document, "data-message", &message);
                    }
                });
            }
            // The worker answers in order: this reply comes after the files were decoded.
            send(app, Request::Configure { query }, None, None, |app, reply, pixels| {
                show_state(app, reply, &in_wasm(&pixels));
                became_interactive(app);
                app.borrow_mut().recovery.main_restored = true;
                let helpers = app.borrow().recovery.helpers;
                start_workers(app, 1..helpers + 1);
                offer_resume(app);
            });
        }),
    );
}

/// Once the main worker and every helper hold the data and configuration again: say so, and offer the
/// snapshot.
pub fn offer_resume(app: &Shared) {
    {
        let this = app.borrow();
        if !this.recovery.restoring || !this.recovery.main_restored {
            return;
        }
    }
    if !workers_synced(app) {
        return;
    }
    let (message, step) = {
        let mut this = app.borrow_mut();
        let recovery = &mut this.recovery;
        recovery.restoring = false;
        let step = recovery.offer.as_ref().map(|(step, _)| *step);
        let then = match step {
            Some(step) => format!(" The run can resume from its snapshot at step {step}."),
            None => " No snapshot of the run had been taken yet: training starts over.".to_string(),
        };
        (
            format!(
                "{} A new worker holds your data and configuration again.{then}",
                recovery.what_happened
            ),
            step,
        )
    };
    let document = app.borrow().document.clone();
    let _ = set_error(&document, "recovery-message", &message);
    if let (Some(step), Ok(button)) = (step, typed::<HtmlButtonElement>(&document, "resume-run")) {
        button.set_text_content(Some(&format!("Resume from step {step}")));
        button.set_disabled(false);
        let _ = show(&document, "resume-run");
    }
}

/// Resumes every worker from the snapshot offered.
fn resume(app: &Shared) {
    let Some((step, bytes)) = app.borrow_mut().recovery.offer.take() else {
        return;
    };
    let document = app.borrow().document.clone();
    let _ = hide(&document, "resume-run");
    let files: Array = [file_entry(&"snapshot".into(), &bytes)].into_iter().collect();
    mirror(app, &Request::ResumeRun, Some(&files));
    send(
        app,
        Request::ResumeRun,
        Some(copy_files(&files)),
        None,
        move |app, reply, pixels| {
            let document = app.borrow().document.clone();
            match reply {
                Response::State(_) => {
                    show_state(app, reply, &in_wasm(&pixels));
                    let message = format!("Resumed from the snapshot at step {step}.");
                    let _ = set_text(&document, "recovery-message", &message);
                    let _ = set_text(&document, "train-status", &message);
                }
                other => {
                    let _ = set_error(&document, "recovery-message", &other.message());
                }
            }
            update_counters(app);
        },
    );
}

/// A state reply: a run at step 0 is a new run (new data, configuration or a reset), so the snapshot of the
/// old one no longer applies.
pub fn on_state(app: &Shared, steps_done: usize) {
    if steps_done == 0 {
        app.borrow_mut().recovery.snapshot = None;
        let document = app.borrow().document.clone();
        let _ = set_text(&document, "snapshot-status", "");
    }
}

/// After a step's reply: asks the main worker for a snapshot if the last is older than [`SNAPSHOT_MS`] or
/// training stopped.
pub fn maybe_snapshot(app: &Shared) {
    let now = now_ms();
    {
        let mut this = app.borrow_mut();
        let (steps_done, running) = (this.run.steps_done, this.run.running);
        let recovery = &mut this.recovery;
        let current = recovery.snapshot.as_ref().is_some_and(|(step, _)| *step == steps_done);
        let due = !running || now - recovery.last_snapshot_ms >= SNAPSHOT_MS;
        if recovery.snapshot_pending || recovery.restoring || steps_done == 0 || current || !due {
            return;
        }
        recovery.snapshot_pending = true;
        recovery.last_snapshot_ms = now;
    }
    send(app, Request::SaveRun, None, None, |app, reply, bytes| {
        let mut this = app.borrow_mut();
        this.recovery.snapshot_pending = false;
        if let (Response::Snapshot { step, .. }, Some(bytes)) = (reply, bytes) {
            this.recovery.snapshot = Some((step, bytes));
            let document = this.document.clone();
            drop(this);
            let text = format!("Snapshot for recovery: step {step}, kept in this tab.");
            let _ = set_text(&document, "snapshot-status", &text);
        }
    });
}
