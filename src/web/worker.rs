//! The worker side: `www/worker.js` creates one [`WorkerSession`] and passes it every message of the page.
use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::session::{BackendSession, Request, Response, Session};

/// How long the WebGPU probe waits for the browser (which may never answer where WebGPU is off).
const PROBE_TIMEOUT_MS: i32 = 10_000;

/// The page's [`Session`] with its backend, living in the training worker. While a GPU request waits
/// for the GPU the session is taken out (`worker.js` sends one request at a time).
#[wasm_bindgen]
pub struct WorkerSession {
    session: Rc<RefCell<Option<BackendSession>>>,
}

impl Default for WorkerSession {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl WorkerSession {
    /// A session on the built-in generated data set with the course's MLP configuration.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WorkerSession {
        // A panic traps the module: the page hears what it was (`{ panic }`) before `worker.js` reports the
        // trap, and says it.
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            tell_page("panic", &info.to_string());
        }));
        WorkerSession {
            session: Rc::new(RefCell::new(Some(BackendSession::new(Session::default())))),
        }
    }

    /// The most bytes `www/inflate.js` inflates with the browser's own gzip before it leaves a file to the
    /// Rust loader (which streams it member by member): the loader's limit for one decompressed file.
    #[wasm_bindgen(js_name = maxInflatedBytes)]
    pub fn max_inflated_bytes() -> usize {
        crate::data::MAX_DECOMPRESSED_BYTES
    }

    /// Whether `request` must go through [`WorkerSession::handle_gpu`] (it may wait for the GPU).
    pub fn needs_gpu(&self, request: JsValue) -> bool {
        let Ok(request) = serde_wasm_bindgen::from_value::<Request>(request) else {
            return false;
        };
        self.session.borrow().as_ref().is_some_and(|s| s.needs_gpu(&request))
    }

    /// [`WorkerSession::handle`] for a request that waits for the GPU: a promise of `{ response, pixels }`.
    pub fn handle_gpu(&self, request: JsValue, files: Array, pixels: Vec<u8>) -> js_sys::Promise {
        let cell = Rc::clone(&self.session);
        wasm_bindgen_futures::future_to_promise(async move {
            let taken = cell.borrow_mut().take();
            let (response, out) = match (parse(&request), taken) {
                (Ok(request), Some(mut session)) => {
                    let files = read_files(&files);
                    let reply = session
                        .dispatch(request, (&files, &pixels), &now_ms, sleep(PROBE_TIMEOUT_MS))
                        .await;
                    *cell.borrow_mut() = Some(session);
                    (reply.response, reply.pixels)
                }
                (Err(message), session) => {
                    *cell.borrow_mut() = session;
                    (Response::error(message), Vec::new())
                }
                (_, None) => (Response::error(BUSY), Vec::new()),
            };
            Ok(reply_object(&response, &out).into())
        })
    }

    /// Carries out one request (a [`Request`] as a JS value); `files` is an array of `{ name, bytes }`,
    /// `pixels` the RGBA picture of a `classify` request. Returns `{ response, pixels }`, the response a
    /// [`Response`] as a JS value.
    pub fn handle(&mut self, request: JsValue, files: Array, pixels: &[u8]) -> Object {
        let mut cell = self.session.borrow_mut();
        let (response, pixels) = match (parse(&request), cell.as_mut()) {
            (Ok(request), Some(session)) => {
                let files = read_files(&files);
                let reply = session.dispatch_now(request, &files, pixels, &now_ms);
                (reply.response, reply.pixels)
            }
            (Err(message), _) => (Response::error(message), Vec::new()),
            (_, None) => (Response::error(BUSY), Vec::new()),
        };
        reply_object(&response, &pixels)
    }
}

const BUSY: &str = "request: expected the worker to be free, found it waiting for the GPU";

/// A request as a JS value, or what was wrong with it.
fn parse(request: &JsValue) -> Result<Request, String> {
    serde_wasm_bindgen::from_value::<Request>(request.clone()).map_err(|error| {
        let found = js_sys::JSON::stringify(request).map_or_else(|_| "?".into(), String::from);
        format!("request: expected a lab request, found {found} ({error})")
    })
}

/// What WebGPU offers in this worker, without the session (the page asks while other requests go on): a
/// promise of `{ response, pixels }` with a [`Response::Backends`].
#[wasm_bindgen]
pub fn probe_webgpu() -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async {
        let status = crate::session::webgpu_status(sleep(PROBE_TIMEOUT_MS)).await;
        Ok(reply_object(&Response::Backends(status), &[]).into())
    })
}

/// Completes after `ms` milliseconds (the worker's `setTimeout`).
async fn sleep(ms: i32) {
    let global = js_sys::global();
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout = Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(set_timeout) = set_timeout {
            let _ = set_timeout.call2(&global, &resolve, &ms.into());
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Posts `{ key: text }` to the page, from a worker (elsewhere there is no `postMessage` of this shape).
fn tell_page(key: &str, text: &str) {
    let global = js_sys::global();
    let Some(post) = Reflect::get(&global, &"postMessage".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return;
    };
    if js_sys::Reflect::has(&global, &"importScripts".into()) != Ok(true) {
        return; // not a worker: a window's postMessage would need a target origin
    }
    let message = Object::new();
    let _ = Reflect::set(&message, &key.into(), &text.into());
    let _ = post.call1(&global, &message);
}

/// `{ response, pixels }` for the page.
pub fn reply_object(response: &Response, pixels: &[u8]) -> Object {
    let response = to_js(response);
    let object = Object::new();
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(&object, &"response".into(), &response);
    let _ = Reflect::set(&object, &"pixels".into(), &Uint8Array::from(pixels).into());
    object
}

/// A response as a JS value (an error response if it cannot be converted).
pub fn to_js(response: &Response) -> JsValue {
    serde_wasm_bindgen::to_value(response).unwrap_or_else(|error| {
        let fallback = Response::error(format!("could not encode the reply: {error}"));
        serde_wasm_bindgen::to_value(&fallback).unwrap_or(JsValue::NULL)
    })
}

/// `[{ name, bytes }]` → `(name, bytes)`; entries without a name or bytes are skipped.
pub fn read_files(files: &Array) -> Vec<(String, Vec<u8>)> {
    files
        .iter()
        .filter_map(|file| {
            let name = Reflect::get(&file, &"name".into()).ok()?.as_string()?;
            let bytes = Reflect::get(&file, &"bytes".into()).ok()?;
            Some((name, bytes.dyn_into::<Uint8Array>().ok()?.to_vec()))
        })
        .collect()
}

/// `performance.now()` of the worker (or the page), falling back to `Date.now()`.
pub fn now_ms() -> f64 {
    let global = js_sys::global();
    Reflect::get(&global, &"performance".into())
        .ok()
        .and_then(|performance| {
            let now = Reflect::get(&performance, &"now".into()).ok()?;
            now.dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&performance)
                .ok()?
                .as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}
