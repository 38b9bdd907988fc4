//! The "Inside a layer" view (the layer inspector) kept current: a layer clicked in the model diagram is shown
//! at once (its formulas, a histogram per tensor on the current batch, its output for the followed test image,
//! a convolution's kernels), and again while the model trains, so its pictures move with the curves.
//!
//! A refresh costs the worker one to two training steps (the histograms come from a forward and backward pass
//! of the current batch on a copy of the model: 3.2 s against 2 s for a step of the course's ConvNet at batch
//! 32 here), so it comes at most once per [`REFRESH_STEPS`] steps (under 5 % of the training on any machine and
//! model) and at most every [`REFRESH_MS`] (the MLP trains 40 steps in well under a second), only while the
//! view is on the screen, and never while the previous one is still on its way.
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

use super::app::{now_ms, report, show_error, Shared};
use super::rpc::send;
use super::view::{self, element};
use crate::session::{Progress, Request, Response};

/// The inspector is refreshed at most this often while training (milliseconds)…
const REFRESH_MS: f64 = 1500.0;
/// …and at most once per this many steps.
const REFRESH_STEPS: usize = 40;

/// The layer shown and when it was last asked for.
#[derive(Default)]
pub struct InspectorState {
    layer: Option<usize>,
    asked_ms: f64,
    asked_step: usize,
    /// A refresh is on its way (only one at a time: a slow worker is not asked again before it answers).
    pending: bool,
}

/// Opens layer `index` in the inspector (beside the curves in the classroom view) and scrolls to it.
pub fn inspect_layer(app: &Shared, index: usize) {
    super::classroom::show_beside(&app.borrow().document, "beside-inspect");
    app.borrow_mut().inspector.layer = Some(index);
    ask(app, index, true);
}

/// A step's reply: the inspected layer is shown again when due (see the module's comment), and once more after
/// the last step of a run or a Step click.
pub fn on_progress(app: &Shared, progress: &Progress) {
    let due = {
        let this = app.borrow();
        let state = &this.inspector;
        // while running, when due; once more when a run ends or a Step click moved the model
        let calm = now_ms() - state.asked_ms >= REFRESH_MS;
        let due = if this.run.running {
            calm && progress.steps_done >= state.asked_step + REFRESH_STEPS
        } else {
            progress.steps_done != state.asked_step
        };
        state
            .layer
            .filter(|_| due && !state.pending && on_screen(&this.document))
    };
    if let Some(index) = due {
        ask(app, index, false);
    }
}

/// Whether the inspector shows and some of it is inside the window: not hidden (no layer chosen, or the
/// model changed), not another view beside the curves, not scrolled out of sight on the long page.
fn on_screen(document: &web_sys::Document) -> bool {
    let Ok(inspector) = element(document, "inspector") else {
        return false;
    };
    let height = web_sys::window()
        .and_then(|w| w.inner_height().ok())
        .and_then(|h| h.as_f64())
        .unwrap_or(0.0);
    let rect = inspector.get_bounding_client_rect();
    rect.height() > 0.0 && rect.bottom() > 0.0 && rect.top() < height
}

/// Asks for layer `index`'s details, then for its output and kernels; `scroll` brings the inspector into view
/// (on a click, not on a refresh).
fn ask(app: &Shared, index: usize, scroll: bool) {
    {
        let mut this = app.borrow_mut();
        let steps_done = this.run.steps_done;
        let state = &mut this.inspector;
        state.pending = true;
        state.asked_ms = now_ms();
        state.asked_step = steps_done;
    }
    send(app, Request::Layer { index }, None, None, move |app, reply, _| {
        app.borrow_mut().inspector.pending = false;
        let document = app.borrow().document.clone();
        match reply {
            Response::Layer(layer) => {
                if let Err(error) = view::render_layer(&document, &layer) {
                    report("could not show the layer", &error);
                }
                if scroll {
                    if let Ok(heading) = element(&document, "inspect-heading").and_then(|h| {
                        h.dyn_into::<HtmlElement>()
                            .map_err(|_| JsValue::from_str("not an HTML element"))
                    }) {
                        heading.scroll_into_view();
                    }
                }
            }
            other => show_error(app, "inspect-summary", &other.message()),
        }
    });
    super::network::show_layer(app, index);
}
