//! Run history: every run that stopped (paused, finished, or a click's steps done) is kept in the browser's
//! `localStorage`, listed with its configuration and final numbers, and any of them can be laid over the
//! current chart. `Clear history` forgets them all.
use std::rc::Rc;

use gloo::events::EventListener;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlInputElement, Storage};

use super::app::{now_ms, on_click, Shared};
use super::training::redraw;
use super::view::{append, element, set_error, set_text};
use crate::session::State;
use crate::train::CurvePoint;

/// The `localStorage` key the runs are kept under (one JSON array).
const STORAGE_KEY: &str = "backprop-lab.history";
/// Runs kept; the oldest go first.
const MAX_RUNS: usize = 50;

/// One past run as stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PastRun {
    /// When the run started (milliseconds since 1970); identifies it.
    pub id: u64,
    /// The preset's name, or `custom`.
    pub label: String,
    /// Its configuration as a link's query (live changes included).
    pub query: String,
    pub data: String,
    pub steps_done: usize,
    pub total_steps: usize,
    pub points: Vec<CurvePoint>,
}

/// The runs kept, and what the current run will be stored as.
#[derive(Default)]
pub struct HistoryState {
    runs: Vec<PastRun>,
    /// The current run: its id once stored, its preset's name and data set.
    current: Option<u64>,
    label: String,
    data: String,
    row_listeners: Vec<EventListener>,
}

fn storage() -> Option<Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    on_click(app, "clear-history", clear)?;
    let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    if let Some(json) = stored {
        match serde_json::from_str::<Vec<PastRun>>(&json) {
            Ok(runs) => app.borrow_mut().history.runs = runs,
            Err(error) => {
                let document = app.borrow().document.clone();
                set_error(
                    &document,
                    "history-message",
                    &format!("The stored run history could not be read ({error}); it starts empty."),
                )?;
            }
        }
    }
    render(app);
    Ok(())
}

/// A new run is shown (a new configuration, data, or Reset): the next stop stores a new entry.
pub fn new_run(app: &Shared, state: &State) {
    let mut this = app.borrow_mut();
    let label = state
        .presets
        .iter()
        .find(|preset| preset.query == state.query)
        .map_or_else(|| "custom".to_string(), |preset| preset.label.clone());
    let history = &mut this.history;
    history.current = None;
    history.label = label;
    history.data.clone_from(&state.data.name);
}

/// The current run stopped: stores (or updates) its entry.
pub fn record(app: &Shared) {
    {
        let mut this = app.borrow_mut();
        if this.run.steps_done == 0 {
            return;
        }
        let id = this.history.current.unwrap_or(now_epoch_ms());
        let run = PastRun {
            id,
            label: this.history.label.clone(),
            query: this.form.query.clone(),
            data: this.history.data.clone(),
            steps_done: this.run.steps_done,
            total_steps: this.run.total_steps,
            points: this.run.points.clone(),
        };
        let history = &mut this.history;
        history.current = Some(id);
        match history.runs.iter_mut().find(|r| r.id == id) {
            Some(entry) => *entry = run,
            None => history.runs.push(run),
        }
        let excess = history.runs.len().saturating_sub(MAX_RUNS);
        history.runs.drain(..excess);
    }
    save(app);
    render(app);
}

fn now_epoch_ms() -> u64 {
    // Two runs stored in the same millisecond would share an id: the clock's fraction tells them apart.
    js_sys::Date::now() as u64 * 1000 + (now_ms().fract() * 1000.0) as u64
}

fn save(app: &Shared) {
    let json = serde_json::to_string(&app.borrow().history.runs).unwrap_or_default();
    let stored = storage().map(|s| s.set_item(STORAGE_KEY, &json));
    let document = app.borrow().document.clone();
    if !matches!(stored, Some(Ok(()))) {
        let _ = set_error(
            &document,
            "history-message",
            "The browser did not let the lab store the run history (storage full or disabled); the list \
             holds this tab's runs only.",
        );
    }
}

fn clear(app: &Shared) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(STORAGE_KEY);
    }
    {
        let mut this = app.borrow_mut();
        this.history.runs.clear();
        this.history.current = None;
        this.chart.overlays.clear();
    }
    let document = app.borrow().document.clone();
    let _ = set_text(&document, "history-message", "History cleared.");
    render(app);
    redraw(app, true);
}

/// Lays run `id` over the chart, or takes it off.
fn overlay(app: &Shared, id: u64, on: bool) {
    {
        let mut this = app.borrow_mut();
        let run = this.history.runs.iter().position(|r| r.id == id);
        let points = run.map(|index| this.history.runs[index].points.clone());
        this.chart.overlays.retain(|(overlaid, _, _)| *overlaid != id);
        if let (true, Some(index), Some(points)) = (on, run, points) {
            this.chart.overlays.push((id, format!("run {}", index + 1), points));
        }
    }
    redraw(app, true);
}

fn render(app: &Shared) {
    let document = app.borrow().document.clone();
    let Ok(rows) = element(&document, "history-rows") else {
        return;
    };
    rows.set_text_content(None);
    let mut listeners = Vec::new();
    let this = app.borrow();
    for (index, run) in this.history.runs.iter().enumerate().rev() {
        let Ok(tr) = append(&document, &rows, "tr", "", None) else {
            return;
        };
        let number = index + 1;
        let checkbox = overlay_checkbox(&document, &tr, number, &run.label);
        if let Ok(input) = checkbox {
            input.set_checked(this.chart.overlays.iter().any(|(id, _, _)| *id == run.id));
            let (weak, id) = (Rc::downgrade(app), run.id);
            listeners.push(EventListener::new(&input, "change", move |event| {
                let on = event
                    .target()
                    .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                    .is_some_and(|i| i.checked());
                if let Some(app) = weak.upgrade() {
                    overlay(&app, id, on);
                }
            }));
        }
        let last = run.points.last();
        let cells = [
            (format!("{number}: {}", run.label), None),
            (run.query.clone(), Some("mono query")),
            (run.data.clone(), None),
            (format!("{} of {}", run.steps_done, run.total_steps), Some("number")),
            (
                last.map_or("–".into(), |p| format!("{:.2} %", 100.0 * p.test_accuracy)),
                Some("number"),
            ),
            (
                last.map_or("–".into(), |p| format!("{:.4}", p.test_loss)),
                Some("number"),
            ),
        ];
        for (text, class) in cells {
            let _ = append(&document, &tr, "td", &text, class);
        }
    }
    let count = this.history.runs.len();
    drop(this);
    let _ = set_text(
        &document,
        "history-count",
        &format!("{count} run{} kept in this browser.", if count == 1 { "" } else { "s" }),
    );
    app.borrow_mut().history.row_listeners = listeners;
}

/// A labelled checkbox `Overlay run N` in a new cell of `row`.
fn overlay_checkbox(
    document: &web_sys::Document,
    row: &web_sys::Element,
    number: usize,
    label: &str,
) -> Result<HtmlInputElement, JsValue> {
    let cell = append(document, row, "td", "", None)?;
    let wrapper = append(document, &cell, "label", "", Some("check"))?;
    let input: HtmlInputElement = document.create_element("input")?.dyn_into()?;
    input.set_type("checkbox");
    input.set_attribute("aria-label", &format!("Overlay run {number} ({label})"))?;
    wrapper.append_child(&input)?;
    wrapper.append_with_str_1(" overlay")?;
    Ok(input)
}
