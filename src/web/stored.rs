//! Keeping the dropped CIFAR-10 files across reloads, with the user's consent: the files behind the loaded
//! data are written to the browser's Origin Private File System (OPFS), so a reload or a second tab starts
//! with them. Consent is a checkbox remembered in `localStorage`; `Forget stored data` deletes the files.
//!
//! Each save goes into a new folder and the manifest (`stored.json`, the folder and the file names) is written
//! only once every file is; the previous folder is removed after that. A failure (quota, no OPFS) removes the
//! half-written folder, says what happened, and loses nothing: neither the data loaded in the page nor the
//! files stored before. Where the page cannot write OPFS files, IndexedDB stands in ([`super::stored_idb`]).
use js_sys::Promise;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    File, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions, FileSystemGetFileOptions,
    FileSystemRemoveOptions, FileSystemWritableFileStream, HtmlInputElement,
};

use super::app::{listen, on_click, Shared};
use super::view::{set_error, set_text, typed};

/// The `localStorage` key of the consent.
const CONSENT_KEY: &str = "backprop-lab:keep-data";
/// The manifest in the OPFS root.
const MANIFEST: &str = "stored.json";

thread_local! {
    /// The files last read back from storage: loading them again stores nothing new.
    static RESTORED: std::cell::RefCell<Vec<File>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What is stored: the folder holding the files, their names and total size.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Manifest {
    /// Where: the Origin Private File System or IndexedDB.
    pub store: String,
    pub folder: String,
    pub files: Vec<String>,
    pub bytes: f64,
}

const OPFS: &str = "Origin Private File System";

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    let consent = local_storage()
        .and_then(|s| s.get_item(CONSENT_KEY).ok().flatten())
        .is_some();
    let document = app.borrow().document.clone();
    typed::<HtmlInputElement>(&document, "keep-data")?.set_checked(consent);
    let weak = std::rc::Rc::downgrade(app);
    listen(app, "keep-data", "change", move |event| {
        let checked = event
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            .is_some_and(|i| i.checked());
        let Some(app) = weak.upgrade() else { return };
        if let Some(storage) = local_storage() {
            let _ = if checked {
                storage.set_item(CONSENT_KEY, "yes")
            } else {
                storage.remove_item(CONSENT_KEY)
            };
        }
        if checked {
            on_loaded(&app);
        } else {
            forget(&app);
        }
    })?;
    on_click(app, "forget-data", |app| {
        if let Some(storage) = local_storage() {
            let _ = storage.remove_item(CONSENT_KEY);
        }
        let document = app.borrow().document.clone();
        if let Ok(input) = typed::<HtmlInputElement>(&document, "keep-data") {
            input.set_checked(false);
        }
        forget(app);
    })?;
    Ok(())
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn consented(app: &Shared) -> bool {
    let document = app.borrow().document.clone();
    typed::<HtmlInputElement>(&document, "keep-data").is_ok_and(|input| input.checked())
}

/// The page is ready: with consent and stored files, load them as if they were dropped; else say what is
/// stored.
pub fn on_ready(app: &Shared) {
    let app = app.clone();
    spawn_local(async move {
        let document = app.borrow().document.clone();
        match (consented(&app), stored_files().await) {
            (true, Ok(Some((manifest, files)))) if !files.is_empty() => {
                let _ = set_text(
                    &document,
                    "stored-data",
                    &describe(&manifest, "Loading the stored files: "),
                );
                RESTORED.with(|restored| restored.replace(files.clone()));
                super::files::load_file_vec(&app, files);
            }
            (_, Ok(Some((manifest, _)))) => {
                let _ = set_text(
                    &document,
                    "stored-data",
                    &describe(&manifest, "Stored in this browser: "),
                );
            }
            (_, Ok(None)) => {
                let _ = set_text(&document, "stored-data", "Nothing stored in this browser.");
            }
            (_, Err(error)) => {
                let _ = set_error(
                    &document,
                    "stored-data",
                    &format!("Could not read the stored files: {error}"),
                );
            }
        }
    });
}

fn describe(manifest: &Manifest, prefix: &str) -> String {
    format!(
        "{prefix}{} file(s), {:.1} MB ({}), in its {}.",
        manifest.files.len(),
        manifest.bytes / 1e6,
        manifest.files.join(", "),
        manifest.store
    )
}

/// New data was loaded from files: with consent, keep them.
pub fn on_loaded(app: &Shared) {
    if !consented(app) {
        return;
    }
    let files = app.borrow().data.files.clone();
    let document = app.borrow().document.clone();
    let stored_already = RESTORED.with(|restored| {
        let restored = restored.borrow();
        !files.is_empty()
            && files
                .iter()
                .all(|file| restored.iter().any(|r| JsValue::from(r) == JsValue::from(file)))
    });
    if stored_already {
        let _ = set_text(
            &document,
            "stored-data",
            "Loaded from this browser's storage; kept there.",
        );
        return;
    }
    if files.is_empty() {
        let _ = set_text(
            &document,
            "stored-data",
            "Files you drop from now on will be kept in this browser.",
        );
        return;
    }
    let total: f64 = files.iter().map(|f| f.size()).sum();
    let _ = set_text(&document, "stored-data", &format!("Storing {:.1} MB…", total / 1e6));
    spawn_local(async move {
        match save(&files).await {
            Ok(manifest) => {
                let _ = set_text(
                    &document,
                    "stored-data",
                    &describe(&manifest, "Stored in this browser: "),
                );
            }
            Err(error) => {
                let message = format!(
                    "Could not keep the files in this browser ({error}). The loaded data stays; files stored \
                     before, if any, are kept."
                );
                let _ = set_error(&document, "stored-data", &message);
            }
        }
    });
}

fn forget(app: &Shared) {
    let document = app.borrow().document.clone();
    spawn_local(async move {
        match remove_all().await {
            Ok(()) => {
                let _ = set_text(&document, "stored-data", "Nothing stored in this browser.");
            }
            Err(error) => {
                let _ = set_error(
                    &document,
                    "stored-data",
                    &format!("Could not forget the stored files: {error}"),
                );
            }
        }
    });
}

/// A JS error as a sentence (its message when it has one).
pub(super) fn explain(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

async fn wait(promise: Promise) -> Result<JsValue, String> {
    JsFuture::from(promise).await.map_err(explain)
}

/// The OPFS root, where the browser has a usable one (files can be written from the page); else IndexedDB
/// stands in.
async fn root() -> Option<FileSystemDirectoryHandle> {
    let window = web_sys::window()?;
    let storage = window.navigator().storage();
    let has = |target: &JsValue, name: &str| js_sys::Reflect::has(target, &name.into()).unwrap_or(false);
    let writable = js_sys::Reflect::get(&js_sys::global(), &"FileSystemFileHandle".into())
        .and_then(|class| js_sys::Reflect::get(&class, &"prototype".into()))
        .is_ok_and(|prototype| has(&prototype, "createWritable"));
    if !(has(&storage, "getDirectory") && writable) {
        return None;
    }
    wait(storage.get_directory()).await.ok().map(JsCast::unchecked_into)
}

async fn file_handle(
    folder: &FileSystemDirectoryHandle,
    name: &str,
    create: bool,
) -> Result<FileSystemFileHandle, String> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(create);
    Ok(wait(folder.get_file_handle_with_options(name, &options))
        .await?
        .unchecked_into())
}

async fn write(folder: &FileSystemDirectoryHandle, name: &str, content: &JsValue) -> Result<(), String> {
    let handle = file_handle(folder, name, true).await?;
    let stream: FileSystemWritableFileStream = wait(handle.create_writable()).await?.unchecked_into();
    let written = match content.dyn_ref::<web_sys::Blob>() {
        Some(blob) => stream.write_with_blob(blob),
        None => stream.write_with_str(&content.as_string().unwrap_or_default()),
    };
    match written {
        Ok(promise) => wait(promise).await?,
        Err(error) => {
            let _ = wait(stream.abort()).await;
            return Err(explain(error));
        }
    };
    wait(stream.close()).await.map(drop)
}

async fn read_manifest(root: &FileSystemDirectoryHandle) -> Result<Option<Manifest>, String> {
    let Ok(handle) = file_handle(root, MANIFEST, false).await else {
        return Ok(None); // nothing stored
    };
    let file: File = wait(handle.get_file()).await?.unchecked_into();
    let text = wait(file.text()).await?.as_string().unwrap_or_default();
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| format!("{MANIFEST} is damaged ({error})"))
}

/// The stored files, if any.
async fn stored_files() -> Result<Option<(Manifest, Vec<File>)>, String> {
    let Some(root) = root().await else {
        return super::stored_idb::load().await;
    };
    let Some(manifest) = read_manifest(&root).await? else {
        return Ok(None);
    };
    let folder = folder(&root, &manifest.folder, false).await?;
    let mut files = Vec::new();
    for name in &manifest.files {
        let handle = file_handle(&folder, name, false).await?;
        let file: File = wait(handle.get_file()).await?.unchecked_into();
        // Named as dropped (the OPFS name is the same): the data message names the files.
        files.push(file);
    }
    Ok(Some((manifest, files)))
}

async fn folder(
    root: &FileSystemDirectoryHandle,
    name: &str,
    create: bool,
) -> Result<FileSystemDirectoryHandle, String> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(create);
    Ok(wait(root.get_directory_handle_with_options(name, &options))
        .await?
        .unchecked_into())
}

async fn remove(root: &FileSystemDirectoryHandle, name: &str) -> Result<(), String> {
    let options = FileSystemRemoveOptions::new();
    options.set_recursive(true);
    wait(root.remove_entry_with_options(name, &options)).await.map(drop)
}

/// Writes `files` into a new folder, then the manifest naming it, then removes the previous folder.
async fn save(files: &[File]) -> Result<Manifest, String> {
    let Some(root) = root().await else {
        let manifest = Manifest {
            store: "IndexedDB".into(),
            ..Manifest::default()
        };
        return super::stored_idb::save(files, manifest).await;
    };
    let previous = read_manifest(&root).await.ok().flatten();
    let name = format!("data-{}", js_sys::Date::now() as u64);
    let target = folder(&root, &name, true).await?;
    let mut manifest = Manifest {
        store: OPFS.into(),
        folder: name.clone(),
        ..Manifest::default()
    };
    for file in files {
        if let Err(error) = write(&target, &file.name(), file).await {
            let _ = remove(&root, &name).await;
            return Err(error);
        }
        manifest.files.push(file.name());
        manifest.bytes += file.size();
    }
    let json = serde_json::to_string(&manifest).map_err(|e| e.to_string())?;
    if let Err(error) = write(&root, MANIFEST, &JsValue::from_str(&json)).await {
        let _ = remove(&root, &name).await;
        return Err(error);
    }
    if let Some(previous) = previous.filter(|p| p.folder != name) {
        let _ = remove(&root, &previous.folder).await;
    }
    Ok(manifest)
}

/// Removes the manifest and every stored folder.
async fn remove_all() -> Result<(), String> {
    let Some(root) = root().await else {
        return super::stored_idb::remove_all().await;
    };
    if let Some(manifest) = read_manifest(&root).await.ok().flatten() {
        remove(&root, MANIFEST).await?;
        let _ = remove(&root, &manifest.folder).await;
    }
    Ok(())
}
