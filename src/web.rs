//! The thin wasm-bindgen surface the page calls.
//!
//! `www/index.html` holds the page's markup; this module fills it from the core (`data`, `train`, `gradcheck`) and
//! forwards clicks back to it. It draws and wires, and holds no math: everything it shows is computed by
//! the same functions the native tests and the `lab` CLI call.

use gloo::timers::callback::Timeout;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlButtonElement};

use std::cell::RefCell;
use std::rc::Rc;

use crate::data::{self, Dataset};
use crate::gradcheck::{self, CheckResult};
use crate::train::{TrainConfig, Trainer};

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

/// Fills the dataset facts and wires the buttons of a page that has the lab's elements.
pub fn mount(document: &Document) -> Result<(), JsValue> {
    let dataset = data::synthetic(&Default::default());
    set_text(document, "dataset-name", &dataset.name)?;
    set_text(document, "train-count", &dataset.train.labels.len().to_string())?;
    set_text(document, "test-count", &dataset.test.labels.len().to_string())?;

    let training = Rc::new(RefCell::new(Training { dataset, trainer: None }));
    on_click(document, "train-steps", move |page| {
        train_steps(page, &training, STEPS_PER_CLICK)
    })?;
    on_click(document, "check-gradients", start_gradient_check)?;
    set_text(document, "status", "Ready.")
}

/// Enables the button `id` and calls `handler` with the page on each click.
fn on_click(document: &Document, id: &str, handler: impl Fn(&Document) + 'static) -> Result<(), JsValue> {
    let button: HtmlButtonElement = element(document, id)?.dyn_into()?;
    let page = document.clone();
    let listener = Closure::<dyn FnMut()>::new(move || handler(&page));
    button.add_event_listener_with_callback("click", listener.as_ref().unchecked_ref())?;
    // The button lives as long as the page, so its handler does too.
    listener.forget();
    button.set_disabled(false);
    Ok(())
}

/// The page's training run: the dataset and, from the first click on, the trainer (`TrainConfig::default()`).
struct Training {
    dataset: Dataset,
    trainer: Option<Trainer>,
}

const STEPS_PER_CLICK: usize = 100;
/// Steps between two repaints, so the page shows progress and stays responsive while it trains.
const STEPS_PER_TICK: usize = 10;

/// `Train 100 steps`: runs the steps a few at a time on timer ticks, then evaluates on the test set.
fn train_steps(document: &Document, training: &Rc<RefCell<Training>>, steps: usize) {
    if let Err(error) = train_next_tick(document, training, steps) {
        report("training failed", &error);
    }
}

fn train_next_tick(document: &Document, training: &Rc<RefCell<Training>>, steps: usize) -> Result<(), JsValue> {
    let button: HtmlButtonElement = element(document, "train-steps")?.dyn_into()?;
    button.set_disabled(true);
    let done = run_training_tick(document, &mut training.borrow_mut(), steps.min(STEPS_PER_TICK))?;
    let remaining = steps.saturating_sub(STEPS_PER_TICK);
    if done || remaining == 0 {
        button.set_disabled(done);
        return Ok(());
    }
    let (page, training) = (document.clone(), Rc::clone(training));
    Timeout::new(0, move || train_steps(&page, &training, remaining)).forget();
    Ok(())
}

/// Runs up to `steps` training steps and shows where training stands; `Ok(true)` once it cannot go on
/// (the run finished or stopped with an error, which the page shows).
fn run_training_tick(document: &Document, training: &mut Training, steps: usize) -> Result<bool, JsValue> {
    let Training { dataset, trainer } = training;
    let trainer = match trainer {
        Some(trainer) => trainer,
        None => match Trainer::new(TrainConfig::default(), dataset) {
            Ok(new_trainer) => trainer.insert(new_trainer),
            Err(error) => return set_text(document, "train-status", &error.to_string()).map(|()| true),
        },
    };
    let mut last = None;
    for _ in 0..steps {
        if trainer.is_finished() {
            break;
        }
        match trainer.step(dataset) {
            Ok(outcome) => last = Some(outcome),
            Err(error) => return set_text(document, "train-status", &error.to_string()).map(|()| true),
        }
    }
    let total = trainer.config().steps;
    let Some(outcome) = last else {
        set_text(document, "train-status", &format!("Finished all {total} steps."))?;
        return Ok(true);
    };
    let mut status = format!("Step {} of {total}: batch loss {:.3}", outcome.step, outcome.loss);
    if outcome.step % STEPS_PER_CLICK == 0 || trainer.is_finished() {
        let test = trainer.evaluate(&dataset.test, None);
        status += &format!(
            ", test accuracy {:.1} % on {} images",
            100.0 * test.accuracy,
            test.images
        );
    }
    set_text(document, "train-status", &status)?;
    Ok(trainer.is_finished())
}

/// The `Check gradients` click: shows that the check runs, then runs it once the browser has painted that
/// (the full suite takes seconds and blocks the page while it runs).
fn start_gradient_check(document: &Document) {
    let begin = || -> Result<HtmlButtonElement, JsValue> {
        let button: HtmlButtonElement = element(document, "check-gradients")?.dyn_into()?;
        button.set_disabled(true);
        set_text(
            document,
            "gradcheck-summary",
            "Checking gradients against finite differences…",
        )?;
        Ok(button)
    };
    let button = match begin() {
        Ok(button) => button,
        Err(error) => return report("could not start the gradient check", &error),
    };
    let page = document.clone();
    Timeout::new(PAINT_DELAY_MS, move || {
        let results = gradcheck::standard_suite(GRADCHECK_SEED);
        if let Err(error) = show_gradient_checks(&page, &results) {
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

/// Renders gradient-check results (the page passes `gradcheck::standard_suite`), one table row each.
pub fn show_gradient_checks(document: &Document, results: &[CheckResult]) -> Result<(), JsValue> {
    let rows = element(document, "gradcheck-rows")?;
    rows.set_text_content(None);
    for result in results {
        let shape = format!("{:?}", result.shape);
        let (verdict, verdict_class) = if result.passed {
            ("pass", "pass")
        } else {
            ("FAIL", "fail")
        };
        let row = document.create_element("tr")?;
        append_cell(document, &row, &result.layer, None)?;
        append_cell(document, &row, &result.parameter, None)?;
        append_cell(document, &row, &shape, Some("shape"))?;
        append_cell(document, &row, &format!("{:.2e}", result.max_rel_error), Some("number"))?;
        // The criterion, not only its number: some checks (LayerNorm) pass on PyTorch's allclose rule.
        append_cell(document, &row, &result.criterion, Some("criterion"))?;
        append_cell(document, &row, verdict, Some(verdict_class))?;
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
