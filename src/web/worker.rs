//! The worker side: `www/worker.js` creates one [`WorkerSession`] and passes it every message of the page.
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::session::{Reply, Request, Response, Session};

/// The page's [`Session`], living in the training worker.
#[wasm_bindgen]
pub struct WorkerSession {
    session: Session,
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
        console_error_panic_hook::set_once();
        WorkerSession {
            session: Session::default(),
        }
    }

    /// Carries out one request (JSON of [`Request`]); `files` is an array of `{ name, bytes }`, `pixels` the
    /// RGBA picture of a `classify` request. Returns `{ json, pixels }`.
    pub fn handle(&mut self, request: &str, files: Array, pixels: &[u8]) -> Object {
        let reply = match serde_json::from_str::<Request>(request) {
            Ok(request) => {
                let files = read_files(&files);
                self.session.dispatch(request, &files, pixels, &now_ms)
            }
            Err(error) => Reply {
                response: Response::error(format!("request: expected a lab request, found {request} ({error})")),
                pixels: Vec::new(),
            },
        };
        let json = serde_json::to_string(&reply.response)
            .unwrap_or_else(|error| format!(r#"{{"type":"error","message":"could not encode the reply: {error}"}}"#));
        let object = Object::new();
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &"json".into(), &json.into());
        let _ = Reflect::set(&object, &"pixels".into(), &Uint8Array::from(&reply.pixels[..]).into());
        object
    }
}

/// `[{ name, bytes }]` → `(name, bytes)`; entries without a name or bytes are skipped.
fn read_files(files: &Array) -> Vec<(String, Vec<u8>)> {
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
fn now_ms() -> f64 {
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
