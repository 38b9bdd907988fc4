//! Talking to the training workers: starting them, sending a [`Request`] (with files or pixels beside it)
//! and handing the [`Response`] to the callback registered for it. Worker 0 holds the session the page
//! shows; the others (helpers) train data-parallel and get every state-changing request mirrored.
//!
//! Messages: page → worker `{ module }` first (the page's compiled module: compiled once for the page and all
//! its workers), then `{ id, request, files: [{ name, bytes }], pixels }`, worker → page
//! `{ id, response, pixels }` (and `{ ready: true }` once loaded). `request` and `response` are the typed
//! values themselves, converted with serde-wasm-bindgen, so both ends are checked by the compiler.
use std::collections::HashMap;

use gloo::events::EventListener;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use super::app::{now_ms, report, Shared};
use super::watchdog::Watch;
use crate::session::{Request, Response};

/// A reply's handler: the response, and the bytes beside it still in JS memory ([`in_wasm`] reads them in;
/// a data-parallel share only passes through to the workers and never needs to).
pub type OnReply = Box<dyn FnOnce(&Shared, Response, Option<Uint8Array>)>;

/// The training workers and the replies awaited from them.
#[derive(Default)]
pub struct Rpc {
    /// Worker 0 is the page's session; the rest are data-parallel helpers.
    workers: Vec<TrainingWorker>,
    callbacks: HashMap<u32, OnReply>,
    next_id: u32,
}

/// A running worker with its listeners; dropping it stops the worker and unregisters them.
pub struct TrainingWorker {
    worker: Worker,
    _listeners: [EventListener; 2],
    /// The replies it owes and since when it has been silent (see [`super::watchdog`]).
    watch: Watch,
}

impl Drop for TrainingWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

impl Rpc {
    /// How many helper workers there are (data-parallel with more than zero).
    pub fn helpers(&self) -> usize {
        self.workers.len().saturating_sub(1)
    }

    /// Keeps only the main worker (the helpers stop) and forgets the replies they owed.
    pub fn stop_helpers(&mut self) {
        self.workers.truncate(1);
    }

    /// Stops every worker and forgets every reply awaited (after a worker died).
    pub fn stop_all(&mut self) {
        self.workers.clear();
        self.callbacks.clear();
    }

    /// The worker silent longest while owing a reply: its index, the silence, and the oldest request it owes.
    pub fn longest_silence(&self, now: f64) -> Option<(usize, f64, &str)> {
        self.workers
            .iter()
            .enumerate()
            .filter_map(|(index, worker)| worker.watch.silence(now).map(|(ms, kind)| (index, ms, kind)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// The bytes beside a reply, copied into wasm memory (empty when there are none).
pub fn in_wasm(bytes: &Option<Uint8Array>) -> Vec<u8> {
    bytes.as_ref().map(Uint8Array::to_vec).unwrap_or_default()
}

/// Starts a module worker running `www/worker.js` as worker `index`, hands it this page's compiled module, and
/// routes its messages to the page.
pub fn start_worker(app: &Shared, index: usize) -> Result<(), JsValue> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = match started_by_loader(index) {
        Some(worker) => worker,
        None => Worker::new_with_options(&worker_url(&app.borrow().document), &options)?,
    };
    let handed = Object::new();
    Reflect::set(&handed, &"module".into(), &wasm_bindgen::module())?;
    worker.post_message(&handed)?;
    let weak = std::rc::Rc::downgrade(app);
    let on_message = EventListener::new(&worker, "message", move |event| {
        let (Some(app), Some(event)) = (weak.upgrade(), event.dyn_ref::<MessageEvent>()) else {
            return;
        };
        on_worker_message(&app, index, event);
    });
    // An error the worker did not catch (e.g. its module failed to load): it is as good as dead.
    let weak = std::rc::Rc::downgrade(app);
    let on_error = EventListener::new(&worker, "error", move |event| {
        let message = Reflect::get(event, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "an error it did not catch".into());
        report("a training worker failed", &JsValue::from_str(&message));
        if let Some(app) = weak.upgrade() {
            super::recovery::worker_died(&app, index, message);
        }
    });
    let mut this = app.borrow_mut();
    let handle = TrainingWorker {
        worker,
        _listeners: [on_message, on_error],
        watch: Watch::new(now_ms()),
    };
    if index < this.rpc.workers.len() {
        this.rpc.workers[index] = handle;
    } else {
        this.rpc.workers.push(handle);
    }
    Ok(())
}

/// The first worker, which www/loader.js starts while the page's module loads (taken once: a worker started
/// again after one died is new).
fn started_by_loader(index: usize) -> Option<Worker> {
    const KEY: &str = "backpropLabFirstWorker";
    if index != 0 {
        return None;
    }
    let global = js_sys::global();
    let worker = Reflect::get(&global, &KEY.into()).ok()?.dyn_into::<Worker>().ok()?;
    Reflect::delete_property(&global, &KEY.into()).ok()?;
    Some(worker)
}

/// `worker.js?v=BUILD&simd=KIND`: the worker loads the WebAssembly of the page's own build (see
/// www/load-module.js), and the same of its two modules as the page (`data-wasm-simd`, set by www/loader.js);
/// without `v` in an unstamped build.
fn worker_url(document: &web_sys::Document) -> String {
    let build = document
        .query_selector("meta[name=backprop-lab-build]")
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"))
        .unwrap_or_default();
    let simd = document
        .document_element()
        .and_then(|root| root.get_attribute("data-wasm-simd"))
        .unwrap_or_default();
    let query: Vec<String> = [("v", build), ("simd", simd)]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    if query.is_empty() {
        "./worker.js".into()
    } else {
        format!("./worker.js?{}", query.join("&"))
    }
}

fn on_worker_message(app: &Shared, index: usize, event: &MessageEvent) {
    let data = event.data();
    let text = |key: &str| Reflect::get(&data, &key.into()).ok().and_then(|v| v.as_string());
    if let Some(message) = text("panic") {
        return super::recovery::panicked(app, message);
    }
    if let Some(trap) = text("trapped") {
        return super::recovery::worker_died(app, index, trap);
    }
    // `{ ready }` has no id.
    let id = Reflect::get(&data, &"id".into())
        .ok()
        .and_then(|v| v.as_f64())
        .map(|id| id as u32);
    let silence = app
        .borrow_mut()
        .rpc
        .workers
        .get_mut(index)
        .and_then(|worker| worker.watch.heard(id, now_ms()));
    super::watchdog::heard(app, index, silence);
    if Reflect::get(&data, &"ready".into()).ok().and_then(|v| v.as_bool()) == Some(true) {
        if index == 0 {
            super::app::on_ready(app);
        } else {
            super::parallel::helper_ready(app);
        }
        return;
    }
    let response = Reflect::get(&data, &"response".into())
        .map_err(|error| format!("{error:?}"))
        .and_then(|value| serde_wasm_bindgen::from_value::<Response>(value).map_err(|error| error.to_string()))
        .unwrap_or_else(|error| Response::error(format!("the worker's reply could not be read: {error}")));
    let pixels = Reflect::get(&data, &"pixels".into())
        .ok()
        .and_then(|v| v.dyn_into::<Uint8Array>().ok());
    let Some(id) = id else {
        return;
    };
    let callback = app.borrow_mut().rpc.callbacks.remove(&id);
    if let Some(callback) = callback {
        callback(app, response, pixels);
    }
}

/// Sends `request` to the main training worker; `on_reply` gets its answer.
pub fn send(
    app: &Shared,
    request: Request,
    files: Option<Array>,
    pixels: Option<Uint8Array>,
    on_reply: impl FnOnce(&Shared, Response, Option<Uint8Array>) + 'static,
) {
    send_to(app, 0, request, files, pixels, on_reply);
}

/// `files` with each file's bytes copied (a message moves the bytes it carries).
pub fn copy_files(files: &Array) -> Array {
    files
        .iter()
        .map(|file| {
            let name = Reflect::get(&file, &"name".into()).unwrap_or(JsValue::UNDEFINED);
            let bytes = Reflect::get(&file, &"bytes".into())
                .ok()
                .and_then(|b| b.dyn_into::<Uint8Array>().ok())
                .map(|b| Uint8Array::new(&b))
                .unwrap_or_else(|| Uint8Array::new_with_length(0));
            file_entry(&name, &bytes)
        })
        .collect()
}

/// One `{ name, bytes }` entry of a message's files.
pub fn file_entry(name: &JsValue, bytes: &Uint8Array) -> JsValue {
    let entry = Object::new();
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(&entry, &"name".into(), name);
    let _ = Reflect::set(&entry, &"bytes".into(), bytes);
    entry.into()
}

/// Sends a state-changing request to every helper worker too, so that all hold the same data and model
/// (call before `send`, which may move the files' bytes).
pub fn mirror(app: &Shared, request: &Request, files: Option<&Array>) {
    let helpers = app.borrow().rpc.helpers();
    for index in 1..=helpers {
        send_to(
            app,
            index,
            request.clone(),
            files.map(copy_files),
            None,
            |app, reply, _| {
                if let Response::Error { message } = reply {
                    super::app::show_error(app, "train-message", &message);
                }
            },
        );
    }
}

/// Sends `request` to worker `target` (0: the main training worker, then the helpers).
pub fn send_to(
    app: &Shared,
    target: usize,
    request: Request,
    files: Option<Array>,
    pixels: Option<Uint8Array>,
    on_reply: impl FnOnce(&Shared, Response, Option<Uint8Array>) + 'static,
) {
    // The WebGPU probe is answered outside the worker's queue and may never be (a browser without an
    // adapter): its silence says nothing about the worker.
    let watched = !matches!(request, Request::Backends);
    let request = match serde_wasm_bindgen::to_value(&request) {
        Ok(request) => request,
        Err(error) => {
            report("could not encode a request", &JsValue::from_str(&error.to_string()));
            return;
        }
    };
    let mut this = app.borrow_mut();
    let id = this.rpc.next_id;
    let Some(target) = this.rpc.workers.get_mut(target) else {
        return;
    };
    if watched {
        let kind = Reflect::get(&request, &"type".into())
            .ok()
            .and_then(|kind| kind.as_string());
        target
            .watch
            .sent(id, kind.unwrap_or_else(|| "another".into()), now_ms());
    }
    let worker = target.worker.clone();
    this.rpc.next_id = this.rpc.next_id.wrapping_add(1);
    this.rpc.callbacks.insert(id, Box::new(on_reply));
    drop(this);
    let message = Object::new();
    let transfer = Array::new();
    let _ = Reflect::set(&message, &"id".into(), &id.into());
    let _ = Reflect::set(&message, &"request".into(), &request);
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
    if let Err(error) = worker.post_message_with_transfer(&message, &transfer) {
        report("could not reach the training worker", &error);
    }
}
