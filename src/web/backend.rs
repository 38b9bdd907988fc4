//! The `Backend` control: the CPU (WebAssembly SIMD) or WebGPU. The worker probes WebGPU (its adapter's name,
//! whether it is a software adapter, or why there is none); WebGPU training runs in the same worker through
//! `session::BackendSession`, and when the GPU fails the worker falls back to the CPU and says so here.
use gloo::events::EventListener;
use wasm_bindgen::prelude::*;
use web_sys::HtmlSelectElement;

use super::app::{show_error, Shared};
use super::rpc::send;
use super::view::{set_error, set_text, typed};
use crate::session::{Backend, BackendStatus, Request, Response};

/// Sends the choice to the worker when the control changes.
pub fn wire(app: &Shared) -> Result<(), JsValue> {
    let select = typed::<HtmlSelectElement>(&app.borrow().document, "backend")?;
    let weak = std::rc::Rc::downgrade(app);
    let listener = EventListener::new(&select, "change", move |_| {
        if let Some(app) = weak.upgrade() {
            choose(&app);
        }
    });
    listener.forget();
    Ok(())
}

/// Asks the worker what WebGPU offers here (once the page is interactive).
pub fn probe(app: &Shared) {
    send(app, Request::Backends, None, None, on_reply);
}

fn choose(app: &Shared) {
    let document = app.borrow().document.clone();
    let Ok(select) = typed::<HtmlSelectElement>(&document, "backend") else {
        return;
    };
    let backend = if select.value() == "gpu" {
        Backend::Gpu
    } else {
        Backend::Cpu
    };
    if backend == Backend::Gpu && app.borrow().rpc.helpers() > 0 {
        select.set_value("cpu");
        let _ = set_error(
            &document,
            "train-message",
            "WebGPU trains in one worker: set Workers to 1 first.",
        );
        return;
    }
    super::training::pause(app);
    send(app, Request::SetBackend { backend }, None, None, on_reply);
}

fn on_reply(app: &Shared, reply: Response, _: Option<js_sys::Uint8Array>) {
    match reply {
        Response::Backends(status) => show(app, &status),
        other => {
            show_error(app, "train-message", &other.message());
            set_choice(app, Backend::Cpu);
        }
    }
}

/// The control and the line beside it from the worker's status.
fn show(app: &Shared, status: &BackendStatus) {
    let document = app.borrow().document.clone();
    if let Ok(select) = typed::<HtmlSelectElement>(&document, "backend") {
        if let Some(option) = select.get(1) {
            let _ = option.toggle_attribute_with_force("disabled", status.unavailable.is_some());
        }
    }
    set_choice(app, status.backend);
    let text = match (&status.webgpu, &status.unavailable) {
        (Some(adapter), _) => {
            let name = if adapter.name.is_empty() {
                "an unnamed adapter"
            } else {
                &adapter.name
            };
            let mut text = format!("WebGPU adapter: {name}");
            if adapter.software {
                text += " (a software adapter: correct, but slower than the CPU)";
            }
            text
        }
        (None, Some(reason)) => format!("WebGPU is not available here: {reason}"),
        (None, None) => "Looking for WebGPU…".into(),
    };
    let _ = set_text(&document, "backend-status", &text);
}

/// Shows `backend` as chosen; the Workers control applies to the CPU only.
fn set_choice(app: &Shared, backend: Backend) {
    let document = app.borrow().document.clone();
    if let Ok(select) = typed::<HtmlSelectElement>(&document, "backend") {
        select.set_value(if backend == Backend::Gpu { "gpu" } else { "cpu" });
    }
    if let Ok(workers) = typed::<HtmlSelectElement>(&document, "workers") {
        workers.set_disabled(backend == Backend::Gpu);
    }
}

/// The worker fell back to the CPU: the control follows and the notice is shown.
pub fn fell_back(app: &Shared, notice: &str) {
    set_choice(app, Backend::Cpu);
    let document = app.borrow().document.clone();
    let _ = set_error(&document, "train-message", notice);
    let _ = set_text(&document, "backend-status", "WebGPU failed: training on the CPU.");
}

/// The worker rolled the run back to `step`, its last sync with the GPU: the curves drop what came after it.
pub fn rewind(app: &Shared, step: usize) {
    let mut this = app.borrow_mut();
    this.run.batches.retain(|&(batch_step, _)| batch_step <= step);
    this.run.points.retain(|point| point.step <= step);
    this.network.rewind(step);
}
