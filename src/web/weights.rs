//! Weights and runs in the page: `Download weights` (the current model as `.safetensors`, PyTorch's names, the
//! configuration in the metadata), `Load weights` (picked or dropped; the model is rebuilt from the file's
//! metadata, or checked against the current one), `Save run` and `Resume run` (the whole run, continuing bit
//! for bit). The worker's session does the work (`session::weights`, `session::recovery`); this only moves
//! files and shows what came back.
use gloo::file::{Blob, ObjectUrl};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{File, FileList, HtmlInputElement};

use super::app::{on_click, show_error, show_state, Shared};
use super::files::{download, on_drop, on_files, read_files};
use super::rpc::{copy_files, in_wasm, mirror, send};
use super::training::{pause, update_counters};
use super::view::{set_text, typed};
use crate::session::{Request, Response};

const MESSAGE: &str = "weights-message";

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    on_click(app, "download-weights", download_weights)?;
    on_click(app, "save-run", save_run)?;
    on_files(app, "load-weights", load_weights)?;
    on_drop(app, "weights-drop", load_weights)?;
    on_files(app, "resume-file", |app, files| load(app, files, Request::ResumeRun))
}

/// `Load weights`: into the model the file describes, or into the current one if the box is ticked.
fn load_weights(app: &Shared, files: FileList) {
    let into_current =
        typed::<HtmlInputElement>(&app.borrow().document, "load-into-current").is_ok_and(|input| input.checked());
    load(app, files, Request::LoadWeights { into_current });
}

/// The worker is ready; otherwise says to wait.
fn ready(app: &Shared) -> bool {
    let ready = app.borrow().ready;
    if !ready {
        show_error(app, MESSAGE, "The lab is still loading: try again in a moment.");
    }
    ready
}

/// Saves the bytes of a reply as `name`.
fn save(app: &Shared, name: &str, bytes: Option<Uint8Array>) {
    let bytes = in_wasm(&bytes);
    let url = ObjectUrl::from(Blob::new_with_options(
        bytes.as_slice(),
        Some("application/octet-stream"),
    ));
    match download(app, name, &url) {
        Ok(()) => {
            let document = app.borrow().document.clone();
            let _ = set_text(&document, MESSAGE, &format!("Saved {name} ({} bytes).", bytes.len()));
        }
        Err(error) => show_error(app, MESSAGE, &format!("{name} could not be saved: {error:?}")),
    }
}

fn download_weights(app: &Shared) {
    if !ready(app) {
        return;
    }
    send(app, Request::SaveWeights, None, None, |app, reply, bytes| match reply {
        Response::File { name } => save(app, &name, bytes),
        other => show_error(app, MESSAGE, &other.message()),
    });
}

fn save_run(app: &Shared) {
    if !ready(app) {
        return;
    }
    send(app, Request::SaveRun, None, None, |app, reply, bytes| match reply {
        Response::Snapshot { step, .. } => save(app, &format!("run-step-{step}.safetensors"), bytes),
        other => show_error(app, MESSAGE, &other.message()),
    });
}

/// Reads the one file in `files` and sends it with `request` to every worker; the page shows the new model.
fn load(app: &Shared, files: FileList, request: Request) {
    if !ready(app) {
        return;
    }
    let files: Vec<File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
    let [file] = &files[..] else {
        let message = format!("Expected one .safetensors file, found {} files.", files.len());
        return show_error(app, MESSAGE, &message);
    };
    let name = file.name();
    pause(app);
    let document = app.borrow().document.clone();
    let _ = set_text(&document, MESSAGE, &format!("Reading {name}…"));
    read_files(
        app,
        files,
        Box::new(move |app, read: Array| {
            mirror(app, &request, Some(&read));
            send(
                app,
                request,
                Some(copy_files(&read)),
                None,
                move |app, reply, pixels| {
                    let message = match &reply {
                        Response::Loaded { message, .. } => message.clone(),
                        Response::State(state) => format!(
                            "Resumed {name} at step {} of {}: training continues where it was saved.",
                            state.steps_done, state.total_steps
                        ),
                        other => return show_error(app, MESSAGE, &other.message()),
                    };
                    let state = match reply {
                        Response::Loaded { state, .. } => Response::State(*state),
                        other => other,
                    };
                    show_state(app, state, &in_wasm(&pixels));
                    update_counters(app);
                    let document = app.borrow().document.clone();
                    let _ = set_text(&document, MESSAGE, &message);
                },
            );
        }),
    );
}
