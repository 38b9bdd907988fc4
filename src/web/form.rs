//! The configuration form: presets, the form filled from the session's configuration, the query string
//! built from the form, and applying it on every worker.
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlInputElement, HtmlSelectElement};

use super::app::{listen, listen_with_default, show_error, show_state, Shared};
use super::rpc::{in_wasm, mirror, send};
use super::training::{pause, run};
use super::view::{element, set_text, typed};
use crate::layers::LinearInit;
use crate::model::ModelKind;
use crate::session::page_config::kebab;
use crate::session::{PageConfig, Preset, Request, Response};

/// The configuration as the worker last confirmed it, and the presets it offers.
#[derive(Default)]
pub struct FormState {
    pub query: String,
    pub presets: Vec<Preset>,
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    let weak = std::rc::Rc::downgrade(app);
    listen_with_default(app, "config-form", "submit", move |event| {
        event.prevent_default();
        let Some(app) = weak.upgrade() else { return };
        let document = app.borrow().document.clone();
        if let Ok(query) = form_query(&document) {
            configure(&app, query);
        }
    })?;
    let weak = std::rc::Rc::downgrade(app);
    listen(app, "config-form", "change", move |event| {
        let Some(app) = weak.upgrade() else { return };
        let document = app.borrow().document.clone();
        let changed = event
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .map(|t| t.id())
            .unwrap_or_default();
        let select = |id: &str| {
            typed::<HtmlSelectElement>(&document, id)
                .map(|s| s.value())
                .unwrap_or_default()
        };
        let query = match changed.as_str() {
            "preset" => select("preset"),
            // Another model starts from its own defaults (the course's, or the small CNN's recipe).
            "model" => format!("model={}", select("model")),
            _ => form_query(&document).unwrap_or_default(),
        };
        if !query.is_empty() && app.borrow().ready {
            configure(&app, query);
        }
    })
}

/// Fills the preset list once.
pub fn fill_presets(app: &Shared) {
    let this = app.borrow();
    let document = &this.document;
    let Ok(select) = typed::<HtmlSelectElement>(document, "preset") else {
        return;
    };
    if select.length() > 1 {
        return;
    }
    for preset in &this.form.presets {
        if let Ok(option) = document.create_element("option") {
            let _ = option.set_attribute("value", &preset.query);
            option.set_text_content(Some(&preset.label));
            let _ = select.append_child(&option);
        }
    }
}

/// Puts a configuration (and its query) into the form.
pub fn fill_form(document: &Document, config: &PageConfig, query: &str) -> Result<(), JsValue> {
    let set_select = |id: &str, value: &str| -> Result<(), JsValue> {
        typed::<HtmlSelectElement>(document, id)?.set_value(value);
        Ok(())
    };
    let set_input = |id: &str, value: String| -> Result<(), JsValue> {
        typed::<HtmlInputElement>(document, id)?.set_value(&value);
        Ok(())
    };
    set_select("model", &kebab(&config.model))?;
    set_select("act", &kebab(&config.activation))?;
    set_select("norm", &kebab(&config.normalization))?;
    set_select("opt", &kebab(&config.optimizer))?;
    let hidden: Vec<String> = config.hidden.iter().map(usize::to_string).collect();
    set_input("hidden", hidden.join(","))?;
    set_input("lr", config.learning_rate.to_string())?;
    set_input("batch", config.batch_size.to_string())?;
    set_input("steps", config.steps.to_string())?;
    set_input("eval", config.eval_every.to_string())?;
    set_input("seed", config.seed.to_string())?;
    typed::<HtmlInputElement>(document, "augment")?.set_checked(config.augment);
    match config.init {
        LinearInit::PyTorch => set_select("init", "pytorch")?,
        LinearInit::Normal { std } => {
            set_select("init", "normal")?;
            set_input("init-std", std.to_string())?;
        }
    }
    let preset: HtmlSelectElement = typed(document, "preset")?;
    preset.set_value(query);
    if preset.value() != query {
        preset.set_value("");
    }
    let form = element(document, "config-form")?;
    form.set_class_name(if config.model == ModelKind::Mlp {
        "config"
    } else {
        "config cnn"
    });
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
    ) + &settings_query(document)?)
}

/// The initialisation and the live controls' momentum and weight decay as query parameters (momentum only
/// with SGD: Adam has none), so that applying the form keeps them.
fn settings_query(document: &Document) -> Result<String, JsValue> {
    let value = |id: &str| -> Result<String, JsValue> {
        let text = typed::<HtmlInputElement>(document, id)?.value();
        Ok(String::from(js_sys::encode_uri_component(text.trim())))
    };
    let mut query = String::new();
    if typed::<HtmlSelectElement>(document, "init")?.value() == "normal" {
        query += &format!("&init=normal&init-std={}", value("init-std")?);
    }
    let momentum = value("live-momentum")?;
    if typed::<HtmlSelectElement>(document, "opt")?.value() == "sgd" && !matches!(momentum.as_str(), "" | "0") {
        query += &format!("&momentum={momentum}");
    }
    let weight_decay = value("live-wd")?;
    if !matches!(weight_decay.as_str(), "" | "0") {
        query += &format!("&wd={weight_decay}");
    }
    Ok(query)
}

/// Applies a configuration on every worker; the queue's next row starts once it is in.
pub fn configure(app: &Shared, query: String) {
    configure_then(app, query, |_| {});
}

/// [`configure`], then `then` once the configuration is in (not if it was refused).
pub fn configure_then(app: &Shared, query: String, then: impl FnOnce(&Shared) + 'static) {
    pause(app);
    let request = Request::Configure { query };
    mirror(app, &request, None);
    let trained = app.borrow().run.steps_done;
    send(app, request, None, None, move |app, reply, pixels| {
        if let Response::Error { message } = &reply {
            show_error(app, "config-message", message);
            return;
        }
        let document = app.borrow().document.clone();
        let _ = set_text(&document, "train-message", "");
        if trained > 0 {
            // Only the learning rate, momentum and weight decay change without a reset (the live controls).
            let _ = set_text(
                &document,
                "train-status",
                &format!(
                    "The configuration changed: training starts over from step 0 (the run before stopped at step                      {trained}; it is in the run history)."
                ),
            );
        }
        show_state(app, reply, &in_wasm(&pixels));
        if app.borrow().queue.current.is_some() {
            run(app);
        }
        then(app);
    });
}
