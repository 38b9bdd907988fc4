//! Live hyperparameters: the learning rate, SGD's momentum and the weight decay change while the run trains,
//! without starting over (the session records each change, [`crate::train::live`]). Every change is a marker
//! on the curves, a `live=` entry in the link and a row of the CSV's hyperparameter columns.
use wasm_bindgen::prelude::*;
use web_sys::HtmlInputElement;

use super::app::{listen_with_default, show_error, Shared};
use super::rpc::{mirror, send};
use super::training::redraw;
use super::view::{set_text, typed};
use crate::session::{PageConfig, Request, Response};
use crate::train::{change_labels as markers, Hyperparameters};

/// The settings the run started with (the markers say what each change changed).
#[derive(Default)]
pub struct LiveState {
    base: Option<Hyperparameters>,
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    let weak = std::rc::Rc::downgrade(app);
    listen_with_default(app, "live-form", "submit", move |event| {
        event.prevent_default();
        if let Some(app) = weak.upgrade() {
            change(&app);
        }
    })
}

/// A new configuration is shown: the controls take its settings, the markers its replayed changes.
pub fn show(app: &Shared, config: &PageConfig) {
    let base = Hyperparameters {
        learning_rate: config.learning_rate,
        momentum: config.momentum,
        weight_decay: config.weight_decay,
    };
    let current = config.changes.last().map_or(base, |c| c.hyperparameters);
    fill(app, &current);
    let mut this = app.borrow_mut();
    this.live.base = Some(base);
    this.chart.markers = markers(&base, &config.changes);
}

fn fill(app: &Shared, settings: &Hyperparameters) {
    let document = app.borrow().document.clone();
    for (id, value) in [
        ("live-lr", settings.learning_rate),
        ("live-momentum", settings.momentum),
        ("live-wd", settings.weight_decay),
    ] {
        if let Ok(input) = typed::<HtmlInputElement>(&document, id) {
            input.set_value(&value.to_string());
        }
    }
}

/// Reads the three controls: a value that is not a number is named.
fn read(app: &Shared) -> Result<Hyperparameters, String> {
    let document = app.borrow().document.clone();
    let number = |id: &str, what: &str| -> Result<f64, String> {
        let text = typed::<HtmlInputElement>(&document, id)
            .map(|input| input.value())
            .unwrap_or_default();
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| format!("{what}: expected a number such as 0.01, found `{}`", text.trim()))
    };
    Ok(Hyperparameters {
        learning_rate: number("live-lr", "Learning rate")?,
        momentum: number("live-momentum", "Momentum")?,
        weight_decay: number("live-wd", "Weight decay")?,
    })
}

/// Sends the controls' values to every worker: from the next step on, training uses them.
fn change(app: &Shared) {
    if !app.borrow().ready {
        return;
    }
    let settings = match read(app) {
        Ok(settings) => settings,
        Err(message) => return show_error(app, "live-message", &message),
    };
    let request = Request::SetHyperparameters(settings);
    mirror(app, &request, None);
    send(app, request, None, None, move |app, reply, _| match reply {
        Response::Hyperparameters {
            query,
            steps_done,
            changes,
        } => {
            if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
                let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("?{query}")));
            }
            let document = app.borrow().document.clone();
            let message = if steps_done == 0 {
                // Nothing trained yet: these are simply the run's settings.
                if let Ok(input) = typed::<HtmlInputElement>(&document, "lr") {
                    input.set_value(&settings.learning_rate.to_string());
                }
                app.borrow_mut().live.base = Some(settings);
                format!(
                    "The run will start with learning rate {}, momentum {}, weight decay {}.",
                    settings.learning_rate, settings.momentum, settings.weight_decay
                )
            } else {
                format!(
                    "From step {} on: learning rate {}, momentum {}, weight decay {} (marked on the curves; the \
                     link and the CSV record it).",
                    steps_done + 1,
                    settings.learning_rate,
                    settings.momentum,
                    settings.weight_decay
                )
            };
            let _ = set_text(&document, "live-message", &message);
            {
                let mut this = app.borrow_mut();
                this.form.query = query;
                let base = this.live.base.unwrap_or(settings);
                this.chart.markers = markers(&base, &changes);
            }
            redraw(app, true);
        }
        other => show_error(app, "live-message", &other.message()),
    });
}
