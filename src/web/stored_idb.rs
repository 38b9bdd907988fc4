//! The fallback of [`super::stored`] where the browser has no usable Origin Private File System: the files
//! and their manifest in one IndexedDB object store, written in one transaction (all of them or none).
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, IdbDatabase, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode};

use super::stored::{explain, Manifest};

const DATABASE: &str = "backprop-lab";
const STORE: &str = "files";
/// The manifest's key (file names are prefixed, so none can take it).
const MANIFEST: &str = "manifest";

fn file_key(name: &str) -> String {
    format!("file:{name}")
}

/// A promise settled by `request`'s success (with its result) or error.
fn settled(request: &IdbRequest) -> Promise {
    Promise::new(&mut |resolve: Function, reject: Function| {
        let done = request.clone();
        let on_success = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &done.result().unwrap_or(JsValue::UNDEFINED));
        });
        let failed = request.clone();
        let on_error = Closure::once_into_js(move || {
            let error = failed.error().ok().flatten().map_or(JsValue::UNDEFINED, JsValue::from);
            let _ = reject.call1(&JsValue::NULL, &error);
        });
        request.set_onsuccess(Some(on_success.unchecked_ref()));
        request.set_onerror(Some(on_error.unchecked_ref()));
    })
}

/// A promise settled when `transaction` commits (or fails, or is aborted).
fn committed(transaction: &IdbTransaction) -> Promise {
    Promise::new(&mut |resolve: Function, reject: Function| {
        let on_complete = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let failed = transaction.clone();
        let on_error = Closure::once_into_js(move || {
            let error = failed
                .error()
                .map_or(JsValue::from_str("the transaction was aborted"), JsValue::from);
            let _ = reject.call1(&JsValue::NULL, &error);
        });
        transaction.set_oncomplete(Some(on_complete.unchecked_ref()));
        transaction.set_onerror(Some(on_error.unchecked_ref()));
        transaction.set_onabort(Some(on_error.unchecked_ref()));
    })
}

async fn wait(promise: Promise) -> Result<JsValue, String> {
    JsFuture::from(promise).await.map_err(explain)
}

async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("this browser has neither an Origin Private File System nor IndexedDB")?;
    let request = factory.open_with_u32(DATABASE, 1).map_err(explain)?;
    let upgrading = request.clone();
    let on_upgrade = Closure::once_into_js(move || {
        if let Some(database) = upgrading.result().ok().and_then(|r| r.dyn_into::<IdbDatabase>().ok()) {
            let _ = database.create_object_store(STORE);
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    Ok(wait(settled(&request)).await?.unchecked_into())
}

fn store(database: &IdbDatabase, mode: IdbTransactionMode) -> Result<(IdbTransaction, IdbObjectStore), String> {
    let transaction = database.transaction_with_str_and_mode(STORE, mode).map_err(explain)?;
    let store = transaction.object_store(STORE).map_err(explain)?;
    Ok((transaction, store))
}

/// Stores `files` and their manifest in one transaction, replacing what was stored.
pub(super) async fn save(files: &[File], mut manifest: Manifest) -> Result<Manifest, String> {
    let database = open().await?;
    let (transaction, store) = store(&database, IdbTransactionMode::Readwrite)?;
    store.clear().map_err(explain)?;
    for file in files {
        store
            .put_with_key(file, &file_key(&file.name()).into())
            .map_err(explain)?;
        manifest.files.push(file.name());
        manifest.bytes += file.size();
    }
    let json = serde_json::to_string(&manifest).map_err(|e| e.to_string())?;
    store.put_with_key(&json.into(), &MANIFEST.into()).map_err(explain)?;
    wait(committed(&transaction)).await?;
    database.close();
    Ok(manifest)
}

/// The stored manifest and files, if any (both read by requests made at once, inside one transaction).
pub(super) async fn load() -> Result<Option<(Manifest, Vec<File>)>, String> {
    let database = open().await?;
    let (_transaction, store) = store(&database, IdbTransactionMode::Readonly)?;
    let keys = settled(&store.get_all_keys().map_err(explain)?);
    let values = settled(&store.get_all().map_err(explain)?);
    let (keys, values): (js_sys::Array, js_sys::Array) = (wait(keys).await?.into(), wait(values).await?.into());
    database.close();
    let mut manifest = None;
    let mut stored = Vec::new();
    for (key, value) in keys.iter().zip(values.iter()) {
        match key.as_string().as_deref() {
            Some(MANIFEST) => manifest = value.as_string(),
            Some(_) => stored.extend(value.dyn_into::<File>().ok()),
            None => {}
        }
    }
    let Some(json) = manifest else {
        return Ok(None);
    };
    let manifest: Manifest =
        serde_json::from_str(&json).map_err(|error| format!("the stored manifest is damaged ({error})"))?;
    let mut files = Vec::new();
    for name in &manifest.files {
        let file = stored
            .iter()
            .find(|file| file.name() == *name)
            .ok_or_else(|| format!("the stored file {name} is missing"))?;
        files.push(file.clone());
    }
    Ok(Some((manifest, files)))
}

/// Removes everything stored.
pub(super) async fn remove_all() -> Result<(), String> {
    let database = open().await?;
    let (transaction, store) = store(&database, IdbTransactionMode::Readwrite)?;
    store.clear().map_err(explain)?;
    wait(committed(&transaction)).await?;
    database.close();
    Ok(())
}
