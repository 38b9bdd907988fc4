//! The browser shell: wasm-bindgen glue between the page (`www/`) and the core. It draws and wires and
//! holds no math: every number the page shows is computed by the session, the same code the native tests,
//! the `lab` CLI and the npm package run. By concern:
//!
//! - [`app`]: the page's state and wiring, and the rendering of a state reply;
//! - [`rpc`]: the training workers and the typed messages to and from them;
//! - [`training`]: step, run, pause, reset, evaluate, the counter and images/s, the chart;
//! - [`parallel`]: data-parallel steps across workers;
//! - [`form`]: the configuration form and presets; [`files`]: reading dropped files, exports; [`stored`]: the
//!   dropped files kept in the browser's storage with consent;
//! - [`panels`]: layer inspector, gradient check, filters, results, your own picture;
//! - [`experiments`]: the Table 1 queue; [`transfer`]: the transfer experiment; [`network`]: norm curves,
//!   activations, kernels;
//! - [`recovery`]: snapshots of the run, and new workers after one died; [`watchdog`]: a worker that stopped
//!   answering (an endless loop) is reported and can be restarted the same way;
//! - [`live`]: hyperparameters changed while training; [`curves`]: the chart's switches, values under the
//!   pointer, markers and overlays; [`history`]: past runs kept in the browser; [`lessons`]: the lessons view;
//! - [`classroom`]: the one-screen classroom view: the chart at its box's size, views opened beside;
//! - [`view`]: drawing replies into the page;
//! - [`weights`]: download and load weights, save and resume runs;
//! - [`simd_kind`]: which of the two modules this is (SIMD128 or relaxed SIMD), as a custom section;
//! - [`worker`]: [`WorkerSession`], the session inside the worker (`www/worker.js`);
//! - [`package`]: [`Lab`], the engine's JavaScript API for the npm package (`pkg/`).
use wasm_bindgen::prelude::*;

pub mod app;
pub mod backend;
pub mod classroom;
pub mod curves;
pub mod experiments;
pub mod files;
pub mod form;
pub mod history;
pub mod inspector;
pub mod lessons;
pub mod live;
pub mod network;
pub mod package;
pub mod panels;
pub mod parallel;
pub mod recovery;
pub mod rpc;
pub mod simd_kind;
pub mod stored;
pub mod stored_idb;
pub mod training;
pub mod transfer;
pub mod view;
pub mod watchdog;
pub mod weights;
pub mod worker;

pub use package::Lab;
pub use worker::WorkerSession;

/// The seed of the gradient-check suite the page runs: the one the native and wasm tests check, so a reader
/// sees the table the tests passed.
pub const GRADCHECK_SEED: u64 = 42;

/// Runs once when the module loads: installs the panic hook, then starts the lab if this is its page.
///
/// In the training worker, in Node and on the wasm tests' blank page there is no lab page, so it returns at
/// once.
#[wasm_bindgen(start)]
pub fn start() -> Result<(), JsValue> {
    console_error_panic_hook::set_once();
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return Ok(());
    };
    if document.get_element_by_id("lab").is_none() {
        return Ok(());
    }
    app::mount(&document)
}
