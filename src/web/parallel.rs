//! Data-parallel training across Web Workers: every worker computes its share of the batch, the page routes
//! the shares (as the JS arrays they came in) to every worker, and all take the same step. After the first
//! step, the message that applies a step also asks for every worker's share of the next, so a step is one
//! round trip. Helpers are told the data and configuration before they count as ready.
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::HtmlSelectElement;

use super::app::{listen, now_ms, report, show_error, Shared};
use super::files::read_files;
use super::rpc::{file_entry, mirror, send_to, start_worker};
use super::training::{on_progress, pause, reset, reset_saying, update_counters};
use crate::session::{NextShare, Request, Response};

/// The data-parallel step in progress and the helpers' readiness.
#[derive(Default)]
pub struct Parallel {
    /// Helpers that loaded their module, and those that also hold the data and configuration.
    loaded: usize,
    synced: usize,
    /// The shares of the step in progress, by part.
    shares: Vec<Option<Uint8Array>>,
    /// Counts changes of the worker set: replies to a step begun before a change are dropped.
    generation: u32,
    /// Steps still to take one at a time (`Step ×10`, `Run`), and when the current one started.
    pub queued: usize,
    step_started: f64,
}

impl Parallel {
    /// Forgets the step in flight and the helpers' readiness: the set of workers changed.
    pub fn restart(&mut self) {
        self.generation += 1;
        self.shares.clear();
        self.loaded = 0;
        self.synced = 0;
        self.queued = 0;
    }
}

/// Whether every helper holds the data and configuration (always, without helpers).
pub fn workers_synced(app: &Shared) -> bool {
    let this = app.borrow();
    this.parallel.synced == this.rpc.helpers()
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    let weak = std::rc::Rc::downgrade(app);
    listen(app, "workers", "change", move |event| {
        let count = event
            .target()
            .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
            .and_then(|s| s.value().parse().ok())
            .unwrap_or(1);
        if let Some(app) = weak.upgrade() {
            set_workers(&app, count);
        }
    })
}

/// Uses `count` workers: starts or stops helpers; training starts over (every worker from the same seed).
fn set_workers(app: &Shared, count: usize) {
    pause(app);
    {
        // A step in flight loses its helpers' answers: forget it (everyone starts over below).
        let mut this = app.borrow_mut();
        this.rpc.stop_helpers();
        this.parallel.restart();
        this.run.stepping = false;
    }
    for index in 1..count.max(1) {
        if let Err(error) = start_worker(app, index) {
            report("could not start a training worker", &error);
        }
    }
    update_counters(app);
    if app.borrow().rpc.helpers() == 0 {
        reset(app);
    }
}

/// A helper has loaded; once all have, they get the data and the configuration, and once all have decoded
/// them, everyone starts over.
pub fn helper_ready(app: &Shared) {
    let (all, generation) = {
        let mut this = app.borrow_mut();
        this.parallel.loaded += 1;
        (this.parallel.loaded == this.rpc.helpers(), this.parallel.generation)
    };
    if !all {
        return;
    }
    let files = app.borrow().data.files.clone();
    let query = app.borrow().form.query.clone();
    read_files(
        app,
        files,
        Box::new(move |app, read| {
            if read.length() > 0 {
                mirror(app, &Request::AddFiles, Some(&read));
            }
            // A worker answers in order: its reply to `configure` comes after it decoded the files.
            let helpers = app.borrow().rpc.helpers();
            for index in 1..=helpers {
                let request = Request::Configure { query: query.clone() };
                send_to(app, index, request, None, None, move |app, reply, _| {
                    if let Response::Error { message } = reply {
                        show_error(app, "train-message", &message);
                    }
                    helper_synced(app, generation);
                });
            }
        }),
    );
}

fn helper_synced(app: &Shared, generation: u32) {
    let all = {
        let mut this = app.borrow_mut();
        if this.parallel.generation != generation {
            return;
        }
        this.parallel.synced += 1;
        this.parallel.synced == this.rpc.helpers()
    };
    if all {
        let workers = app.borrow().rpc.helpers() + 1;
        reset_saying(
            app,
            format!("{workers} workers ready: each computes its slice of every batch. Training starts over."),
        );
        super::recovery::offer_resume(app);
    }
}

/// One data-parallel step: every worker computes its share of the batch; once all shares are in, every
/// worker gets all of them and takes the same step. Only the main worker evaluates; its answer drives the
/// page. While more steps are queued, each worker computes its share of the next step in the same message
/// that applies the current one ([`apply_shares`]), so after the first step a step is one round trip.
pub fn parallel_step(app: &Shared) {
    let (parts, generation) = {
        let mut this = app.borrow_mut();
        if this.run.stepping || this.parallel.queued == 0 {
            return;
        }
        this.run.stepping = true;
        let parts = this.rpc.helpers() + 1;
        let parallel = &mut this.parallel;
        parallel.queued -= 1;
        parallel.step_started = now_ms();
        parallel.shares = vec![None; parts];
        (parts, parallel.generation)
    };
    for part in 0..parts {
        let request = Request::PartialStep { part, parts };
        send_to(app, part, request, None, None, move |app, reply, share| {
            if app.borrow().parallel.generation != generation {
                return;
            }
            if !matches!(reply, Response::Partial { .. }) {
                app.borrow_mut().run.stepping = false;
                app.borrow_mut().parallel.queued = 0;
                on_progress(app, reply);
                return;
            }
            store_share(app, part, share);
            if shares_complete(app) {
                apply_shares(app, false);
            }
        });
    }
}

/// Keeps a worker's share, as the JS array it came in, as part `part` of the step.
fn store_share(app: &Shared, part: usize, share: Option<Uint8Array>) {
    if let Some(slot) = app.borrow_mut().parallel.shares.get_mut(part) {
        *slot = share;
    }
}

fn shares_complete(app: &Shared) -> bool {
    let shares = &app.borrow().parallel.shares;
    !shares.is_empty() && shares.iter().all(Option::is_some)
}

/// Sends every worker all shares of a step. If another step is queued it is claimed now and every worker
/// also computes its share of it (`next`); the replies then carry those shares, and once all are in this
/// runs again (`continuation`) without a separate `partial-step` round.
fn apply_shares(app: &Shared, continuation: bool) {
    let (generation, next, started, shares) = {
        let mut this = app.borrow_mut();
        let parallel = &mut this.parallel;
        let next = parallel.queued > 0;
        if next {
            parallel.queued -= 1;
        }
        if continuation {
            parallel.step_started = now_ms();
        }
        let shares: Vec<Uint8Array> = parallel.shares.drain(..).flatten().collect();
        if next {
            parallel.shares = vec![None; shares.len()];
        }
        (parallel.generation, next, parallel.step_started, shares)
    };
    let parts = shares.len();
    for target in (0..parts).rev() {
        let files: Array = shares
            .iter()
            .enumerate()
            .map(|(part, bytes)| {
                // The main worker (sent last) gets the originals; the helpers get copies.
                let bytes = if target == 0 {
                    bytes.clone()
                } else {
                    Uint8Array::new(bytes)
                };
                file_entry(&format!("share {part}").into(), &bytes)
            })
            .collect();
        let request = Request::ApplyStep {
            evaluate: target == 0,
            next: next.then_some(NextShare { part: target, parts }),
        };
        send_to(app, target, request, Some(files), None, move |app, reply, share| {
            if app.borrow().parallel.generation != generation {
                return;
            }
            let progress = match &reply {
                Response::Progress(progress) => Some(progress),
                _ => None,
            };
            // A worker that finished or stopped computes no next share: the pipeline ends with this step.
            let share_in = next && progress.is_some_and(|p| p.next_share.is_some());
            if share_in {
                store_share(app, target, share);
            } else if next {
                let mut this = app.borrow_mut();
                this.parallel.shares.clear();
                this.parallel.queued = 0;
            }
            let ended = now_ms();
            // The last share of the next step in: send it on before the page draws, so the workers go on.
            if share_in && shares_complete(app) {
                apply_shares(app, true);
            }
            if target != 0 {
                if let Some(reason) = progress.and_then(|p| p.stopped.as_ref()) {
                    show_error(app, "train-message", reason);
                }
                if next && !share_in {
                    // A helper stopped while the main worker went on: end the run here.
                    app.borrow_mut().run.stepping = false;
                    app.borrow_mut().run.running = false;
                    update_counters(app);
                }
                return;
            }
            if let Some(progress) = progress {
                // The page's images/s: wall time of the whole step, shares and messages included, an
                // evaluation of the test set left out (as with one worker).
                let speed = &mut app.borrow_mut().run.speed;
                speed.record(
                    started,
                    ended,
                    progress.images,
                    progress.batches.len(),
                    progress.eval_ms,
                );
            }
            if !share_in {
                app.borrow_mut().run.stepping = false;
            }
            on_progress(app, reply);
        });
    }
}
