//! A hung worker is not a hung page. A worker stuck in an endless loop does not trap: it never answers again
//! and never says why, so [`super::recovery`] would wait for ever. The page notes, for each worker, the replies
//! it owes and when it was last heard from; once a worker that owes a reply has been silent for
//! [`HANG_MS`] (or [`SLOW_FACTOR`] times the longest silence after which a worker did answer, on a machine
//! that slow), the page says so and offers to restart it: the dead worker's recovery (a new worker, the data
//! and configuration restored, the run resumable from its snapshot). A worker that was only slow and answers
//! after all withdraws the notice.
//!
//! For the end-to-end tests, `globalThis.backpropLabHangMs` (a number of milliseconds) replaces [`HANG_MS`]:
//! a hung worker is then noticed in seconds. Nothing on the page sets it.
use std::collections::BTreeMap;

use gloo::timers::callback::Interval;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use super::app::{now_ms, on_click, Shared};
use super::recovery::worker_name;
use super::view::{hide, set_error, set_text, show};

/// How long a worker owing a reply may stay silent before the page says it is not answering. Generous: a
/// test-set evaluation of the course's ConvNet takes about a minute on a slow machine.
pub const HANG_MS: f64 = 90_000.0;
/// The silence allowed grows to this many times the longest silence a worker ended by answering.
pub const SLOW_FACTOR: f64 = 3.0;
/// How often the page looks.
const CHECK_MS: u32 = 1000;

/// One worker's side: the replies it owes and since when it has been silent.
#[derive(Default)]
pub struct Watch {
    /// The requests awaiting a reply (id → the request's type), oldest first.
    owed: BTreeMap<u32, String>,
    /// When the worker was last heard from, or was last sent a request while owing nothing, if later.
    quiet_since_ms: f64,
}

impl Watch {
    pub fn new(now: f64) -> Self {
        Watch {
            owed: BTreeMap::new(),
            quiet_since_ms: now,
        }
    }

    /// Request `id` (of type `kind`) was sent to the worker.
    pub fn sent(&mut self, id: u32, kind: String, now: f64) {
        if self.owed.is_empty() {
            self.quiet_since_ms = now;
        }
        self.owed.insert(id, kind);
    }

    /// A message from the worker (the reply to `id`, if it is one). Returns the silence it ended, if the worker
    /// owed a reply meanwhile.
    pub fn heard(&mut self, id: Option<u32>, now: f64) -> Option<f64> {
        let silence = (!self.owed.is_empty()).then_some(now - self.quiet_since_ms);
        if let Some(id) = id {
            self.owed.remove(&id);
        }
        self.quiet_since_ms = now;
        silence
    }

    /// How long the worker has been silent while owing a reply, and the oldest request it owes.
    pub fn silence(&self, now: f64) -> Option<(f64, &str)> {
        let (_, kind) = self.owed.first_key_value()?;
        Some((now - self.quiet_since_ms, kind))
    }
}

/// The page's side: the longest silence that ended in an answer, and the worker reported as not answering.
#[derive(Default)]
pub struct Watchdog {
    longest_answered_ms: f64,
    /// The worker reported, with the request it owes.
    reported: Option<(usize, String)>,
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    on_click(app, "restart-worker", restart)?;
    let weak = std::rc::Rc::downgrade(app);
    // The page lives as long as the tab: so does its watchdog.
    Interval::new(CHECK_MS, move || {
        if let Some(app) = weak.upgrade() {
            check(&app);
        }
    })
    .forget();
    Ok(())
}

/// The silence allowed before a worker counts as not answering.
fn limit_ms(longest_answered_ms: f64) -> f64 {
    let base = Reflect::get(&js_sys::global(), &"backpropLabHangMs".into())
        .ok()
        .and_then(|value| value.as_f64())
        .filter(|ms| *ms > 0.0)
        .unwrap_or(HANG_MS);
    base.max(SLOW_FACTOR * longest_answered_ms)
}

/// A message from worker `index` ended a silence of `silence` ms (see [`Watch::heard`]).
pub fn heard(app: &Shared, index: usize, silence: Option<f64>) {
    let withdrawn = {
        let mut this = app.borrow_mut();
        let watchdog = &mut this.watchdog;
        if let Some(silence) = silence {
            watchdog.longest_answered_ms = watchdog.longest_answered_ms.max(silence);
        }
        match &watchdog.reported {
            Some((reported, _)) if *reported == index => watchdog.reported.take().zip(silence),
            _ => None,
        }
    };
    if let Some(((index, _), silence)) = withdrawn {
        let document = app.borrow().document.clone();
        let _ = hide(&document, "restart-worker");
        let message = format!(
            "{} answered after {:.0} s: it was busy, not stuck.",
            worker_name(index),
            silence / 1000.0
        );
        let _ = set_text(&document, "recovery-message", &message);
    }
}

/// Every [`CHECK_MS`]: reports the worker silent longest, once it is past the limit.
fn check(app: &Shared) {
    let now = now_ms();
    let (silent, limit, reported) = {
        let this = app.borrow();
        let silent = this
            .rpc
            .longest_silence(now)
            .map(|(index, ms, kind)| (index, ms, kind.to_string()));
        (
            silent,
            limit_ms(this.watchdog.longest_answered_ms),
            this.watchdog.reported.clone(),
        )
    };
    let Some((index, silence, kind)) = silent.filter(|(_, silence, _)| *silence >= limit) else {
        return;
    };
    // Said once (the message is an alert: a screen reader reads it out).
    if reported.is_some() {
        return;
    }
    app.borrow_mut().watchdog.reported = Some((index, kind.clone()));
    let document = app.borrow().document.clone();
    let message = format!(
        "{} has not answered the page's {kind} request for {:.0} s: it may be stuck in an endless loop, or \
         still busy with a long computation. Restarting it stops it and starts a new one with your data and \
         configuration.",
        worker_name(index),
        silence / 1000.0
    );
    let _ = set_error(&document, "recovery-message", &message);
    let _ = show(&document, "restart-worker");
}

/// `Restart the worker`: the reported worker is stopped and replaced as if it had died.
fn restart(app: &Shared) {
    let Some((index, kind)) = app.borrow_mut().watchdog.reported.take() else {
        return;
    };
    let silence = app.borrow().rpc.longest_silence(now_ms()).map_or(0.0, |(_, ms, _)| ms);
    let document = app.borrow().document.clone();
    let _ = hide(&document, "restart-worker");
    let cause = format!(
        "it had not answered the page's {kind} request for {:.0} s and was restarted",
        silence / 1000.0
    );
    super::recovery::worker_died(app, index, cause);
}

/// Every worker stopped (one died): nothing is reported any more.
pub fn forget(app: &Shared) {
    app.borrow_mut().watchdog.reported = None;
    let document = app.borrow().document.clone();
    let _ = hide(&document, "restart-worker");
}
