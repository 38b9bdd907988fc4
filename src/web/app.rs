//! The page's controller on the main thread: the [`App`] state (one part per concern), starting the
//! training worker, wiring every control, and rendering a state reply. The session with the data and the
//! model lives in the worker; each concern's requests and replies are in its own module.
use std::cell::RefCell;
use std::rc::Rc;

use gloo::events::{EventListener, EventListenerOptions};
use wasm_bindgen::prelude::*;
use web_sys::{Document, Event, HtmlButtonElement, HtmlInputElement, HtmlSelectElement};

use super::experiments::Queue;
use super::files::{DataFiles, Reading};
use super::form::{fill_form, fill_presets, FormState};
use super::inspector::inspect_layer;
use super::panels::Picture;
use super::parallel::Parallel;
use super::recovery::Recovery;
use super::rpc::{in_wasm, send, start_worker, Rpc};
use super::training::{redraw, update_counters, RunState};
use super::view::{self, element, set_error, set_text, typed};
pub use super::worker::now_ms;
use crate::session::{Request, Response, State};

pub type Shared = Rc<RefCell<App>>;

/// The controls that need a loaded model; enabled once the worker is ready.
const CONTROLS: [&str; 16] = [
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
    "run-transfer",
];

/// Everything the page keeps, by concern.
pub struct App {
    pub document: Document,
    pub rpc: Rpc,
    pub run: RunState,
    pub parallel: Parallel,
    pub data: DataFiles,
    pub form: FormState,
    pub queue: Queue,
    pub transfer: super::transfer::TransferState,
    pub recovery: Recovery,
    pub watchdog: super::watchdog::Watchdog,
    pub network: super::network::NetworkViews,
    pub inspector: super::inspector::InspectorState,
    started_ms: f64,
    /// The worker answered its first request: the controls work.
    pub ready: bool,
    /// The page's listeners, and those of the model diagram's buttons (replaced with the diagram); dropped,
    /// they unregister.
    listeners: Vec<EventListener>,
    layer_listeners: Vec<EventListener>,
    pub reading: Option<Reading>,
    pub picture: Option<Picture>,
    pub chart: super::curves::ChartState,
    pub live: super::live::LiveState,
    pub history: super::history::HistoryState,
    pub lessons: super::lessons::LessonsState,
}

pub fn report(what: &str, error: &JsValue) {
    web_sys::console::error_2(&format!("backprop-lab: {what}:").into(), error);
}

/// Starts the worker and wires the page; the controls come alive when the worker says it is ready.
pub fn mount(document: &Document) -> Result<(), JsValue> {
    let app = Rc::new(RefCell::new(App {
        document: document.clone(),
        rpc: Rpc::default(),
        run: RunState::default(),
        parallel: Parallel::default(),
        data: DataFiles::default(),
        form: FormState::default(),
        queue: Queue::default(),
        transfer: Default::default(),
        recovery: Recovery::default(),
        watchdog: Default::default(),
        network: Default::default(),
        inspector: Default::default(),
        started_ms: now_ms(),
        ready: false,
        listeners: Vec::new(),
        layer_listeners: Vec::new(),
        reading: None,
        picture: None,
        chart: Default::default(),
        live: Default::default(),
        history: Default::default(),
        lessons: Default::default(),
    }));
    start_worker(&app, 0)?;
    // One worker per core, at most 8 (the main thread keeps drawing).
    let cores = web_sys::window().map_or(1.0, |w| w.navigator().hardware_concurrency()) as usize;
    let select: HtmlSelectElement = typed(document, "workers")?;
    for count in 2..=cores.clamp(1, 8) {
        let option = document.create_element("option")?;
        option.set_attribute("value", &count.to_string())?;
        option.set_text_content(Some(&count.to_string()));
        select.append_child(&option)?;
    }
    super::training::wire(&app)?;
    super::parallel::wire(&app)?;
    super::backend::wire(&app)?;
    super::form::wire(&app)?;
    super::files::wire(&app)?;
    super::panels::wire(&app)?;
    super::experiments::wire(&app)?;
    super::transfer::wire(&app)?;
    super::recovery::wire(&app)?;
    super::watchdog::wire(&app)?;
    super::weights::wire(&app)?;
    super::curves::wire(&app)?;
    super::live::wire(&app)?;
    super::history::wire(&app)?;
    super::lessons::wire(&app)?;
    super::network::wire(&app)?;
    super::stored::wire(&app)?;
    super::classroom::wire(&app)?;
    listen(&app, "large-type", "change", |event| {
        let large = event
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            .is_some_and(|i| i.checked());
        if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
            let _ = body.class_list().toggle_with_force("large", large);
        }
    })?;
    // The page lives as long as the tab: so does its state.
    std::mem::forget(app);
    Ok(())
}

/// Adds `handler` for `event` on the element `id`, for the page's lifetime (passive: it cannot prevent the
/// default action).
pub fn listen(
    app: &Shared,
    id: &str,
    event: &'static str,
    handler: impl FnMut(&Event) + 'static,
) -> Result<(), JsValue> {
    listen_with(app, id, event, EventListenerOptions::default(), handler)
}

/// [`listen`] for a handler that prevents the default action (form submission, dropping a file).
pub fn listen_with_default(
    app: &Shared,
    id: &str,
    event: &'static str,
    handler: impl FnMut(&Event) + 'static,
) -> Result<(), JsValue> {
    listen_with(app, id, event, EventListenerOptions::enable_prevent_default(), handler)
}

fn listen_with(
    app: &Shared,
    id: &str,
    event: &'static str,
    options: EventListenerOptions,
    handler: impl FnMut(&Event) + 'static,
) -> Result<(), JsValue> {
    let target = element(&app.borrow().document, id)?;
    let listener = EventListener::new_with_options(&target, event, options, handler);
    app.borrow_mut().listeners.push(listener);
    Ok(())
}

/// Calls `handler` on clicks of the button `id`.
pub fn on_click(app: &Shared, id: &str, handler: impl Fn(&Shared) + 'static) -> Result<(), JsValue> {
    let weak = Rc::downgrade(app);
    listen(app, id, "click", move |_| {
        if let Some(app) = weak.upgrade() {
            handler(&app);
        }
    })
}

/// Offline support (www/sw.js); a page opened from a file or a non-secure origin simply goes without. Registered
/// once the page is interactive: installing it downloads and caches the whole build, which would otherwise
/// compete with the first start for the network and the CPU. Registering again is harmless.
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
    // The promise may settle at any time in the tab's life: the handler stays with it.
    ignore.forget();
}

/// The main worker has loaded: ask for the state (of the link's configuration, if any).
pub fn on_ready(app: &Shared) {
    if super::recovery::restoring(app) {
        return super::recovery::restore_main(app);
    }
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let first = if query.trim_start_matches('?').is_empty() {
        Request::State
    } else {
        Request::Configure { query }
    };
    send(app, first, None, None, |app, reply, pixels| {
        if let Response::Error { message } = reply {
            // A shared link with a bad value: say so and start from the defaults.
            let message = format!("The link's configuration was not used: {message}");
            send(app, Request::State, None, None, move |app, reply, pixels| {
                show_state(app, reply, &in_wasm(&pixels));
                let document = app.borrow().document.clone();
                let _ = set_error(&document, "config-message", &message);
                became_interactive(app);
            });
            return;
        }
        show_state(app, reply, &in_wasm(&pixels));
        became_interactive(app);
    });
    // The empty chart, drawn while the worker answers (not before: the main thread stays free while the
    // worker starts, see classroom::wire).
    redraw(app, true);
}

pub fn became_interactive(app: &Shared) {
    let mut this = app.borrow_mut();
    this.ready = true;
    let (started, elapsed) = (this.started_ms, now_ms() - this.started_ms);
    let document = this.document.clone();
    drop(this);
    for id in CONTROLS {
        if let Ok(button) = typed::<HtmlButtonElement>(&document, id) {
            button.set_disabled(id == "pause");
        }
    }
    super::lessons::load(app);
    let _ = set_text(&document, "status", "Ready.");
    super::backend::probe(app);
    if let Ok(status) = element(&document, "status") {
        // For the end-to-end test: when Step was enabled, after the module started, and when the module
        // started (milliseconds since the navigation).
        let _ = status.set_attribute("data-interactive-ms", &format!("{elapsed:.0}"));
        let _ = status.set_attribute("data-module-started-ms", &format!("{started:.0}"));
    }
    super::stored::on_ready(app);
    register_service_worker();
}

/// Shows `message` as an error in `id`.
pub fn show_error(app: &Shared, id: &str, message: &str) {
    let document = app.borrow().document.clone();
    let _ = set_error(&document, id, message);
}

/// Renders a `state` (or `pending`) reply: data, form, layers, curves. The panels about the previous model
/// are emptied: they no longer describe this one.
pub fn show_state(app: &Shared, reply: Response, pixels: &[u8]) {
    let state: State = match reply {
        Response::State(state) => state,
        Response::Pending { state, .. } => *state,
        other => return show_error(app, "config-message", &other.message()),
    };
    let document = app.borrow().document.clone();
    // The preset list first, so that the form can select the preset matching the configuration.
    app.borrow_mut().form.presets.clone_from(&state.presets);
    fill_presets(app);
    if let Err(error) = render_state(app, &document, &state, pixels) {
        report("could not show the state", &error);
    }
    {
        let mut this = app.borrow_mut();
        let run = &mut this.run;
        run.points.clone_from(&state.curves);
        run.batches.clear();
        run.steps_done = state.steps_done;
        run.total_steps = state.total_steps;
        run.speed.clear();
        this.form.query.clone_from(&state.query);
    }
    super::live::show(app, &state.config);
    super::history::new_run(app, &state);
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("?{}", state.query)));
    }
    let steps_done = app.borrow().run.steps_done;
    super::recovery::on_state(app, steps_done);
    super::network::on_state(app, &state);
    // the inspector was emptied for the new model; a refresh owed by a replaced worker never comes
    app.borrow_mut().inspector = Default::default();
    update_counters(app);
    redraw(app, true);
}

fn render_state(app: &Shared, document: &Document, state: &State, pixels: &[u8]) -> Result<(), JsValue> {
    view::render_data(document, &state.data, pixels)?;
    fill_form(document, &state.config, &state.query)?;
    view::clear_inspection(document)?;
    view::clear_results(document)?;
    let buttons = view::render_layers(document, state)?;
    let listeners = buttons
        .iter()
        .map(|button| {
            let index: usize = button
                .get_attribute("data-index")
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            let weak = Rc::downgrade(app);
            EventListener::new(button, "click", move |_| {
                if let Some(app) = weak.upgrade() {
                    inspect_layer(&app, index);
                }
            })
        })
        .collect();
    // The diagram's old buttons are gone: their listeners go with them.
    app.borrow_mut().layer_listeners = listeners;
    match &state.problem {
        Some(problem) => set_error(document, "config-message", problem),
        None => set_text(document, "config-message", ""),
    }
}
