//! The panels that look inside the model: the gradient-check table, the layer inspector (MathML formulas,
//! shapes, a histogram per tensor) and the first layer's weights as tiles.
use wasm_bindgen::prelude::*;
use web_sys::{Document, HtmlCanvasElement};

use super::{append, context_2d, element, hide, put_tile, set_text, show, typed};
use crate::gradcheck::CheckResult;
use crate::session::{LayerDetails, TensorStats};

/// The gradient-check table: one row per checked tensor. `samples` images of the current batch and up to
/// `entries` entries per tensor for the current model; 0 for the suite.
pub fn render_gradients(
    document: &Document,
    results: &[CheckResult],
    samples: usize,
    entries: usize,
) -> Result<(), JsValue> {
    let rows = element(document, "gradcheck-rows")?;
    rows.set_text_content(None);
    for result in results {
        let shape: Vec<String> = result.shape.iter().map(usize::to_string).collect();
        let row = append(document, &rows, "tr", "", None)?;
        append(document, &row, "td", &result.layer, None)?;
        append(document, &row, "td", &result.parameter, None)?;
        append(document, &row, "td", &shape.join("×"), Some("shape"))?;
        let number = |value: String| append(document, &row, "td", &value, Some("number"));
        number(format!("{:.2e}", result.margin))?;
        number(format!("{:.2e}", result.max_rel_error))?;
        number(format!("{:.0e}", result.tolerance))?;
        append(document, &row, "td", &result.criterion, Some("criterion"))?;
        let (text, class) = if result.passed {
            ("pass", "pass")
        } else {
            ("FAIL", "fail")
        };
        append(document, &row, "td", text, Some(class))?;
    }
    show(document, "gradcheck-table")?;
    let passed = results.iter().filter(|r| r.passed).count();
    let what = match samples {
        0 => String::new(),
        samples => {
            format!(" (current model, {samples} images of the current batch, up to {entries} entries per tensor)")
        }
    };
    set_text(
        document,
        "gradcheck-summary",
        &format!("{passed} of {} gradient checks passed{what}.", results.len()),
    )?;
    set_text(document, "gradcheck-worst", &closest_to_failing(results))
}

/// The one-line digest the classroom view shows instead of the table: the row that came closest to failing
/// (the largest error ÷ allowed), or the first failure.
fn closest_to_failing(results: &[CheckResult]) -> String {
    let worst = results
        .iter()
        .max_by(|a, b| (!a.passed).cmp(&!b.passed).then(a.margin.total_cmp(&b.margin)));
    match worst {
        Some(row) => format!(
            "Closest to failing: {} {}, error ÷ allowed {:.2e} ({}).",
            row.layer,
            row.parameter,
            row.margin,
            if row.passed { "passes below 1" } else { "FAIL" }
        ),
        None => String::new(),
    }
}

/// The layer inspector: formulas (MathML), shapes and a histogram per tensor.
pub fn render_layer(document: &Document, layer: &LayerDetails) -> Result<(), JsValue> {
    show(document, "inspector")?;
    hide(document, "inspect-hint")?;
    set_text(
        document,
        "inspect-name",
        &format!("Layer {}: {}", layer.index, layer.name),
    )?;
    let formulas = &layer.formulas;
    set_text(document, "inspect-summary", &formulas.summary)?;
    let batch = layer.batch;
    set_text(
        document,
        "inspect-shapes",
        &format!(
            "input [{batch} × {}] → output [{batch} × {}] on this batch of {batch} images",
            layer.input, layer.output
        ),
    )?;
    // The MathML strings are the crate's own constants (src/formulas/), never user input.
    element(document, "inspect-forward")?.set_inner_html(&formulas.forward);
    element(document, "inspect-backward")?.set_inner_html(&formulas.backward.concat());
    set_text(document, "inspect-notes", &formulas.notes)?;
    let loss = element(document, "inspect-loss")?;
    loss.set_text_content(None);
    if let Some(loss_formulas) = &layer.loss_formulas {
        append(document, &loss, "h4", "Then the loss", None)?;
        let block = append(document, &loss, "div", "", Some("formulas"))?;
        block.set_inner_html(&format!(
            "<div>{}</div><div>{}</div>",
            loss_formulas.forward,
            loss_formulas.backward.concat()
        ));
    }
    let tensors = element(document, "inspect-tensors")?;
    tensors.set_text_content(None);
    for tensor in &layer.tensors {
        let card = append(document, &tensors, "figure", "", Some("tensor"))?;
        let canvas: HtmlCanvasElement = document.create_element("canvas")?.dyn_into()?;
        canvas.set_width(220);
        canvas.set_height(70);
        canvas.set_attribute("role", "img")?;
        card.append_child(&canvas)?;
        draw_histogram(&canvas, tensor)?;
        let shape: Vec<String> = tensor.shape.iter().map(usize::to_string).collect();
        let caption = format!(
            "{} [{}]: mean {:.3e}, std {:.3e}, min {:.3e}, max {:.3e}, zeros {:.1} %",
            tensor.label,
            shape.join("×"),
            tensor.mean,
            tensor.std,
            tensor.min,
            tensor.max,
            100.0 * tensor.zeros
        );
        canvas.set_attribute("aria-label", &format!("Histogram of {}", tensor.label))?;
        append(document, &card, "figcaption", &caption, None)?;
    }
    Ok(())
}

fn draw_histogram(canvas: &HtmlCanvasElement, tensor: &TensorStats) -> Result<(), JsValue> {
    let context = context_2d(canvas)?;
    let (width, height) = (f64::from(canvas.width()), f64::from(canvas.height()));
    context.set_fill_style_str("#f4f6f8");
    context.fill_rect(0.0, 0.0, width, height);
    let most = tensor.counts.iter().copied().fold(1, u32::max) as f64;
    let bar = width / tensor.counts.len().max(1) as f64;
    context.set_fill_style_str("#1f77b4");
    for (i, &n) in tensor.counts.iter().enumerate() {
        let h = (height - 4.0) * f64::from(n) / most;
        context.fill_rect(i as f64 * bar, height - h, (bar - 1.0).max(1.0), h);
    }
    // Where zero falls, when it is inside the range.
    let (lo, hi) = (tensor.lo, tensor.hi);
    if lo < 0.0 && hi > 0.0 {
        let x = width * (-lo) / (hi - lo);
        context.set_fill_style_str("#d62728");
        context.fill_rect(x, 0.0, 1.0, height);
    }
    Ok(())
}

/// First-layer weights of `layer`: `count` tiles of `width × height` RGBA, enlarged to about 64 px each.
pub fn render_filters(
    document: &Document,
    layer: &str,
    (width, height): (usize, usize),
    count: usize,
    pixels: &[u8],
) -> Result<(), JsValue> {
    let scale = (64 / width.max(1)).max(2);
    let (tile_w, tile_h, gap) = (width * scale, height * scale, 4);
    let columns = 16.min(count.max(1));
    let rows = count.div_ceil(columns);
    let canvas: HtmlCanvasElement = typed(document, "filters")?;
    canvas.set_width(((tile_w + gap) * columns) as u32);
    canvas.set_height(((tile_h + gap) * rows.max(1)) as u32);
    let context = context_2d(&canvas)?;
    let tile_bytes = width * height * 4;
    for i in 0..count {
        let Some(rgba) = pixels.get(i * tile_bytes..(i + 1) * tile_bytes) else {
            break;
        };
        let (x, y) = ((i % columns) * (tile_w + gap), (i / columns) * (tile_h + gap));
        put_tile(&context, rgba, width, height, scale, x, y)?;
    }
    set_text(
        document,
        "filters-caption",
        &format!(
            "{count} filters of {layer}, {width}×{height} each, scaled so grey is 0 and each filter's largest weight \
             is full colour."
        ),
    )
}

/// Empties the panels that describe one model (gradient check, layer inspector, filters), so that after a
/// change of model or data none of them shows the previous one.
pub fn clear_inspection(document: &Document) -> Result<(), JsValue> {
    element(document, "gradcheck-rows")?.set_text_content(None);
    hide(document, "gradcheck-table")?;
    set_text(document, "gradcheck-summary", "")?;
    set_text(document, "gradcheck-worst", "")?;
    hide(document, "inspector")?;
    show(document, "inspect-hint")?;
    set_text(document, "filters-caption", "")?;
    let filters: HtmlCanvasElement = typed(document, "filters")?;
    filters.set_width(10);
    filters.set_height(10);
    Ok(())
}
