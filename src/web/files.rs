//! Files in and out of the page: dropped or picked CIFAR-10 files (read with a progress bar, decoded in the
//! workers), and the curves exported as CSV and the chart as PNG.
//!
//! Reading stays on `web_sys::FileReader`, not `gloo::file`: gloo's readers report no progress, and one
//! CIFAR-10 archive is 160 MB. Its listeners are `gloo::events` listeners kept in [`Reading`], so they
//! unregister when the read is over.
use gloo::events::EventListener;
use gloo::file::{Blob, ObjectUrl};
use gloo::timers::callback::Timeout;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{
    DragEvent, Element, Event, File, FileList, FileReader, HtmlAnchorElement, HtmlCanvasElement, HtmlInputElement,
    HtmlProgressElement, ProgressEvent,
};

use super::app::{listen, listen_with_default, on_click, report, show_error, show_state, Shared};
use super::rpc::{file_entry, in_wasm, mirror, send};
use super::training::pause;
use super::view::{set_error, set_text, typed};
use crate::session::{Request, Response};

/// Called with the `{ name, bytes }` entries of files read.
pub type FilesRead = Box<dyn FnOnce(&Shared, Array)>;

/// The files behind the loaded data (replayed to helpers that start), and those waiting for their missing
/// part.
#[derive(Default)]
pub struct DataFiles {
    pub files: Vec<File>,
    pending: Vec<File>,
}

/// A file being read: the reader and its listeners (dropped, they unregister).
pub struct Reading {
    _reader: FileReader,
    _listeners: [EventListener; 3],
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    on_files(app, "file-input", load_files)?;
    on_drop(app, "drop-zone", load_files)?;
    on_click(app, "use-synthetic", use_synthetic)?;
    on_click(app, "export-csv", export_csv)?;
    on_click(app, "export-png", export_png)?;
    Ok(())
}

/// Calls `handler` with the files picked in the file input `id` (then clears it, so that the same file can be
/// picked again).
pub fn on_files(app: &Shared, id: &str, handler: impl Fn(&Shared, FileList) + 'static) -> Result<(), JsValue> {
    let weak = std::rc::Rc::downgrade(app);
    listen(app, id, "change", move |event| {
        let input = event.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
        if let (Some(app), Some(files)) = (weak.upgrade(), input.as_ref().and_then(HtmlInputElement::files)) {
            handler(&app, files);
        }
        if let Some(input) = input {
            input.set_value("");
        }
    })
}

/// Makes the element `id` a drop zone: highlighted while files are dragged over it, `handler` gets the files
/// dropped.
pub fn on_drop(app: &Shared, id: &str, handler: impl Fn(&Shared, FileList) + 'static) -> Result<(), JsValue> {
    let zone_class = |event: &Event, over: bool| {
        if let Some(zone) = event.current_target().and_then(|t| t.dyn_into::<Element>().ok()) {
            let _ = zone.class_list().toggle_with_force("over", over);
        }
    };
    listen_with_default(app, id, "dragover", move |event| {
        event.prevent_default();
        zone_class(event, true);
    })?;
    listen(app, id, "dragleave", move |event| zone_class(event, false))?;
    let weak = std::rc::Rc::downgrade(app);
    listen_with_default(app, id, "drop", move |event| {
        event.prevent_default();
        zone_class(event, false);
        let files = event
            .dyn_ref::<DragEvent>()
            .and_then(|d| d.data_transfer())
            .and_then(|d| d.files());
        if let (Some(app), Some(files)) = (weak.upgrade(), files) {
            handler(&app, files);
        }
    })
}

/// Reads `files` with a progress bar, then sends them to the workers.
fn load_files(app: &Shared, files: FileList) {
    load_file_vec(app, (0..files.length()).filter_map(|i| files.get(i)).collect());
}

/// Reads `files` (dropped, picked or kept in the browser's storage) with a progress bar, then sends them to
/// the workers.
pub fn load_file_vec(app: &Shared, files: Vec<File>) {
    let document = app.borrow().document.clone();
    if files.is_empty() {
        return;
    }
    pause(app);
    let total: f64 = files.iter().map(|f| f.size()).sum::<f64>().max(1.0);
    let _ = set_text(
        &document,
        "data-message",
        &format!("Reading {} file(s), {:.1} MB…", files.len(), total / 1e6),
    );
    if let Ok(progress) = typed::<HtmlProgressElement>(&document, "load-progress") {
        progress.set_max(total);
        progress.set_value(0.0);
        let _ = progress.remove_attribute("hidden");
    }
    let dropped = files.clone();
    let started_ms = super::app::now_ms();
    read_files(
        app,
        files,
        Box::new(move |app, read| add_files(app, read, dropped, started_ms)),
    );
}

/// Sends read files to the workers and shows what came of them (and how long reading and decoding took,
/// from `started_ms`).
fn add_files(app: &Shared, read: Array, dropped: Vec<File>, started_ms: f64) {
    let document = app.borrow().document.clone();
    // All read: hand them to the workers (they parse; the bar waits without a value meanwhile).
    if let Ok(progress) = typed::<HtmlProgressElement>(&document, "load-progress") {
        let _ = progress.remove_attribute("value");
    }
    let _ = set_text(&document, "data-message", "Decoding in the worker…");
    super::recovery::decoding(app, dropped.iter().map(File::name).collect());
    mirror(app, &Request::AddFiles, Some(&read));
    send(app, Request::AddFiles, Some(read), None, move |app, reply, pixels| {
        super::recovery::decoding(app, Vec::new());
        let document = app.borrow().document.clone();
        if let Ok(progress) = typed::<HtmlProgressElement>(&document, "load-progress") {
            let _ = progress.set_attribute("hidden", "");
        }
        match reply {
            Response::State(state) => {
                {
                    let mut this = app.borrow_mut();
                    let mut files = std::mem::take(&mut this.data.pending);
                    files.extend(dropped);
                    this.data.files = files;
                }
                super::stored::on_loaded(app);
                let data = &state.data;
                let message = format!(
                    "Loaded {}: {} training and {} test images in {:.1} s. Training starts over on them.",
                    data.name,
                    data.train,
                    data.test,
                    (super::app::now_ms() - started_ms) / 1e3
                );
                let _ = set_text(&document, "data-message", &message);
                show_state(app, Response::State(state), &in_wasm(&pixels));
            }
            Response::Pending { message, .. } => {
                app.borrow_mut().data.pending.extend(dropped);
                let _ = set_text(&document, "data-message", &message);
            }
            other => show_error(app, "data-message", &other.message()),
        }
    });
}

/// Reads `files` one after another into `{ name, bytes }` entries, moving the progress bar, then calls
/// `done` with them.
pub fn read_files(app: &Shared, files: Vec<File>, done: FilesRead) {
    read_next(app, files, 0, 0.0, Array::new(), done);
}

fn read_next(app: &Shared, files: Vec<File>, index: usize, done_bytes: f64, read: Array, done: FilesRead) {
    let Some(file) = files.get(index).cloned() else {
        app.borrow_mut().reading = None;
        done(app, read);
        return;
    };
    let document = app.borrow().document.clone();
    let Ok(reader) = FileReader::new() else { return };
    let on_progress = {
        let document = document.clone();
        EventListener::new(&reader, "progress", move |event| {
            let loaded = event.dyn_ref::<ProgressEvent>().map_or(0.0, ProgressEvent::loaded);
            if let Ok(progress) = typed::<HtmlProgressElement>(&document, "load-progress") {
                progress.set_value(done_bytes + loaded);
            }
        })
    };
    let on_load = {
        let (weak, reader, file) = (std::rc::Rc::downgrade(app), reader.clone(), file.clone());
        let mut next = Some((files, read, done));
        EventListener::new(&reader.clone(), "load", move |_| {
            let bytes = reader
                .result()
                .map(|buffer| Uint8Array::new(&buffer))
                .unwrap_or_else(|_| Uint8Array::new_with_length(0));
            let (Some(app), Some((files, read, done))) = (weak.upgrade(), next.take()) else {
                return;
            };
            read.push(&file_entry(&file.name().into(), &bytes));
            let size = file.size();
            // The next file starts outside this listener, which the next `Reading` replaces.
            Timeout::new(0, move || {
                read_next(&app, files, index + 1, done_bytes + size, read, done)
            })
            .forget();
        })
    };
    let on_error = {
        let name = file.name();
        EventListener::new(&reader, "error", move |_| {
            let message = format!("{name}: the browser could not read this file. The data loaded before is kept.");
            let _ = set_error(&document, "data-message", &message);
        })
    };
    if let Err(error) = reader.read_as_array_buffer(&file) {
        report("could not read a file", &error);
        return;
    }
    app.borrow_mut().reading = Some(Reading {
        _reader: reader,
        _listeners: [on_progress, on_load, on_error],
    });
}

fn use_synthetic(app: &Shared) {
    pause(app);
    app.borrow_mut().data = DataFiles::default();
    mirror(app, &Request::UseSynthetic, None);
    send(app, Request::UseSynthetic, None, None, |app, reply, pixels| {
        let document = app.borrow().document.clone();
        let _ = set_text(&document, "data-message", "Back on the built-in generated data.");
        show_state(app, reply, &in_wasm(&pixels));
    });
}

/// Saves `url` as `name`.
pub fn download(app: &Shared, name: &str, url: &str) -> Result<(), JsValue> {
    let document = app.borrow().document.clone();
    let anchor: HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    anchor.set_href(url);
    anchor.set_download(name);
    anchor.click();
    Ok(())
}

fn export_csv(app: &Shared) {
    send(app, Request::CurvesCsv, None, None, |app, reply, _| match reply {
        Response::Csv { csv } => {
            // The object URL is revoked when `url` is dropped, after the click has started the download.
            let url = ObjectUrl::from(Blob::new_with_options(csv.as_str(), Some("text/csv")));
            if let Err(error) = download(app, "curves.csv", &url) {
                report("could not export the curves", &error);
            }
        }
        other => show_error(app, "train-message", &other.message()),
    });
}

fn export_png(app: &Shared) {
    let document = app.borrow().document.clone();
    let result = typed::<HtmlCanvasElement>(&document, "curves")
        .and_then(|canvas| canvas.to_data_url())
        .and_then(|url| download(app, "curves.png", &url));
    if let Err(error) = result {
        report("could not export the chart", &error);
    }
}
