//! The browser shell: wasm-bindgen glue between the page (`www/`) and the core.
//!
//! - [`app`]: the page's controller on the main thread. It wires the controls and sends every request to
//!   the training worker, so the page never freezes while a model trains.
//! - [`worker`]: [`WorkerSession`], the [`crate::session::Session`] inside the worker (`www/worker.js`).
//! - [`view`]: draws the session's replies (tables, image tiles, plotters-canvas charts).
//!
//! It draws and wires and holds no math: every number the page shows is computed by the session, the same
//! code the native tests and the `lab` CLI run.
use wasm_bindgen::prelude::*;

pub mod app;
pub mod view;
pub mod worker;

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
