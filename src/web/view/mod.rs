//! Drawing the session's replies into the page: tables, tiles and charts. Only drawing here: every number
//! shown comes from the session (the worker) as it is. By panel: [`data`], [`model`], [`inspect`] (layer
//! view, gradient check, filters), [`results`], [`charts`].
use wasm_bindgen::prelude::*;
use wasm_bindgen::Clamped;
use web_sys::{CanvasRenderingContext2d, Document, Element, HtmlCanvasElement, ImageData};

pub mod charts;
pub mod data;
pub mod inspect;
pub mod model;
pub mod network;
pub mod results;

pub use charts::{draw_experiment_chart, draw_training_chart};
pub use data::render_data;
pub use inspect::{clear_inspection, render_filters, render_gradients, render_layer};
pub use model::render_layers;
pub use results::{clear_results, render_classified, render_results};

/// Bytes of one 32×32 RGBA tile.
pub const TILE_BYTES: usize = 32 * 32 * 4;

/// The element with `id`, or an error naming it.
pub fn element(document: &Document, id: &str) -> Result<Element, JsValue> {
    document
        .get_element_by_id(id)
        .ok_or_else(|| JsValue::from_str(&format!("expected an element with id `{id}` in the page, found none")))
}

/// An element of a given type by id.
pub fn typed<T: JsCast>(document: &Document, id: &str) -> Result<T, JsValue> {
    element(document, id)?
        .dyn_into::<T>()
        .map_err(|_| JsValue::from_str(&format!("element `{id}` is not of the expected type")))
}

/// Sets the text of `id` (and clears an error style it had).
pub fn set_text(document: &Document, id: &str, text: &str) -> Result<(), JsValue> {
    let target = element(document, id)?;
    target.set_text_content(Some(text));
    target.class_list().remove_1("error")
}

/// Sets the text of `id` styled as an error.
pub fn set_error(document: &Document, id: &str, text: &str) -> Result<(), JsValue> {
    let target = element(document, id)?;
    target.set_text_content(Some(text));
    target.class_list().add_1("error")
}

/// Sets one CSS property of `target` through the CSSOM (`style.setProperty`): unlike a `style` attribute, the
/// page's Content-Security-Policy allows it without `'unsafe-inline'`.
pub fn set_style(target: &Element, property: &str, value: &str) -> Result<(), JsValue> {
    let style = js_sys::Reflect::get(target, &"style".into())?;
    let set_property: js_sys::Function = js_sys::Reflect::get(&style, &"setProperty".into())?.dyn_into()?;
    set_property.call2(&style, &property.into(), &value.into())?;
    Ok(())
}

/// Clears `id` if it shows an error (a message that no longer applies); other text stays.
pub fn clear_error(document: &Document, id: &str) -> Result<(), JsValue> {
    let target = element(document, id)?;
    if target.class_list().contains("error") {
        target.set_text_content(None);
        target.class_list().remove_1("error")?;
    }
    Ok(())
}

/// Appends a child `tag` with `text` (and `class`) to `parent`.
pub fn append(
    document: &Document,
    parent: &Element,
    tag: &str,
    text: &str,
    class: Option<&str>,
) -> Result<Element, JsValue> {
    let child = document.create_element(tag)?;
    if !text.is_empty() {
        child.set_text_content(Some(text));
    }
    if let Some(class) = class {
        child.set_class_name(class);
    }
    parent.append_child(&child)?;
    Ok(child)
}

/// Hides `id` (the `hidden` attribute; the style sheet makes it win over any `display`).
pub fn hide(document: &Document, id: &str) -> Result<(), JsValue> {
    element(document, id)?.set_attribute("hidden", "")
}

/// Shows `id` again.
pub fn show(document: &Document, id: &str) -> Result<(), JsValue> {
    element(document, id)?.remove_attribute("hidden")
}

/// Thousands separated by thin spaces: 221 026.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

pub fn context_2d(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, JsValue> {
    canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("the canvas has no 2d context"))?
        .dyn_into::<CanvasRenderingContext2d>()
        .map_err(JsValue::from)
}

/// Draws a `width × height` RGBA tile enlarged `scale` times (nearest neighbour) at `(x, y)`.
pub fn put_tile(
    context: &CanvasRenderingContext2d,
    rgba: &[u8],
    width: usize,
    height: usize,
    scale: usize,
    x: usize,
    y: usize,
) -> Result<(), JsValue> {
    let (w, h) = (width * scale, height * scale);
    let mut big = vec![0u8; w * h * 4];
    for row in 0..h {
        for column in 0..w {
            let source = ((row / scale) * width + column / scale) * 4;
            big[(row * w + column) * 4..][..4].copy_from_slice(&rgba[source..source + 4]);
        }
    }
    let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&big), w as u32, h as u32)?;
    context.put_image_data(&image, x as f64, y as f64)
}
