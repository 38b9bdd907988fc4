//! The `Lessons` view: the library's lessons ([`crate::lessons`], data, in the report's order), one at a time:
//! its text, its formulas (the MathML the layer inspector shows), a button that sets up its experiment (the
//! lesson's preset, then its action through the page's own buttons), what to watch, and the report's number,
//! with this run's beside it when the run ends. A link `?lesson=ID` opens a lesson with its experiment ready.
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, HtmlSelectElement};

use super::app::{listen, on_click, report, show_error, Shared};
use super::form::configure_then;
use super::view::{append, element, set_text, typed};
use crate::gradcheck::CheckResult;
use crate::lessons::{Lesson, LessonAction};
use crate::session::{Request, Response};

/// The lessons as the worker sent them, the one shown, and the one whose experiment was started.
#[derive(Default)]
pub struct LessonsState {
    lessons: Vec<Lesson>,
    shown: usize,
    started: Option<usize>,
    /// The `?lesson=` of the address the page opened with (read before the page rewrites the address).
    linked: Option<String>,
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    app.borrow_mut().lessons.linked = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| {
            search
                .trim_start_matches('?')
                .split('&')
                .find_map(|pair| pair.strip_prefix("lesson=").map(str::to_string))
        });
    let weak = std::rc::Rc::downgrade(app);
    listen(app, "lesson", "change", move |_| {
        let Some(app) = weak.upgrade() else { return };
        let document = app.borrow().document.clone();
        if let Ok(select) = typed::<HtmlSelectElement>(&document, "lesson") {
            show_lesson(&app, select.selected_index().max(0) as usize);
        }
    })?;
    on_click(app, "lesson-previous", |app| {
        let shown = app.borrow().lessons.shown;
        show_lesson(app, shown.saturating_sub(1));
    })?;
    on_click(app, "lesson-next", |app| {
        let shown = app.borrow().lessons.shown;
        show_lesson(app, shown + 1);
    })?;
    on_click(app, "lesson-start", start)
}

/// Asks the worker for the lessons once the page is ready; a `?lesson=ID` link opens that lesson and sets up
/// its experiment (ready to run, not running).
pub fn load(app: &Shared) {
    let linked = app.borrow_mut().lessons.linked.take();
    send_lessons(app, linked);
}

fn send_lessons(app: &Shared, linked: Option<String>) {
    super::rpc::send(app, Request::Lessons, None, None, move |app, reply, _| {
        let Response::Lessons { lessons } = reply else {
            return show_error(app, "lesson-message", &reply.message());
        };
        let document = app.borrow().document.clone();
        if let Ok(select) = typed::<HtmlSelectElement>(&document, "lesson") {
            select.set_text_content(None);
            for lesson in &lessons {
                let _ = append(
                    &document,
                    &select,
                    "option",
                    &format!("{} · {}", lesson.section, lesson.title),
                    None,
                );
            }
        }
        let index = linked
            .as_ref()
            .map(|id| lessons.iter().position(|lesson| &lesson.id == id));
        app.borrow_mut().lessons.lessons = lessons;
        match index {
            Some(Some(index)) => {
                show_lesson(app, index);
                set_up(app, index, false);
            }
            Some(None) => {
                show_lesson(app, 0);
                let known: Vec<String> = app.borrow().lessons.lessons.iter().map(|l| l.id.clone()).collect();
                let message = format!(
                    "The link's lesson was not found: expected one of {}, found `{}`.",
                    known.join(", "),
                    linked.unwrap_or_default()
                );
                show_error(app, "lesson-message", &message);
            }
            None => show_lesson(app, 0),
        }
    });
}

/// Shows lesson `index` (clamped to the last one).
fn show_lesson(app: &Shared, index: usize) {
    let lesson = {
        let mut this = app.borrow_mut();
        let count = this.lessons.lessons.len();
        if count == 0 {
            return;
        }
        this.lessons.shown = index.min(count - 1);
        this.lessons.lessons[this.lessons.shown].clone()
    };
    let document = app.borrow().document.clone();
    if let Err(error) = render(app, &document, &lesson) {
        report("could not show the lesson", &error);
    }
}

fn render(app: &Shared, document: &web_sys::Document, lesson: &Lesson) -> Result<(), JsValue> {
    let this = app.borrow();
    let state = &this.lessons;
    typed::<HtmlSelectElement>(document, "lesson")?.set_selected_index(state.shown as i32);
    typed::<web_sys::HtmlButtonElement>(document, "lesson-previous")?.set_disabled(state.shown == 0);
    typed::<web_sys::HtmlButtonElement>(document, "lesson-next")?.set_disabled(state.shown + 1 >= state.lessons.len());
    set_text(
        document,
        "lesson-title",
        &format!("{} · {}", lesson.section, lesson.title),
    )?;
    let text = element(document, "lesson-text")?;
    text.set_text_content(None);
    for paragraph in &lesson.text {
        append(document, &text, "p", paragraph, None)?;
    }
    let formulas = element(document, "lesson-formulas")?;
    formulas.set_text_content(None);
    for formula in &lesson.formulas {
        let block = append(document, &formulas, "div", "", Some("formula"))?;
        append(document, &block, "h4", &formula.kind, None)?;
        append(document, &block, "p", &formula.summary, Some("hint"))?;
        // The MathML strings are the crate's own constants (src/formulas/), never user input.
        let math = append(document, &block, "div", "", None)?;
        math.set_inner_html(&(formula.forward.clone() + &formula.backward.concat()));
    }
    set_text(document, "lesson-start", &lesson.button)?;
    set_text(document, "lesson-watch", &lesson.watch)?;
    let report = lesson.report.as_ref().map_or(String::new(), |number| {
        format!("The report: {} = {}{}.", number.what, number.value, unit(&number.unit))
    });
    set_text(document, "lesson-report", &report)?;
    let result = if state.started == Some(state.shown) {
        element(document, "lesson-result")?.text_content().unwrap_or_default()
    } else {
        String::new()
    };
    set_text(document, "lesson-result", &result)?;
    set_text(document, "lesson-message", "")
}

fn unit(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    }
}

/// The button: loads the shown lesson's preset, then does its action.
fn start(app: &Shared) {
    let index = app.borrow().lessons.shown;
    set_up(app, index, true);
}

/// Loads lesson `index`'s preset; with `act`, then runs its action (Run, a gradient check, the suite, the
/// Table 1 queue) through the page's own button.
fn set_up(app: &Shared, index: usize, act: bool) {
    let Some(lesson) = app.borrow().lessons.lessons.get(index).cloned() else {
        return;
    };
    app.borrow_mut().lessons.started = Some(index);
    let document = app.borrow().document.clone();
    let _ = set_text(
        &document,
        "lesson-result",
        if act {
            "Setting up the experiment…"
        } else {
            "The experiment is ready: press the button to start it."
        },
    );
    configure_then(app, lesson.query.clone(), move |app| {
        if !act {
            return;
        }
        let button = match lesson.action {
            LessonAction::Train => "run",
            LessonAction::CheckGradients => "check-gradients",
            LessonAction::Suite => "check-suite",
            LessonAction::Table1Queue => "run-experiments",
        };
        let document = app.borrow().document.clone();
        let _ = set_text(
            &document,
            "lesson-result",
            "Running: this run's number appears here when it ends.",
        );
        if let Ok(button) = typed::<HtmlElement>(&document, button) {
            button.click();
        }
    });
}

/// The lesson whose experiment is running, if it is the one shown and its action is one of `actions`.
fn started_with(app: &Shared, actions: &[LessonAction]) -> bool {
    let this = app.borrow();
    let state = &this.lessons;
    state.started == Some(state.shown)
        && state
            .lessons
            .get(state.shown)
            .is_some_and(|lesson| actions.contains(&lesson.action))
}

/// Training stopped: a training lesson shows the run's test accuracy beside the report's.
pub fn run_stopped(app: &Shared, finished: bool) {
    if !started_with(app, &[LessonAction::Train, LessonAction::Table1Queue]) {
        return;
    }
    let (last, steps_done) = {
        let this = app.borrow();
        (this.run.points.last().copied(), this.run.steps_done)
    };
    let accuracy = last.map_or("no evaluation yet".to_string(), |point| {
        format!(
            "test accuracy {:.2} % at step {}",
            100.0 * point.test_accuracy,
            point.step
        )
    });
    let text = if finished {
        format!("This run (finished): {accuracy} (whole test set of the loaded data).")
    } else {
        format!("This run, paused at step {steps_done}: {accuracy} so far.")
    };
    let document = app.borrow().document.clone();
    let _ = set_text(&document, "lesson-result", &text);
}

/// A gradient check ended: a derivation lesson shows its largest relative error beside the tolerance.
pub fn gradients_checked(app: &Shared, rows: &[CheckResult]) {
    if !started_with(app, &[LessonAction::Suite, LessonAction::CheckGradients]) {
        return;
    }
    let passed = rows.iter().filter(|row| row.passed).count();
    let worst = rows.iter().map(|row| row.max_rel_error).fold(0.0, f64::max);
    let text = format!(
        "This check: {passed} of {} rows pass; the largest relative error is {worst:.2e}.",
        rows.len()
    );
    let document = app.borrow().document.clone();
    let _ = set_text(&document, "lesson-result", &text);
}
