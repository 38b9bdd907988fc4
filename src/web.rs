//! The thin wasm-bindgen surface the page calls.
//!
//! `www/index.html` holds the page's markup; this module fills it from the core (`data`, `gradcheck`) and
//! forwards clicks back to it. It draws and wires, and holds no math: everything it shows is computed by
//! the same functions the native tests and the `lab` CLI call.

use gloo::timers::callback::Timeout;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlButtonElement};

use crate::{data, gradcheck};

/// The seed of the gradient check the page runs: the one the native and wasm tests check, so a reader sees
/// the table the tests passed.
pub const GRADCHECK_SEED: u64 = 42;

/// Runs once when the page loads the module: installs the panic hook, then fills the page if this is one.
///
/// Outside the lab page (Node, or the wasm tests' blank page) there is nothing to fill, so it returns at once.
#[wasm_bindgen(start)]
pub fn start() -> Result<(), JsValue> {
    console_error_panic_hook::set_once();
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return Ok(());
    };
    if document.get_element_by_id("lab").is_none() {
        return Ok(());
    }
    mount(&document)
}

/// Fills the dataset facts and wires the `Check gradients` button of a page that has the lab's elements.
pub fn mount(document: &Document) -> Result<(), JsValue> {
    let dataset = data::synthetic(&Default::default());
    set_text(document, "dataset-name", &dataset.name)?;
    set_text(document, "train-count", &dataset.train.labels.len().to_string())?;
    set_text(document, "test-count", &dataset.test.labels.len().to_string())?;

    let button: HtmlButtonElement = element(document, "check-gradients")?.dyn_into()?;
    let page = document.clone();
    let on_click = Closure::<dyn FnMut()>::new(move || start_gradient_check(&page));
    button.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref())?;
    // The button lives as long as the page, so its handler does too.
    on_click.forget();
    button.set_disabled(false);

    set_text(document, "status", "Ready.")
}

/// The `Check gradients` click: shows that the check runs, then runs it once the browser has painted that
/// (the full suite takes seconds and blocks the page while it runs).
fn start_gradient_check(document: &Document) {
    let begin = || -> Result<HtmlButtonElement, JsValue> {
        let button: HtmlButtonElement = element(document, "check-gradients")?.dyn_into()?;
        button.set_disabled(true);
        set_text(document, "gradcheck-summary", "Checking gradients against finite differences…")?;
        Ok(button)
    };
    let button = match begin() {
        Ok(button) => button,
        Err(error) => return report("could not start the gradient check", &error),
    };
    let page = document.clone();
    Timeout::new(PAINT_DELAY_MS, move || {
        if let Err(error) = show_gradient_checks(&page) {
            report("gradient check table failed", &error);
        }
        button.set_disabled(false);
    })
    .forget();
}

/// Long enough for the browser to paint the "Checking…" state before the page blocks.
const PAINT_DELAY_MS: u32 = 50;

fn report(what: &str, error: &JsValue) {
    web_sys::console::error_2(&format!("backprop-lab: {what}:").into(), error);
}

/// Runs `gradcheck::standard_suite` and renders one table row per checked parameter.
pub fn show_gradient_checks(document: &Document) -> Result<(), JsValue> {
    let results = gradcheck::standard_suite(GRADCHECK_SEED);
    let rows = element(document, "gradcheck-rows")?;
    rows.set_text_content(None);
    for result in &results {
        let shape = format!("{:?}", result.shape);
        let verdict = if result.passed { "pass" } else { "FAIL" };
        let row = document.create_element("tr")?;
        append_cell(document, &row, &result.layer, None)?;
        append_cell(document, &row, &result.parameter, None)?;
        append_cell(document, &row, &shape, Some("shape"))?;
        append_cell(document, &row, &format!("{:.2e}", result.max_rel_error), Some("number"))?;
        // The criterion, not only its number: some checks (LayerNorm) pass on PyTorch's allclose rule.
        append_cell(document, &row, &result.criterion, Some("criterion"))?;
        append_cell(document, &row, verdict, Some(if result.passed { "pass" } else { "fail" }))?;
        rows.append_child(&row)?;
    }
    element(document, "gradcheck-table")?.remove_attribute("hidden")?;

    let passed = results.iter().filter(|result| result.passed).count();
    set_text(
        document,
        "gradcheck-summary",
        &format!("{passed} of {} gradient checks passed.", results.len()),
    )
}

fn append_cell(document: &Document, row: &Element, text: &str, class: Option<&str>) -> Result<Element, JsValue> {
    let cell = document.create_element("td")?;
    cell.set_text_content(Some(text));
    if let Some(class) = class {
        cell.set_class_name(class);
    }
    row.append_child(&cell)?;
    Ok(cell)
}

fn set_text(document: &Document, id: &str, text: &str) -> Result<(), JsValue> {
    element(document, id)?.set_text_content(Some(text));
    Ok(())
}

fn element(document: &Document, id: &str) -> Result<Element, JsValue> {
    document
        .get_element_by_id(id)
        .ok_or_else(|| JsValue::from_str(&format!("expected an element with id `{id}` in the page, found none")))
}
