//! The data panel: counts, the per-class table and the sample tiles.
use wasm_bindgen::prelude::*;
use web_sys::{Document, HtmlCanvasElement};

use super::{append, context_2d, element, put_tile, set_text, typed, TILE_BYTES};
use crate::session::DataSummary;

/// Sample tiles per row of the samples canvas (one row per class).
const SAMPLES_PER_ROW: usize = 8;

/// The data summary of a `state` reply: counts, per-class table and the sample tiles (`pixels`).
pub fn render_data(document: &Document, data: &DataSummary, pixels: &[u8]) -> Result<(), JsValue> {
    set_text(document, "dataset-name", &data.name)?;
    set_text(document, "train-count", &data.train.to_string())?;
    set_text(document, "test-count", &data.test.to_string())?;
    let names = &data.class_names;
    let rows = element(document, "class-rows")?;
    rows.set_text_content(None);
    for (class, name) in names.iter().enumerate() {
        let row = append(document, &rows, "tr", "", None)?;
        append(document, &row, "th", name, None)?.set_attribute("scope", "row")?;
        for counts in [&data.train_per_class, &data.test_per_class] {
            let n = counts.get(class).copied().unwrap_or(0);
            append(document, &row, "td", &n.to_string(), Some("number"))?;
        }
    }
    // The tiles come class by class; lay them out one row per class.
    let canvas: HtmlCanvasElement = typed(document, "samples")?;
    let context = context_2d(&canvas)?;
    let (tile, gap) = (32, 2);
    canvas.set_width(((tile + gap) * SAMPLES_PER_ROW) as u32);
    canvas.set_height(((tile + gap) * names.len().max(1)) as u32);
    let mut seen = vec![0usize; names.len().max(10)];
    for (index, &label) in data.sample_labels.iter().enumerate() {
        let Some(rgba) = pixels.get(index * TILE_BYTES..(index + 1) * TILE_BYTES) else {
            break;
        };
        let label = usize::from(label);
        let column = seen.get(label).copied().unwrap_or(0);
        if let Some(slot) = seen.get_mut(label) {
            *slot += 1;
        }
        put_tile(&context, rgba, 32, 32, 1, column * (tile + gap), label * (tile + gap))?;
    }
    Ok(())
}
