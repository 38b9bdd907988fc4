//! [`Lab`]: the engine as a small JavaScript API, for the npm package `wasm-pack build --target web` makes
//! (`pkg/`), so a lecturer can drive it from their own page or a notebook. It is the page's session without
//! the page: every method sends one [`Request`] and returns the [`Response`] as a plain JS object, or throws
//! an `Error` with the session's message (what was expected, what was found).
use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::worker::{now_ms, read_files, to_js};
use crate::session::{Request, Response, Session};

/// A training session: data, configuration and model. Starts on the built-in generated data with the
/// course's MLP.
///
/// ```js
/// import init, { Lab } from './pkg/backprop_lab.js';
/// await init();
/// const lab = new Lab();
/// lab.configure('model=mlp&hidden=100&opt=adam&lr=0.001&batch=200&steps=1400&eval=100');
/// const progress = lab.step(100);   // { steps_done, batches: [{ step, loss, accuracy }], points, … }
/// lab.curves();                     // [{ step, train_loss, train_accuracy, test_loss, test_accuracy }]
/// lab.checkGradients().rows;        // [{ layer, parameter, max_rel_error, passed, … }]
/// ```
#[wasm_bindgen]
pub struct Lab {
    session: Session,
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl Lab {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Lab {
        console_error_panic_hook::set_once();
        Lab {
            session: Session::default(),
        }
    }

    /// Everything the page shows: `{ data, config, query, layers, parameters, steps_done, curves, … }`.
    pub fn state(&mut self) -> Result<JsValue, JsError> {
        self.ask(Request::State, &[])
    }

    /// Loads CIFAR-10 files, `[{ name, bytes: Uint8Array }]`: the `.bin` or pickle batches or a whole
    /// `.tar.gz`. Returns the new state, or `{ type: "pending", message }` while the test batch (or the
    /// training batches) are still missing.
    #[wasm_bindgen(js_name = loadData)]
    pub fn load_data(&mut self, files: Array) -> Result<JsValue, JsError> {
        let files = read_files(&files);
        self.ask(Request::AddFiles, &files)
    }

    /// Applies a configuration as the page's query string, e.g.
    /// `model=mlp&hidden=150,150&act=elu&norm=batch-norm&opt=adam&lr=0.001&batch=200&steps=2000&eval=100&seed=42`
    /// (settings left out take the model's defaults). Training starts over.
    pub fn configure(&mut self, query: &str) -> Result<JsValue, JsError> {
        self.ask(
            Request::Configure {
                query: query.to_string(),
            },
            &[],
        )
    }

    /// Trains `steps` steps (fewer at the end of the run), evaluating on the whole test set when due:
    /// `{ steps_done, total_steps, finished, batches, points, stopped, … }`. A non-finite loss stops training
    /// and says why in `stopped`.
    pub fn step(&mut self, steps: usize) -> Result<JsValue, JsError> {
        self.ask(
            Request::Step {
                steps,
                budget_ms: f64::INFINITY,
            },
            &[],
        )
    }

    /// The curve points so far (the whole test set every `eval` steps).
    pub fn curves(&self) -> Result<JsValue, JsError> {
        let curves = self.session.trainer().map_or(&[][..], |trainer| trainer.curves());
        serde_wasm_bindgen::to_value(curves).map_err(|error| JsError::new(&error.to_string()))
    }

    /// Loss and accuracy of the current model on the whole test set: `{ loss, accuracy, images }`.
    pub fn evaluate(&mut self) -> Result<JsValue, JsError> {
        self.ask(Request::Evaluate, &[])
    }

    /// Checks every parameter of the current model against central finite differences in f64:
    /// `{ rows: [{ layer, parameter, shape, max_rel_error, margin, passed, … }], samples, entries }`.
    #[wasm_bindgen(js_name = checkGradients)]
    pub fn check_gradients(&mut self) -> Result<JsValue, JsError> {
        self.ask(Request::CheckGradients, &[])
    }

    /// Starts over: a fresh model from the seed.
    pub fn reset(&mut self) -> Result<JsValue, JsError> {
        self.ask(Request::Reset, &[])
    }

    fn ask(&mut self, request: Request, files: &[(String, Vec<u8>)]) -> Result<JsValue, JsError> {
        match self.session.dispatch(request, files, &[], &now_ms).response {
            Response::Error { message } => Err(JsError::new(&message)),
            response => Ok(to_js(&response)),
        }
    }
}
