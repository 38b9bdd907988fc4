//! The page's controller on the main thread: wires the controls, talks to the training worker, and hands
//! each reply to `view`. It keeps only what the page shows (curve points, the run state); the session with
//! the data and the model lives in the worker.
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use web_sys::{
    Blob, BlobPropertyBag, Document, DragEvent, Element, Event, File, FileList, FileReader, HtmlAnchorElement,
    HtmlButtonElement, HtmlCanvasElement, HtmlElement, HtmlImageElement, HtmlInputElement, HtmlProgressElement,
    HtmlSelectElement, MessageEvent, ProgressEvent, Url, Worker, WorkerOptions, WorkerType,
};

use super::view::{self, element, set_error, set_text, typed};
use crate::train::CurvePoint;

type Shared = Rc<RefCell<App>>;
/// A reply's handler: the JSON, and the bytes beside it still in JS memory ([`in_wasm`] reads them in; a
/// data-parallel share only passes through to the workers and never needs to).
type OnReply = Box<dyn FnOnce(&Shared, Value, Option<Uint8Array>)>;

/// The bytes beside a reply, copied into wasm memory (empty when there are none).
fn in_wasm(bytes: &Option<Uint8Array>) -> Vec<u8> {
    bytes.as_ref().map(Uint8Array::to_vec).unwrap_or_default()
}
type OnRead = Box<dyn FnOnce(&Shared, Array)>;

/// Milliseconds of training per worker message while running: the worker answers (and the chart moves)
/// about five times a second, and a Pause takes effect within that time.
const RUN_BUDGET_MS: f64 = 200.0;
/// The budget of `Step` and `Step ×10`: all the steps asked for (JSON has no infinity).
const NO_BUDGET_MS: f64 = 1e12;
/// Redraw the chart at most this often while running.
const REDRAW_MS: f64 = 250.0;
/// Batch-loss points kept for the chart (older ones are thinned out).
const MAX_BATCH_POINTS: usize = 4000;
/// Test images in the gallery.
const GALLERY: usize = 40;
/// The seed of the suite check (the one the native and wasm tests check).
const SUITE_SEED: u64 = super::GRADCHECK_SEED;

/// The controls that need a loaded model; enabled once the worker is ready.
const CONTROLS: [&str; 15] = [
    "use-synthetic",
    "apply-config",
    "step",
    "step10",
    "run",
    "reset",
    "evaluate",
    "export-csv",
    "export-png",
    "check-gradients",
    "check-suite",
    "show-filters",
    "show-results",
    "run-experiments",
    "pause",
];

/// One row of the experiments queue.
struct Experiment {
    label: String,
    query: String,
    report: Option<f64>,
    result: Option<f64>,
    status: String,
}

pub struct App {
    document: Document,
    /// The training worker: its session is the one the page shows.
    worker: Worker,
    /// More workers for data-parallel training (each holds the same data and model, and computes its slice
    /// of every batch); empty with one worker.
    helpers: Vec<Worker>,
    helpers_ready: usize,
    /// The shares of the data-parallel step in progress, by part.
    shares: Vec<Option<Uint8Array>>,
    /// Counts changes of the worker set: replies to a step begun before a change are dropped.
    generation: u32,
    /// Steps still to take one at a time (data-parallel `Step ×10`), and when the current one started.
    queued: usize,
    step_started: f64,
    /// The files of the loaded data (replayed to new helpers), and those waiting for their missing part.
    data_files: Vec<File>,
    pending_files: Vec<File>,
    /// The configuration as the worker last confirmed it.
    query: String,
    next_id: u32,
    callbacks: HashMap<u32, OnReply>,
    started_ms: f64,
    ready: bool,
    /// Curve points of the current run, and each step's batch loss.
    points: Vec<CurvePoint>,
    batches: Vec<(usize, f64)>,
    steps_done: usize,
    total_steps: usize,
    running: bool,
    /// A step request is on its way (only one at a time).
    stepping: bool,
    last_draw_ms: f64,
    /// Smoothed images/s of recent steps.
    speed: Option<f64>,
    presets: Vec<Value>,
    experiments: Vec<Experiment>,
    /// Index of the queue's current row, while the queue runs.
    experiment: Option<usize>,
    experiment_curves: Vec<(String, Vec<CurvePoint>)>,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

fn report(what: &str, error: &JsValue) {
    web_sys::console::error_2(&format!("backprop-lab: {what}:").into(), error);
}

/// Starts the worker and wires the page; the controls come alive when the worker says it is ready.
pub fn mount(document: &Document) -> Result<(), JsValue> {
    let worker = start_worker()?;
    let app = Rc::new(RefCell::new(App {
        document: document.clone(),
        worker,
        helpers: Vec::new(),
        helpers_ready: 0,
        shares: Vec::new(),
        generation: 0,
        queued: 0,
        step_started: 0.0,
        data_files: Vec::new(),
        pending_files: Vec::new(),
        query: String::new(),
        next_id: 0,
        callbacks: HashMap::new(),
        started_ms: now_ms(),
        ready: false,
        points: Vec::new(),
        batches: Vec::new(),
        steps_done: 0,
        total_steps: 0,
        running: false,
        stepping: false,
        last_draw_ms: 0.0,
        speed: None,
        presets: Vec::new(),
        experiments: Vec::new(),
        experiment: None,
        experiment_curves: Vec::new(),
    }));
    let worker = app.borrow().worker.clone();
    attach(&app, &worker, 0);
    // One worker per core, at most 8 (the main thread keeps drawing).
    let cores = web_sys::window().map_or(1.0, |w| w.navigator().hardware_concurrency()) as usize;
    let select: HtmlSelectElement = typed(document, "workers")?;
    for count in 2..=cores.clamp(1, 8) {
        let option = document.create_element("option")?;
        option.set_attribute("value", &count.to_string())?;
        option.set_text_content(Some(&count.to_string()));
        select.append_child(&option)?;
    }
    wire(&app)?;
    register_service_worker();
    Ok(())
}

/// Starts a module worker running `www/worker.js`.
fn start_worker() -> Result<Worker, JsValue> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    Worker::new_with_options("./worker.js", &options)
}

/// Routes the messages of worker `index` (0: the main training worker) to the page.
fn attach(app: &Shared, worker: &Worker, index: usize) {
    let on_message = {
        let app = Rc::clone(app);
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| on_worker_message(&app, index, event))
    };
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let on_error = Closure::<dyn FnMut(Event)>::new(move |_event: Event| {
        report(
            "a training worker failed",
            &JsValue::from_str("see the worker's error above"),
        );
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
}

/// Offline support (www/sw.js); a page opened from a file or a non-secure origin simply goes without.
fn register_service_worker() {
    let Some(window) = web_sys::window() else { return };
    if !window.is_secure_context() {
        return;
    }
    let promise = window.navigator().service_worker().register("./sw.js");
    let ignore = Closure::<dyn FnMut(JsValue)>::new(|error: JsValue| {
        web_sys::console::warn_2(&"backprop-lab: offline cache unavailable:".into(), &error);
    });
    let _ = promise.catch(&ignore);
    ignore.forget();
}

fn on_worker_message(app: &Shared, index: usize, event: MessageEvent) {
    let data = event.data();
    if Reflect::get(&data, &"ready".into()).ok().and_then(|v| v.as_bool()) == Some(true) {
        if index == 0 {
            on_ready(app);
        } else {
            helper_ready(app);
        }
        return;
    }
    let id = Reflect::get(&data, &"id".into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(-1.0) as u32;
    let json = Reflect::get(&data, &"json".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let callback = app.borrow_mut().callbacks.remove(&id);
    let value: Value = serde_json::from_str(&json).unwrap_or_else(
        |error| json!({ "type": "error", "message": format!("the worker's reply is not JSON: {error}") }),
    );
    let pixels = Reflect::get(&data, &"pixels".into())
        .ok()
        .and_then(|v| v.dyn_into::<Uint8Array>().ok());
    if let Some(callback) = callback {
        callback(app, value, pixels);
    }
}

/// Sends `request` to the main training worker; `on_reply` gets its answer.
fn send(
    app: &Shared,
    request: Value,
    files: Option<Array>,
    pixels: Option<Uint8Array>,
    on_reply: impl FnOnce(&Shared, Value, Option<Uint8Array>) + 'static,
) {
    send_to(app, 0, request, files, pixels, on_reply);
}

/// `files` with each file's bytes copied (a message moves the bytes it carries).
fn copy_files(files: &Array) -> Array {
    files
        .iter()
        .map(|file| {
            let entry = Object::new();
            let name = Reflect::get(&file, &"name".into()).unwrap_or(JsValue::UNDEFINED);
            let bytes = Reflect::get(&file, &"bytes".into())
                .ok()
                .and_then(|b| b.dyn_into::<Uint8Array>().ok())
                .map(|b| Uint8Array::new(&b))
                .unwrap_or_else(|| Uint8Array::new_with_length(0));
            let _ = Reflect::set(&entry, &"name".into(), &name);
            let _ = Reflect::set(&entry, &"bytes".into(), &bytes);
            JsValue::from(entry)
        })
        .collect()
}

/// Sends a state-changing request to every helper worker too, so that all hold the same data and model
/// (call before `send`, which may move the files' bytes).
fn mirror(app: &Shared, request: &Value, files: Option<&Array>) {
    let helpers = app.borrow().helpers.len();
    for index in 1..=helpers {
        send_to(
            app,
            index,
            request.clone(),
            files.map(copy_files),
            None,
            |app, reply, _| {
                if reply["type"] == "error" {
                    show_error(app, "train-message", &reply);
                }
            },
        );
    }
}

/// Sends `request` to worker `target` (0: the main training worker, then the helpers).
fn send_to(
    app: &Shared,
    target: usize,
    request: Value,
    files: Option<Array>,
    pixels: Option<Uint8Array>,
    on_reply: impl FnOnce(&Shared, Value, Option<Uint8Array>) + 'static,
) {
    let mut this = app.borrow_mut();
    let id = this.next_id;
    this.next_id += 1;
    this.callbacks.insert(id, Box::new(on_reply));
    let message = Object::new();
    let transfer = Array::new();
    let _ = Reflect::set(&message, &"id".into(), &id.into());
    let _ = Reflect::set(&message, &"request".into(), &request.to_string().into());
    if let Some(files) = files {
        for file in files.iter() {
            if let Ok(bytes) = Reflect::get(&file, &"bytes".into()).and_then(|b| b.dyn_into::<Uint8Array>()) {
                transfer.push(&bytes.buffer());
            }
        }
        let _ = Reflect::set(&message, &"files".into(), &files);
    }
    if let Some(pixels) = pixels {
        transfer.push(&pixels.buffer());
        let _ = Reflect::set(&message, &"pixels".into(), &pixels);
    }
    let worker = if target == 0 {
        this.worker.clone()
    } else {
        match this.helpers.get(target - 1) {
            Some(helper) => helper.clone(),
            None => return,
        }
    };
    if let Err(error) = worker.post_message_with_transfer(&message, &transfer) {
        report("could not reach the training worker", &error);
    }
}

fn on_ready(app: &Shared) {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let first = if query.trim_start_matches('?').is_empty() {
        json!({ "type": "state" })
    } else {
        json!({ "type": "configure", "query": query })
    };
    send(app, first, None, None, |app, reply, pixels| {
        let reply = if reply["type"] == "error" {
            // A shared link with a bad value: say so and start from the defaults.
            let message = format!(
                "The link's configuration was not used: {}",
                reply["message"].as_str().unwrap_or("")
            );
            send(
                app,
                json!({ "type": "state" }),
                None,
                None,
                move |app, reply, pixels| {
                    show_state(app, &reply, &in_wasm(&pixels));
                    let document = app.borrow().document.clone();
                    let _ = set_error(&document, "config-message", &message);
                    became_interactive(app);
                },
            );
            return;
        } else {
            reply
        };
        show_state(app, &reply, &in_wasm(&pixels));
        became_interactive(app);
    });
}

fn became_interactive(app: &Shared) {
    let mut this = app.borrow_mut();
    this.ready = true;
    let elapsed = now_ms() - this.started_ms;
    let document = this.document.clone();
    drop(this);
    for id in CONTROLS {
        if let Ok(button) = typed::<HtmlButtonElement>(&document, id) {
            button.set_disabled(id == "pause");
        }
    }
    let _ = set_text(&document, "status", "Ready.");
    if let Ok(status) = element(&document, "status") {
        let _ = status.set_attribute("data-interactive-ms", &format!("{elapsed:.0}"));
    }
}

/// Renders a `state` reply: data, form, layers, curves.
fn show_state(app: &Shared, reply: &Value, pixels: &[u8]) {
    let state = if reply["type"] == "pending" {
        &reply["state"]
    } else {
        reply
    };
    if state["type"] == "error" || state.get("data").is_none() {
        show_error(app, "config-message", state);
        return;
    }
    let document = app.borrow().document.clone();
    // The preset list first, so that the form can select the preset matching the configuration.
    app.borrow_mut().presets = state["presets"].as_array().cloned().unwrap_or_default();
    fill_presets(app);
    let result = (|| -> Result<(), JsValue> {
        view::render_data(&document, state, pixels)?;
        fill_form(&document, state)?;
        let buttons = view::render_layers(&document, state)?;
        for button in buttons {
            let index: usize = button
                .get_attribute("data-index")
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            let app = Rc::clone(app);
            let listener = Closure::<dyn FnMut()>::new(move || inspect_layer(&app, index));
            button.add_event_listener_with_callback("click", listener.as_ref().unchecked_ref())?;
            listener.forget();
        }
        let problem = state["problem"].as_str().unwrap_or("");
        if problem.is_empty() {
            set_text(&document, "config-message", "")?;
        } else {
            set_error(&document, "config-message", problem)?;
        }
        Ok(())
    })();
    if let Err(error) = result {
        report("could not show the state", &error);
    }
    {
        let mut this = app.borrow_mut();
        this.points = serde_json::from_value(state["curves"].clone()).unwrap_or_default();
        this.batches.clear();
        this.steps_done = state["steps_done"].as_u64().unwrap_or(0) as usize;
        this.total_steps = state["total_steps"].as_u64().unwrap_or(0) as usize;
        this.speed = None;
    }
    if let Some(query) = state["query"].as_str() {
        app.borrow_mut().query = query.to_string();
        if let Some(window) = web_sys::window() {
            if let Ok(history) = window.history() {
                let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("?{query}")));
            }
        }
    }
    update_counters(app);
    redraw(app, true);
}

fn fill_presets(app: &Shared) {
    let this = app.borrow();
    let document = &this.document;
    let Ok(select) = typed::<HtmlSelectElement>(document, "preset") else {
        return;
    };
    if select.length() > 1 {
        return;
    }
    for preset in &this.presets {
        if let Ok(option) = document.create_element("option") {
            let _ = option.set_attribute("value", preset["query"].as_str().unwrap_or(""));
            option.set_text_content(preset["label"].as_str());
            let _ = select.append_child(&option);
        }
    }
}

/// Puts a state's configuration into the form.
fn fill_form(document: &Document, state: &Value) -> Result<(), JsValue> {
    let config = &state["config"];
    let set_select = |id: &str, value: &str| -> Result<(), JsValue> {
        typed::<HtmlSelectElement>(document, id)?.set_value(value);
        Ok(())
    };
    let set_input = |id: &str, value: String| -> Result<(), JsValue> {
        typed::<HtmlInputElement>(document, id)?.set_value(&value);
        Ok(())
    };
    let model = config["model"].as_str().unwrap_or("mlp");
    set_select("model", model)?;
    set_select("act", config["activation"].as_str().unwrap_or("elu"))?;
    set_select("norm", config["normalization"].as_str().unwrap_or("none"))?;
    set_select("opt", config["optimizer"].as_str().unwrap_or("sgd"))?;
    let hidden: Vec<String> = config["hidden"]
        .as_array()
        .map(|h| h.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default();
    set_input("hidden", hidden.join(","))?;
    set_input("lr", config["learning_rate"].to_string())?;
    set_input("batch", config["batch_size"].to_string())?;
    set_input("steps", config["steps"].to_string())?;
    set_input("eval", config["eval_every"].to_string())?;
    set_input("seed", config["seed"].to_string())?;
    typed::<HtmlInputElement>(document, "augment")?.set_checked(config["augment"].as_bool().unwrap_or(false));
    let query = state["query"].as_str().unwrap_or("");
    let preset: HtmlSelectElement = typed(document, "preset")?;
    preset.set_value(query);
    if preset.value() != query {
        preset.set_value("");
    }
    let form = element(document, "config-form")?;
    form.set_class_name(if model == "mlp" { "config" } else { "config cnn" });
    Ok(())
}

/// The query string of the form as it stands.
fn form_query(document: &Document) -> Result<String, JsValue> {
    let select = |id: &str| -> Result<String, JsValue> { Ok(typed::<HtmlSelectElement>(document, id)?.value()) };
    let input = |id: &str| -> Result<String, JsValue> {
        Ok(String::from(js_sys::encode_uri_component(
            &typed::<HtmlInputElement>(document, id)?.value(),
        )))
    };
    Ok(format!(
        "model={}&hidden={}&act={}&norm={}&opt={}&lr={}&batch={}&steps={}&eval={}&seed={}&augment={}",
        select("model")?,
        input("hidden")?,
        select("act")?,
        select("norm")?,
        select("opt")?,
        input("lr")?,
        input("batch")?,
        input("steps")?,
        input("eval")?,
        input("seed")?,
        u8::from(typed::<HtmlInputElement>(document, "augment")?.checked())
    ))
}

fn configure(app: &Shared, query: String) {
    pause(app);
    let request = json!({ "type": "configure", "query": query });
    mirror(app, &request, None);
    send(app, request, None, None, |app, reply, pixels| {
        if reply["type"] == "error" {
            show_error(app, "config-message", &reply);
        } else {
            let document = app.borrow().document.clone();
            let _ = set_text(&document, "train-message", "");
            show_state(app, &reply, &in_wasm(&pixels));
            if app.borrow().experiment.is_some() {
                run(app);
            }
        }
    });
}

fn show_error(app: &Shared, id: &str, reply: &Value) {
    let document = app.borrow().document.clone();
    let message = reply["message"].as_str().unwrap_or("something went wrong");
    let _ = set_error(&document, id, message);
}

fn update_counters(app: &Shared) {
    let this = app.borrow();
    let document = &this.document;
    let _ = set_text(document, "step-counter", &this.steps_done.to_string());
    let _ = set_text(document, "step-total", &this.total_steps.to_string());
    let speed = this.speed.map_or("–".to_string(), |s| format!("{s:.0}"));
    let _ = set_text(document, "speed", &speed);
    let _ = typed::<HtmlButtonElement>(document, "pause").map(|b| b.set_disabled(!this.running));
    let _ = typed::<HtmlButtonElement>(document, "run").map(|b| b.set_disabled(this.running || !this.ready));
    let idle = !this.running && this.ready;
    for id in ["step", "step10"] {
        let _ = typed::<HtmlButtonElement>(document, id).map(|b| b.set_disabled(!idle));
    }
    let queue = this.experiment.is_some();
    let _ = typed::<HtmlButtonElement>(document, "run-experiments").map(|b| b.set_disabled(queue || !this.ready));
    let _ = typed::<HtmlButtonElement>(document, "stop-experiments").map(|b| b.set_disabled(!queue));
}

fn redraw(app: &Shared, force: bool) {
    let now = now_ms();
    let mut this = app.borrow_mut();
    if !force && now - this.last_draw_ms < REDRAW_MS {
        return;
    }
    this.last_draw_ms = now;
    if let Err(error) = view::draw_training_chart("curves", &this.points, &this.batches) {
        report("could not draw the curves", &error);
    }
}

/// Asks for `steps` steps (within `budget_ms`); when running, asks again until done, paused or stopped.
fn request_steps(app: &Shared, steps: usize, budget_ms: f64) {
    {
        let this = app.borrow();
        if this.stepping || this.helpers_ready < this.helpers.len() {
            return;
        }
    }
    if !app.borrow().helpers.is_empty() {
        app.borrow_mut().queued = steps;
        parallel_step(app);
        return;
    }
    app.borrow_mut().stepping = true;
    let request = json!({ "type": "step", "steps": steps, "budget_ms": budget_ms });
    let sent = now_ms();
    send(app, request, None, None, move |app, mut reply, _| {
        app.borrow_mut().stepping = false;
        // The page's images/s: wall time from request to reply, messages included and a test-set evaluation
        // excluded, measured as for several workers
        if reply["images"].as_u64().unwrap_or(0) > 0 {
            reply["train_ms"] = json!(now_ms() - sent - reply["eval_ms"].as_f64().unwrap_or(0.0));
        }
        on_progress(app, &reply);
    });
}

/// One data-parallel step: every worker computes its share of the batch; once all shares are in, every
/// worker gets all of them and takes the same step. Only the main worker evaluates; its answer drives the page.
/// While more steps are queued, each worker computes its share of the next step in the same message that
/// applies the current one ([`apply_shares`]), so after the first step a step is one round trip.
fn parallel_step(app: &Shared) {
    let (parts, generation) = {
        let mut this = app.borrow_mut();
        if this.stepping || this.queued == 0 {
            return;
        }
        this.stepping = true;
        this.queued -= 1;
        this.step_started = now_ms();
        let parts = this.helpers.len() + 1;
        this.shares = vec![None; parts];
        (parts, this.generation)
    };
    for part in 0..parts {
        let request = json!({ "type": "partial-step", "part": part, "parts": parts });
        send_to(app, part, request, None, None, move |app, reply, share| {
            if app.borrow().generation != generation {
                return;
            }
            if reply["type"] != "partial" {
                app.borrow_mut().stepping = false;
                app.borrow_mut().queued = 0;
                on_progress(app, &reply);
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
    if let Some(slot) = app.borrow_mut().shares.get_mut(part) {
        *slot = share;
    }
}

fn shares_complete(app: &Shared) -> bool {
    let this = app.borrow();
    !this.shares.is_empty() && this.shares.iter().all(Option::is_some)
}

/// Sends every worker all shares of a step. If another step is queued it is claimed now and every worker
/// also computes its share of it (`next`); the replies then carry those shares, and once all are in this
/// runs again (`continuation`) without a separate `partial-step` round.
fn apply_shares(app: &Shared, continuation: bool) {
    let (generation, next) = {
        let mut this = app.borrow_mut();
        let next = this.queued > 0;
        if next {
            this.queued -= 1;
        }
        if continuation {
            this.step_started = now_ms();
        }
        (this.generation, next)
    };
    let shares: Vec<Uint8Array> = app.borrow_mut().shares.drain(..).flatten().collect();
    let parts = shares.len();
    if next {
        app.borrow_mut().shares = vec![None; parts];
    }
    for target in (0..parts).rev() {
        let files: Array = shares
            .iter()
            .enumerate()
            .map(|(part, bytes)| {
                let entry = Object::new();
                let _ = Reflect::set(&entry, &"name".into(), &format!("share {part}").into());
                // The main worker (sent last) gets the originals; the helpers get copies.
                let bytes = if target == 0 {
                    bytes.clone()
                } else {
                    Uint8Array::new(bytes)
                };
                let _ = Reflect::set(&entry, &"bytes".into(), &bytes);
                JsValue::from(entry)
            })
            .collect();
        let mut request = json!({ "type": "apply-step", "evaluate": target == 0 });
        if next {
            request["next"] = json!({ "part": target, "parts": parts });
        }
        send_to(app, target, request, Some(files), None, move |app, mut reply, share| {
            if app.borrow().generation != generation {
                return;
            }
            // a worker that finished or stopped computes no next share: the pipeline ends with this step
            let share_in = next && reply["next_share"].is_u64();
            if share_in {
                store_share(app, target, share);
            } else if next {
                let mut this = app.borrow_mut();
                this.shares.clear();
                this.queued = 0;
            }
            let elapsed = now_ms() - app.borrow().step_started;
            // the last share of the next step in: send it on before the page draws, so the workers go on
            if share_in && shares_complete(app) {
                apply_shares(app, true);
            }
            if target != 0 {
                if reply["stopped"].is_string() {
                    show_error(app, "train-message", &json!({ "message": reply["stopped"] }));
                }
                if next && !share_in {
                    // a helper stopped while the main worker went on: end the run here
                    app.borrow_mut().stepping = false;
                    app.borrow_mut().running = false;
                    update_counters(app);
                }
                return;
            }
            // The page's images/s: wall time of the whole step, shares and messages included, an evaluation
            // of the test set excluded (as with one worker)
            reply["train_ms"] = json!(elapsed - reply["eval_ms"].as_f64().unwrap_or(0.0));
            if !share_in {
                app.borrow_mut().stepping = false;
            }
            on_progress(app, &reply);
        });
    }
}

fn on_progress(app: &Shared, progress: &Value) {
    let document = app.borrow().document.clone();
    if progress["type"] != "progress" {
        show_error(app, "train-message", progress);
        app.borrow_mut().running = false;
        update_counters(app);
        return;
    }
    let (finished, stopped) = {
        let mut this = app.borrow_mut();
        for batch in progress["batches"].as_array().into_iter().flatten() {
            let step = batch["step"].as_u64().unwrap_or(0) as usize;
            this.batches.push((step, batch["loss"].as_f64().unwrap_or(f64::NAN)));
        }
        if this.batches.len() > MAX_BATCH_POINTS {
            // Keep every other point: the line keeps its shape and the chart stays cheap to draw.
            let thinned: Vec<(usize, f64)> = this.batches.iter().step_by(2).copied().collect();
            this.batches = thinned;
        }
        let points: Vec<CurvePoint> = serde_json::from_value(progress["points"].clone()).unwrap_or_default();
        this.points.extend(points);
        this.steps_done = progress["steps_done"].as_u64().unwrap_or(0) as usize;
        this.total_steps = progress["total_steps"].as_u64().unwrap_or(0) as usize;
        let (images, ms) = (
            progress["images"].as_f64().unwrap_or(0.0),
            progress["train_ms"].as_f64().unwrap_or(0.0),
        );
        if images > 0.0 && ms > 0.0 {
            let now = images / ms * 1000.0;
            this.speed = Some(this.speed.map_or(now, |old| 0.7 * old + 0.3 * now));
        }
        let finished = progress["finished"].as_bool().unwrap_or(false);
        let stopped = progress["stopped"].as_str().map(str::to_string);
        if finished || stopped.is_some() {
            this.running = false;
        }
        (finished, stopped)
    };
    let last = app.borrow().points.last().copied();
    let mut status = format!("Step {} of {}", app.borrow().steps_done, app.borrow().total_steps);
    if let Some(batch) = progress["batches"].as_array().and_then(|b| b.last()) {
        status += &format!(": batch loss {:.3}", batch["loss"].as_f64().unwrap_or(f64::NAN));
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
    if let Some(reason) = &stopped {
        let _ = set_error(&document, "train-message", reason);
    }
    let running = app.borrow().running;
    redraw(app, !running);
    update_counters(app);
    let queued = app.borrow().queued;
    if running {
        let remaining = app.borrow().total_steps.saturating_sub(app.borrow().steps_done);
        request_steps(app, remaining, RUN_BUDGET_MS);
    } else if queued > 0 && !finished && stopped.is_none() {
        parallel_step(app);
    } else if app.borrow().experiment.is_some() && (finished || stopped.is_some()) {
        experiment_done(app, last.map(|p| p.test_accuracy), stopped);
    }
}

fn run(app: &Shared) {
    {
        let mut this = app.borrow_mut();
        if this.running || !this.ready {
            return;
        }
        this.running = true;
    }
    let _ = set_text(&app.borrow().document.clone(), "train-message", "");
    update_counters(app);
    let remaining = {
        let this = app.borrow();
        this.total_steps.saturating_sub(this.steps_done).max(1)
    };
    request_steps(app, remaining, RUN_BUDGET_MS);
}

fn pause(app: &Shared) {
    app.borrow_mut().running = false;
    app.borrow_mut().queued = 0;
    update_counters(app);
}

fn reset(app: &Shared) {
    reset_saying(app, "Reset: a fresh model from the seed.".into());
}

/// Starts over on every worker, then shows `message` as the training status.
fn reset_saying(app: &Shared, message: String) {
    pause(app);
    mirror(app, &json!({ "type": "reset" }), None);
    send(
        app,
        json!({ "type": "reset" }),
        None,
        None,
        move |app, reply, pixels| {
            let document = app.borrow().document.clone();
            let _ = set_text(&document, "train-status", &message);
            let _ = set_text(&document, "train-message", "");
            show_state(app, &reply, &in_wasm(&pixels));
        },
    );
}

fn inspect_layer(app: &Shared, index: usize) {
    send(
        app,
        json!({ "type": "layer", "index": index }),
        None,
        None,
        |app, reply, _| {
            let document = app.borrow().document.clone();
            if reply["type"] == "layer" {
                if let Err(error) = view::render_layer(&document, &reply) {
                    report("could not show the layer", &error);
                }
                if let Ok(heading) = element(&document, "inspect-heading") {
                    if let Ok(heading) = heading.dyn_into::<HtmlElement>() {
                        heading.scroll_into_view();
                    }
                }
            } else {
                show_error(app, "inspect-summary", &reply);
            }
        },
    );
}

/// Reads `files` with a progress bar, then sends them to the worker.
fn load_files(app: &Shared, files: FileList) {
    let document = app.borrow().document.clone();
    let files: Vec<File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
    if files.is_empty() {
        return;
    }
    pause(app);
    let total: f64 = files.iter().map(|f| f.size()).sum::<f64>().max(1.0);
    let _ = set_text(
        &document,
        "data-message",
        &format!("Reading {} file(s), {:.1} MB…", files.len(), total / 1e6),
    );
    if let Ok(progress) = typed::<HtmlProgressElement>(&document, "load-progress") {
        progress.set_max(total);
        progress.set_value(0.0);
        let _ = progress.remove_attribute("hidden");
    }
    let dropped = files.clone();
    read_next(
        app,
        files,
        0,
        0.0,
        Array::new(),
        Box::new(move |app, read| add_files(app, read, dropped)),
    );
}

/// Sends read files to the workers and shows what came of them.
fn add_files(app: &Shared, read: Array, dropped: Vec<File>) {
    let document = app.borrow().document.clone();
    // All read: hand them to the workers (they parse; the bar waits without a value meanwhile).
    if let Ok(progress) = typed::<HtmlProgressElement>(&document, "load-progress") {
        let _ = progress.remove_attribute("value");
    }
    let _ = set_text(&document, "data-message", "Decoding in the worker…");
    let request = json!({ "type": "add-files" });
    mirror(app, &request, Some(&read));
    send(app, request, Some(read), None, move |app, reply, pixels| {
        let document = app.borrow().document.clone();
        if let Ok(progress) = typed::<HtmlProgressElement>(&document, "load-progress") {
            let _ = progress.set_attribute("hidden", "");
        }
        match reply["type"].as_str() {
            Some("state") => {
                {
                    let mut this = app.borrow_mut();
                    let mut files = std::mem::take(&mut this.pending_files);
                    files.extend(dropped);
                    this.data_files = files;
                }
                let data = &reply["data"];
                let _ = set_text(
                    &document,
                    "data-message",
                    &format!(
                        "Loaded {}: {} training and {} test images. Training starts over on them.",
                        data["name"].as_str().unwrap_or(""),
                        data["train"],
                        data["test"]
                    ),
                );
                show_state(app, &reply, &in_wasm(&pixels));
            }
            Some("pending") => {
                app.borrow_mut().pending_files.extend(dropped);
                let _ = set_text(&document, "data-message", reply["message"].as_str().unwrap_or(""));
            }
            _ => show_error(app, "data-message", &reply),
        }
    });
}

/// Reads `files[index..]` one after another into `read` (`{ name, bytes }` entries), moving the progress bar,
/// then calls `done`.
fn read_next(app: &Shared, files: Vec<File>, index: usize, done_bytes: f64, read: Array, done: OnRead) {
    let document = app.borrow().document.clone();
    let Some(file) = files.get(index).cloned() else {
        done(app, read);
        return;
    };
    let Ok(reader) = FileReader::new() else { return };
    let on_progress = {
        let document = document.clone();
        Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
            if let Ok(progress) = typed::<HtmlProgressElement>(&document, "load-progress") {
                progress.set_value(done_bytes + event.loaded());
            }
        })
    };
    reader.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    on_progress.forget();
    let on_load = {
        let (app, reader, file) = (Rc::clone(app), reader.clone(), file.clone());
        let mut done = Some(done);
        Closure::<dyn FnMut()>::new(move || {
            let entry = Object::new();
            let bytes = reader
                .result()
                .map(|buffer| Uint8Array::new(&buffer))
                .unwrap_or_else(|_| Uint8Array::new_with_length(0));
            let _ = Reflect::set(&entry, &"name".into(), &file.name().into());
            let _ = Reflect::set(&entry, &"bytes".into(), &bytes);
            read.push(&entry);
            if let Some(done) = done.take() {
                read_next(
                    &app,
                    files.clone(),
                    index + 1,
                    done_bytes + file.size(),
                    read.clone(),
                    done,
                );
            }
        })
    };
    reader.set_onload(Some(on_load.as_ref().unchecked_ref()));
    on_load.forget();
    let on_error = {
        let document = document.clone();
        let name = file.name();
        Closure::<dyn FnMut()>::new(move || {
            let _ = set_error(
                &document,
                "data-message",
                &format!("{name}: the browser could not read this file. The data loaded before is kept."),
            );
        })
    };
    reader.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    if let Err(error) = reader.read_as_array_buffer(&file) {
        report("could not read a file", &error);
    }
}

fn download(document: &Document, name: &str, href: &str) -> Result<(), JsValue> {
    let anchor: HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    anchor.set_href(href);
    anchor.set_download(name);
    anchor.click();
    Ok(())
}

fn export_csv(app: &Shared) {
    send(app, json!({ "type": "curves-csv" }), None, None, |app, reply, _| {
        let document = app.borrow().document.clone();
        let csv = reply["csv"].as_str().unwrap_or("");
        let result = (|| -> Result<(), JsValue> {
            let parts = Array::of1(&csv.into());
            let options = BlobPropertyBag::new();
            options.set_type("text/csv");
            let blob = Blob::new_with_str_sequence_and_options(&parts, &options)?;
            let url = Url::create_object_url_with_blob(&blob)?;
            download(&document, "curves.csv", &url)?;
            Url::revoke_object_url(&url)
        })();
        if let Err(error) = result {
            report("could not export the curves", &error);
        }
    });
}

fn export_png(app: &Shared) {
    let document = app.borrow().document.clone();
    let result = typed::<HtmlCanvasElement>(&document, "curves")
        .and_then(|canvas| canvas.to_data_url())
        .and_then(|url| download(&document, "curves.png", &url));
    if let Err(error) = result {
        report("could not export the chart", &error);
    }
}

fn check_gradients(app: &Shared, request: Value, what: &str) {
    let document = app.borrow().document.clone();
    let _ = set_text(
        &document,
        "gradcheck-summary",
        &format!("Checking {what} against finite differences…"),
    );
    send(app, request, None, None, |app, reply, _| {
        let document = app.borrow().document.clone();
        if reply["type"] == "gradients" {
            if let Err(error) = view::render_gradients(&document, &reply) {
                report("could not show the gradient check", &error);
            }
        } else {
            show_error(app, "gradcheck-summary", &reply);
        }
    });
}

/// Draws the chosen picture at its own size (at most 1024 px on a side) and sends its pixels to be classified.
fn classify_picture(app: &Shared, file: File) {
    let Ok(url) = Url::create_object_url_with_blob(&file) else {
        return;
    };
    let Ok(image) = HtmlImageElement::new() else { return };
    let on_load = {
        let (app, image, url) = (Rc::clone(app), image.clone(), url.clone());
        Closure::<dyn FnMut()>::new(move || {
            let document = app.borrow().document.clone();
            let result = (|| -> Result<(), JsValue> {
                let (w, h) = (image.natural_width().max(1), image.natural_height().max(1));
                let shrink = (1024.0 / f64::from(w.max(h))).min(1.0);
                let (w, h) = (
                    ((f64::from(w) * shrink) as u32).max(1),
                    ((f64::from(h) * shrink) as u32).max(1),
                );
                let canvas: HtmlCanvasElement = document.create_element("canvas")?.dyn_into()?;
                canvas.set_width(w);
                canvas.set_height(h);
                let context = view::context_2d(&canvas)?;
                context.draw_image_with_html_image_element_and_dw_and_dh(
                    &image,
                    0.0,
                    0.0,
                    f64::from(w),
                    f64::from(h),
                )?;
                let pixels = context.get_image_data(0.0, 0.0, f64::from(w), f64::from(h))?.data();
                let request = json!({ "type": "classify", "width": w, "height": h });
                send(
                    &app,
                    request,
                    None,
                    Some(Uint8Array::from(&pixels[..])),
                    |app, reply, pixels| {
                        let document = app.borrow().document.clone();
                        if reply["type"] == "classified" {
                            if let Err(error) = view::render_classified(&document, &reply, &in_wasm(&pixels)) {
                                report("could not show the classification", &error);
                            }
                        } else {
                            show_error(app, "results-summary", &reply);
                        }
                    },
                );
                Url::revoke_object_url(&url)
            })();
            if let Err(error) = result {
                report("could not read the picture", &error);
            }
        })
    };
    image.set_onload(Some(on_load.as_ref().unchecked_ref()));
    on_load.forget();
    let on_error = {
        let document = app.borrow().document.clone();
        Closure::<dyn FnMut()>::new(move || {
            let _ = set_text(
                &document,
                "results-summary",
                "That file is not a picture the browser can open.",
            );
        })
    };
    image.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    image.set_src(&url);
}

fn start_experiments(app: &Shared) {
    let presets: Vec<Value> = app
        .borrow()
        .presets
        .iter()
        .filter(|p| p["table1"] == true)
        .cloned()
        .collect();
    {
        let mut this = app.borrow_mut();
        this.experiments = presets
            .iter()
            .map(|p| Experiment {
                label: p["label"].as_str().unwrap_or("").to_string(),
                query: p["query"].as_str().unwrap_or("").to_string(),
                report: p["report_accuracy"].as_f64(),
                result: None,
                status: "queued".into(),
            })
            .collect();
        this.experiment_curves.clear();
        this.experiment = Some(0);
    }
    start_experiment_row(app);
}

fn start_experiment_row(app: &Shared) {
    let next = {
        let mut this = app.borrow_mut();
        let Some(index) = this.experiment else { return };
        match this.experiments.get_mut(index) {
            Some(row) => {
                row.status = "running".into();
                Some(row.query.clone())
            }
            None => {
                this.experiment = None;
                None
            }
        }
    };
    render_experiments(app);
    update_counters(app);
    if let Some(query) = next {
        configure(app, query);
    }
}

fn experiment_done(app: &Shared, accuracy: Option<f64>, stopped: Option<String>) {
    {
        let mut this = app.borrow_mut();
        let Some(index) = this.experiment else { return };
        let points = this.points.clone();
        if let Some(row) = this.experiments.get_mut(index) {
            row.result = accuracy.map(|a| 100.0 * a);
            row.status = stopped.unwrap_or_else(|| "done".into());
            let label = format!("row {}", index + 1);
            this.experiment_curves.push((label, points));
        }
        this.experiment = Some(index + 1);
    }
    start_experiment_row(app);
}

fn stop_experiments(app: &Shared) {
    {
        let mut this = app.borrow_mut();
        if let Some(index) = this.experiment.take() {
            if let Some(row) = this.experiments.get_mut(index) {
                row.status = "stopped".into();
            }
        }
        this.running = false;
    }
    render_experiments(app);
    update_counters(app);
}

fn render_experiments(app: &Shared) {
    let this = app.borrow();
    let document = &this.document;
    let Ok(rows) = element(document, "experiment-rows") else {
        return;
    };
    rows.set_text_content(None);
    for (i, row) in this.experiments.iter().enumerate() {
        let Ok(tr) = view::append(document, &rows, "tr", "", None) else {
            return;
        };
        let cells = [
            (i + 1).to_string(),
            row.label.clone(),
            row.report.map_or("–".into(), |r| format!("{r:.2} %")),
            row.result.map_or("–".into(), |r| format!("{r:.2} %")),
            row.status.clone(),
        ];
        for cell in cells {
            let _ = view::append(document, &tr, "td", &cell, None);
        }
    }
    if let Err(error) = view::draw_experiment_chart("experiment-curves", &this.experiment_curves) {
        report("could not draw the experiments", &error);
    }
}

/// Uses `count` workers: starts or stops helpers; training starts over (every worker from the same seed).
fn set_workers(app: &Shared, count: usize) {
    pause(app);
    let stale: Vec<Worker> = app.borrow_mut().helpers.drain(..).collect();
    for helper in stale {
        helper.terminate();
    }
    {
        // A step in flight loses its helpers' answers: forget it (everyone starts over below).
        let mut this = app.borrow_mut();
        this.generation += 1;
        this.stepping = false;
        this.shares.clear();
    }
    app.borrow_mut().helpers_ready = 0;
    let mut started = Vec::new();
    for index in 1..count.max(1) {
        match start_worker() {
            Ok(helper) => {
                attach(app, &helper, index);
                started.push(helper);
            }
            Err(error) => report("could not start a training worker", &error),
        }
    }
    let none = started.is_empty();
    app.borrow_mut().helpers = started;
    update_counters(app);
    if none {
        reset(app);
    }
}

/// A helper has loaded; once all have, they get the data and configuration, and everyone starts over.
fn helper_ready(app: &Shared) {
    let all = {
        let mut this = app.borrow_mut();
        this.helpers_ready += 1;
        this.helpers_ready == this.helpers.len()
    };
    if !all {
        return;
    }
    let files = app.borrow().data_files.clone();
    let query = app.borrow().query.clone();
    let sync: OnRead = Box::new(move |app, read| {
        if read.length() > 0 {
            mirror(app, &json!({ "type": "add-files" }), Some(&read));
        }
        mirror(app, &json!({ "type": "configure", "query": query }), None);
        let workers = app.borrow().helpers.len() + 1;
        reset_saying(
            app,
            format!("{workers} workers ready: each computes its slice of every batch. Training starts over."),
        );
    });
    read_next(app, files, 0, 0.0, Array::new(), sync);
}

/// Adds `handler` for `event` on the element `id`.
fn listen<E: wasm_bindgen::convert::FromWasmAbi + 'static>(
    document: &Document,
    id: &str,
    event: &str,
    handler: impl FnMut(E) + 'static,
) -> Result<(), JsValue> {
    let target = element(document, id)?;
    let listener = Closure::<dyn FnMut(E)>::new(handler);
    target.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref())?;
    listener.forget();
    Ok(())
}

fn on_click(app: &Shared, id: &str, handler: impl Fn(&Shared) + 'static) -> Result<(), JsValue> {
    let document = app.borrow().document.clone();
    let app = Rc::clone(app);
    listen(&document, id, "click", move |_: Event| handler(&app))
}

fn wire(app: &Shared) -> Result<(), JsValue> {
    let document = app.borrow().document.clone();
    on_click(app, "step", |app| request_steps(app, 1, NO_BUDGET_MS))?;
    on_click(app, "step10", |app| request_steps(app, 10, NO_BUDGET_MS))?;
    on_click(app, "run", run)?;
    on_click(app, "pause", pause)?;
    on_click(app, "reset", reset)?;
    on_click(app, "evaluate", |app| {
        let document = app.borrow().document.clone();
        let _ = set_text(&document, "train-status", "Evaluating on the whole test set…");
        send(app, json!({ "type": "evaluate" }), None, None, |app, reply, _| {
            let document = app.borrow().document.clone();
            if reply["type"] == "evaluation" {
                let text = format!(
                    "Test loss {:.4}, test accuracy {:.2} % on all {} test images (step {}).",
                    reply["loss"].as_f64().unwrap_or(f64::NAN),
                    100.0 * reply["accuracy"].as_f64().unwrap_or(f64::NAN),
                    reply["images"],
                    app.borrow().steps_done
                );
                let _ = set_text(&document, "train-status", &text);
            } else {
                show_error(app, "train-message", &reply);
            }
        });
    })?;
    on_click(app, "export-csv", export_csv)?;
    on_click(app, "export-png", export_png)?;
    on_click(app, "check-gradients", |app| {
        check_gradients(app, json!({ "type": "check-gradients" }), "the current model")
    })?;
    on_click(app, "check-suite", |app| {
        check_gradients(app, json!({ "type": "suite", "seed": SUITE_SEED }), "every layer kind")
    })?;
    on_click(app, "show-filters", |app| {
        send(app, json!({ "type": "filters" }), None, None, |app, reply, pixels| {
            let document = app.borrow().document.clone();
            if reply["type"] == "filters" {
                if let Err(error) = view::render_filters(&document, &reply, &in_wasm(&pixels)) {
                    report("could not show the filters", &error);
                }
            } else {
                show_error(app, "filters-caption", &reply);
            }
        })
    })?;
    on_click(app, "show-results", |app| {
        let document = app.borrow().document.clone();
        let _ = set_text(&document, "results-summary", "Classifying the test set…");
        send(
            app,
            json!({ "type": "results", "gallery": GALLERY }),
            None,
            None,
            |app, reply, pixels| {
                let document = app.borrow().document.clone();
                if reply["type"] == "results" {
                    if let Err(error) = view::render_results(&document, &reply, &in_wasm(&pixels)) {
                        report("could not show the results", &error);
                    }
                } else {
                    show_error(app, "results-summary", &reply);
                }
            },
        )
    })?;
    on_click(app, "use-synthetic", |app| {
        pause(app);
        {
            let mut this = app.borrow_mut();
            this.data_files.clear();
            this.pending_files.clear();
        }
        mirror(app, &json!({ "type": "use-synthetic" }), None);
        send(
            app,
            json!({ "type": "use-synthetic" }),
            None,
            None,
            |app, reply, pixels| {
                let document = app.borrow().document.clone();
                let _ = set_text(&document, "data-message", "Back on the built-in generated data.");
                show_state(app, &reply, &in_wasm(&pixels));
            },
        )
    })?;
    on_click(app, "run-experiments", start_experiments)?;
    {
        let app = Rc::clone(app);
        listen(&document, "workers", "change", move |event: Event| {
            let count = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
                .and_then(|s| s.value().parse().ok())
                .unwrap_or(1);
            set_workers(&app, count);
        })?;
    }
    on_click(app, "stop-experiments", stop_experiments)?;

    {
        let app = Rc::clone(app);
        listen(&document, "config-form", "submit", move |event: Event| {
            event.prevent_default();
            let document = app.borrow().document.clone();
            if let Ok(query) = form_query(&document) {
                configure(&app, query);
            }
        })?;
    }
    {
        let app = Rc::clone(app);
        listen(&document, "config-form", "change", move |event: Event| {
            let document = app.borrow().document.clone();
            let changed = event
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .map(|t| t.id())
                .unwrap_or_default();
            let query = match changed.as_str() {
                "preset" => typed::<HtmlSelectElement>(&document, "preset")
                    .map(|s| s.value())
                    .unwrap_or_default(),
                // Another model starts from its own defaults (the course's, or the small CNN's recipe).
                "model" => format!(
                    "model={}",
                    typed::<HtmlSelectElement>(&document, "model")
                        .map(|s| s.value())
                        .unwrap_or_default()
                ),
                _ => form_query(&document).unwrap_or_default(),
            };
            if !query.is_empty() && app.borrow().ready {
                configure(&app, query);
            }
        })?;
    }
    {
        let app = Rc::clone(app);
        listen(&document, "file-input", "change", move |event: Event| {
            let input = event.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
            if let Some(files) = input.as_ref().and_then(HtmlInputElement::files) {
                load_files(&app, files);
            }
            if let Some(input) = input {
                input.set_value("");
            }
        })?;
    }
    listen(&document, "drop-zone", "dragover", |event: DragEvent| {
        event.prevent_default();
        if let Some(zone) = event.current_target().and_then(|t| t.dyn_into::<Element>().ok()) {
            let _ = zone.class_list().add_1("over");
        }
    })?;
    listen(&document, "drop-zone", "dragleave", |event: DragEvent| {
        if let Some(zone) = event.current_target().and_then(|t| t.dyn_into::<Element>().ok()) {
            let _ = zone.class_list().remove_1("over");
        }
    })?;
    {
        let app = Rc::clone(app);
        listen(&document, "drop-zone", "drop", move |event: DragEvent| {
            event.prevent_default();
            if let Some(zone) = event.current_target().and_then(|t| t.dyn_into::<Element>().ok()) {
                let _ = zone.class_list().remove_1("over");
            }
            if let Some(files) = event.data_transfer().and_then(|d| d.files()) {
                load_files(&app, files);
            }
        })?;
    }
    {
        let app = Rc::clone(app);
        listen(&document, "own-image", "change", move |event: Event| {
            let input = event.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
            if let Some(file) = input.as_ref().and_then(HtmlInputElement::files).and_then(|f| f.get(0)) {
                classify_picture(&app, file);
            }
        })?;
    }
    {
        let document_for_toggle = document.clone();
        listen(&document, "large-type", "change", move |event: Event| {
            let large = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                .is_some_and(|i| i.checked());
            if let Some(body) = document_for_toggle.body() {
                let _ = body.class_list().toggle_with_force("large", large);
            }
        })?;
    }
    Ok(())
}
