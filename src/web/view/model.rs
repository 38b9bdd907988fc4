//! The model diagram: one button per layer with its output shape and parameter count.
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element};

use super::{append, element, grouped, set_text};
use crate::session::State;

/// The model diagram of a `state` reply: one button per layer (returned, for their click listeners).
pub fn render_layers(document: &Document, state: &State) -> Result<Vec<Element>, JsValue> {
    let list = element(document, "layers")?;
    list.set_text_content(None);
    let mut buttons = Vec::new();
    for layer in &state.layers {
        let item = append(document, &list, "li", "", None)?;
        let button = append(document, &item, "button", "", Some("layer"))?;
        button.set_attribute("type", "button")?;
        button.set_attribute("data-index", &layer.index.to_string())?;
        append(document, &button, "span", &layer.name, Some("layer-name"))?;
        let facts = if layer.parameters > 0 {
            format!("→ {} · {} params", layer.output, grouped(layer.parameters))
        } else {
            format!("→ {}", layer.output)
        };
        append(document, &button, "span", &facts, Some("layer-facts"))?;
        buttons.push(button);
    }
    if !state.loss.is_empty() {
        append(document, &list, "li", &format!("loss: {}", state.loss), Some("loss"))?;
    }
    set_text(
        document,
        "model-facts",
        &format!(
            "{} parameters · {:.2} MFLOP per training image (forward + backward).",
            grouped(state.parameters),
            state.flops_per_image as f64 / 1e6
        ),
    )?;
    Ok(buttons)
}
