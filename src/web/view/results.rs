//! The results panel: confusion matrix with per-class accuracy, the gallery, and a picture's class
//! probabilities.
use wasm_bindgen::prelude::*;
use web_sys::{Document, HtmlCanvasElement};

use super::{append, context_2d, element, hide, put_tile, set_style, set_text, show, typed, TILE_BYTES};
use crate::session::Results;

/// Confusion matrix, per-class accuracy and the gallery of a `results` reply.
pub fn render_results(document: &Document, results: &Results, pixels: &[u8]) -> Result<(), JsValue> {
    show(document, "results")?;
    let names = &results.class_names;
    let name = |class: usize| names.get(class).map_or("", String::as_str);
    let table = element(document, "confusion")?;
    table.set_text_content(None);
    let head = append(document, &table, "tr", "", None)?;
    append(document, &head, "th", "", None)?;
    for name in names {
        append(document, &head, "th", name, Some("rotated"))?.set_attribute("scope", "col")?;
    }
    append(document, &head, "th", "accuracy", None)?.set_attribute("scope", "col")?;
    for (class, cells) in results.confusion.iter().enumerate() {
        let tr = append(document, &table, "tr", "", None)?;
        append(document, &tr, "th", name(class), None)?.set_attribute("scope", "row")?;
        let total = f64::from(cells.iter().sum::<u32>().max(1));
        for (predicted, &n) in cells.iter().enumerate() {
            let cell = append(document, &tr, "td", &n.to_string(), Some("number"))?;
            let share = f64::from(n) / total;
            let colour = if predicted == class {
                "31, 119, 180"
            } else {
                "214, 39, 40"
            };
            set_style(&cell, "background", &format!("rgba({colour}, {:.2})", share.min(1.0)))?;
        }
        let accuracy = results.per_class_accuracy.get(class).copied().unwrap_or(0.0);
        append(
            document,
            &tr,
            "td",
            &format!("{:.1} %", 100.0 * accuracy),
            Some("number"),
        )?;
    }
    set_text(
        document,
        "results-summary",
        &format!(
            "Test accuracy {:.2} % on {} images.",
            100.0 * results.accuracy,
            results.images
        ),
    )?;
    let gallery = element(document, "gallery")?;
    gallery.set_text_content(None);
    for (i, item) in results.gallery.iter().enumerate() {
        let Some(rgba) = pixels.get(i * TILE_BYTES..(i + 1) * TILE_BYTES) else {
            break;
        };
        let wrong = item.label != item.predicted;
        let figure = append(
            document,
            &gallery,
            "figure",
            "",
            Some(if wrong { "wrong" } else { "right" }),
        )?;
        let canvas: HtmlCanvasElement = document.create_element("canvas")?.dyn_into()?;
        canvas.set_width(64);
        canvas.set_height(64);
        figure.append_child(&canvas)?;
        put_tile(&context_2d(&canvas)?, rgba, 32, 32, 2, 0, 0)?;
        let confidence = 100.0 * item.confidence;
        let caption = if wrong {
            format!("{} ({confidence:.0} %), is {}", name(item.predicted), name(item.label))
        } else {
            format!("{} ({confidence:.0} %)", name(item.predicted))
        };
        append(document, &figure, "figcaption", &caption, None)?;
        // Followed through every layer in "Inside the network" (src/web/network.rs listens on the gallery).
        let follow = append(document, &figure, "button", "Follow", Some("follow"))?;
        follow.set_attribute("type", "button")?;
        follow.set_attribute("data-image", &item.index.to_string())?;
        follow.set_attribute(
            "aria-label",
            &format!("Follow test image {} through the network", item.index),
        )?;
    }
    Ok(())
}

/// The class probabilities of a `classified` reply, and the 32×32 image the model saw (`pixels`).
pub fn render_classified(
    document: &Document,
    probabilities: &[f64],
    predicted: usize,
    class_names: &[String],
    pixels: &[u8],
) -> Result<(), JsValue> {
    let canvas: HtmlCanvasElement = typed(document, "own-preview")?;
    if let Some(tile) = pixels.get(..TILE_BYTES) {
        put_tile(&context_2d(&canvas)?, tile, 32, 32, 4, 0, 0)?;
    }
    let list = element(document, "own-probabilities")?;
    list.set_text_content(None);
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    for class in order {
        let item = append(
            document,
            &list,
            "li",
            "",
            Some(if class == predicted { "predicted" } else { "" }),
        )?;
        let p = probabilities[class];
        let name = class_names.get(class).map_or("", String::as_str);
        append(document, &item, "span", name, Some("bar-label"))?;
        let bar = append(document, &item, "span", "", Some("bar"))?;
        set_style(&bar, "width", &format!("{:.1}%", 100.0 * p))?;
        append(
            document,
            &item,
            "span",
            &format!("{:.1} %", 100.0 * p),
            Some("bar-value"),
        )?;
    }
    Ok(())
}

/// Hides the test-set results (after a change of model or data they describe another model).
pub fn clear_results(document: &Document) -> Result<(), JsValue> {
    hide(document, "results")?;
    set_text(document, "results-summary", "")
}
