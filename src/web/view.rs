//! Rendering of the session's replies into the page: tables, tiles and charts. Only drawing here: every
//! number shown comes from the session (the worker) as it is.
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::Clamped;
use web_sys::{CanvasRenderingContext2d, Document, Element, HtmlCanvasElement, ImageData};

use crate::chart;
use crate::train::CurvePoint;

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

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or("")
}

fn num(value: &Value, key: &str) -> f64 {
    value[key].as_f64().unwrap_or(f64::NAN)
}

fn count(value: &Value, key: &str) -> usize {
    value[key].as_u64().unwrap_or(0) as usize
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

/// The data summary of a `state` reply: counts, per-class table and the sample tiles (`pixels`).
pub fn render_data(document: &Document, state: &Value, pixels: &[u8]) -> Result<(), JsValue> {
    let data = &state["data"];
    set_text(document, "dataset-name", str_of(data, "name"))?;
    set_text(document, "train-count", &count(data, "train").to_string())?;
    set_text(document, "test-count", &count(data, "test").to_string())?;
    let names = class_names(data);
    let rows = element(document, "class-rows")?;
    rows.set_text_content(None);
    for (class, name) in names.iter().enumerate() {
        let row = append(document, &rows, "tr", "", None)?;
        append(document, &row, "td", name, None)?;
        for key in ["train_per_class", "test_per_class"] {
            let n = data[key][class].as_u64().unwrap_or(0);
            append(document, &row, "td", &n.to_string(), Some("number"))?;
        }
    }
    // The tiles come class by class; lay them out one row per class.
    let labels: Vec<usize> = data["sample_labels"]
        .as_array()
        .map(|labels| labels.iter().map(|l| l.as_u64().unwrap_or(0) as usize).collect())
        .unwrap_or_default();
    let canvas: HtmlCanvasElement = typed(document, "samples")?;
    let context = context_2d(&canvas)?;
    let scale = 1;
    let (tile, gap) = (32 * scale, 2);
    let per_row = 8;
    canvas.set_width(((tile + gap) * per_row) as u32);
    canvas.set_height(((tile + gap) * names.len().max(1)) as u32);
    let mut seen = vec![0usize; names.len().max(10)];
    for (index, &label) in labels.iter().enumerate() {
        let Some(rgba) = pixels.get(index * 4096..(index + 1) * 4096) else {
            break;
        };
        let column = seen.get(label).copied().unwrap_or(0);
        if let Some(slot) = seen.get_mut(label) {
            *slot += 1;
        }
        put_tile(
            &context,
            rgba,
            32,
            32,
            scale,
            column * (tile + gap),
            label * (tile + gap),
        )?;
    }
    Ok(())
}

pub fn class_names(data: &Value) -> Vec<String> {
    data["class_names"]
        .as_array()
        .map(|names| names.iter().map(|n| n.as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
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

/// The gradient-check table of a `gradients` reply.
pub fn render_gradients(document: &Document, reply: &Value) -> Result<(), JsValue> {
    let rows = element(document, "gradcheck-rows")?;
    rows.set_text_content(None);
    let results = reply["rows"].as_array().cloned().unwrap_or_default();
    for result in &results {
        let passed = result["passed"].as_bool().unwrap_or(false);
        let shape: Vec<String> = result["shape"]
            .as_array()
            .map(|dims| dims.iter().map(|d| d.to_string()).collect())
            .unwrap_or_default();
        let row = append(document, &rows, "tr", "", None)?;
        append(document, &row, "td", str_of(result, "layer"), None)?;
        append(document, &row, "td", str_of(result, "parameter"), None)?;
        append(document, &row, "td", &shape.join("×"), Some("shape"))?;
        append(
            document,
            &row,
            "td",
            &format!("{:.2e}", num(result, "margin")),
            Some("number"),
        )?;
        append(
            document,
            &row,
            "td",
            &format!("{:.2e}", num(result, "max_rel_error")),
            Some("number"),
        )?;
        append(
            document,
            &row,
            "td",
            &format!("{:.0e}", num(result, "tolerance")),
            Some("number"),
        )?;
        append(document, &row, "td", str_of(result, "criterion"), Some("criterion"))?;
        append(
            document,
            &row,
            "td",
            if passed { "pass" } else { "FAIL" },
            Some(if passed { "pass" } else { "fail" }),
        )?;
    }
    element(document, "gradcheck-table")?.remove_attribute("hidden")?;
    let passed = results.iter().filter(|r| r["passed"].as_bool() == Some(true)).count();
    let what = match count(reply, "samples") {
        0 => String::new(),
        samples => format!(
            " (current model, {samples} images of the current batch, up to {} entries per tensor)",
            count(reply, "entries")
        ),
    };
    set_text(
        document,
        "gradcheck-summary",
        &format!("{passed} of {} gradient checks passed{what}.", results.len()),
    )
}

/// The model diagram of a `state` reply: one button per layer.
pub fn render_layers(document: &Document, state: &Value) -> Result<Vec<Element>, JsValue> {
    let list = element(document, "layers")?;
    list.set_text_content(None);
    let mut buttons = Vec::new();
    for layer in state["layers"].as_array().cloned().unwrap_or_default() {
        let item = append(document, &list, "li", "", None)?;
        let button = append(document, &item, "button", "", Some("layer"))?;
        button.set_attribute("type", "button")?;
        button.set_attribute("data-index", &count(&layer, "index").to_string())?;
        append(document, &button, "span", str_of(&layer, "name"), Some("layer-name"))?;
        let parameters = count(&layer, "parameters");
        let facts = if parameters > 0 {
            format!("→ {} · {} params", str_of(&layer, "output"), grouped(parameters))
        } else {
            format!("→ {}", str_of(&layer, "output"))
        };
        append(document, &button, "span", &facts, Some("layer-facts"))?;
        buttons.push(button);
    }
    if let Some(loss) = state["loss"].as_str().filter(|l| !l.is_empty()) {
        append(document, &list, "li", &format!("loss: {loss}"), Some("loss"))?;
    }
    let flops = num(state, "flops_per_image");
    set_text(
        document,
        "model-facts",
        &format!(
            "{} parameters · {:.2} MFLOP per training image (forward + backward).",
            grouped(count(state, "parameters")),
            flops / 1e6
        ),
    )?;
    Ok(buttons)
}

/// The layer inspector of a `layer` reply: formulas (MathML), shapes and a histogram per tensor.
pub fn render_layer(document: &Document, layer: &Value) -> Result<(), JsValue> {
    element(document, "inspector")?.remove_attribute("hidden")?;
    element(document, "inspect-hint")?.set_attribute("hidden", "")?;
    set_text(
        document,
        "inspect-name",
        &format!("Layer {}: {}", count(layer, "index"), str_of(layer, "name")),
    )?;
    let formulas = &layer["formulas"];
    set_text(document, "inspect-summary", str_of(formulas, "summary"))?;
    set_text(
        document,
        "inspect-shapes",
        &format!(
            "input [{} × {}] → output [{} × {}] on this batch of {} images",
            count(layer, "batch"),
            str_of(layer, "input"),
            count(layer, "batch"),
            str_of(layer, "output"),
            count(layer, "batch")
        ),
    )?;
    // The MathML strings are the crate's own constants (src/formulas.rs), never user input.
    element(document, "inspect-forward")?.set_inner_html(str_of(formulas, "forward"));
    let backward: Vec<String> = formulas["backward"]
        .as_array()
        .map(|all| all.iter().map(|f| f.as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default();
    element(document, "inspect-backward")?.set_inner_html(&backward.join(""));
    set_text(document, "inspect-notes", str_of(formulas, "notes"))?;
    let loss = element(document, "inspect-loss")?;
    loss.set_text_content(None);
    if let Some(loss_formulas) = layer["loss_formulas"].as_object() {
        append(document, &loss, "h4", "Then the loss", None)?;
        let block = append(document, &loss, "div", "", Some("formulas"))?;
        let forward = loss_formulas.get("forward").and_then(Value::as_str).unwrap_or("");
        let backward: Vec<&str> = loss_formulas
            .get("backward")
            .and_then(Value::as_array)
            .map(|all| all.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        block.set_inner_html(&format!("<div>{forward}</div><div>{}</div>", backward.join("")));
    }
    let tensors = element(document, "inspect-tensors")?;
    tensors.set_text_content(None);
    for tensor in layer["tensors"].as_array().cloned().unwrap_or_default() {
        let card = append(document, &tensors, "figure", "", Some("tensor"))?;
        let canvas: HtmlCanvasElement = document.create_element("canvas")?.dyn_into()?;
        canvas.set_width(220);
        canvas.set_height(70);
        card.append_child(&canvas)?;
        draw_histogram(&canvas, &tensor)?;
        let shape: Vec<String> = tensor["shape"]
            .as_array()
            .map(|dims| dims.iter().map(|d| d.to_string()).collect())
            .unwrap_or_default();
        append(
            document,
            &card,
            "figcaption",
            &format!(
                "{} [{}]: mean {:.3e}, std {:.3e}, min {:.3e}, max {:.3e}, zeros {:.1} %",
                str_of(&tensor, "label"),
                shape.join("×"),
                num(&tensor, "mean"),
                num(&tensor, "std"),
                num(&tensor, "min"),
                num(&tensor, "max"),
                100.0 * num(&tensor, "zeros")
            ),
            None,
        )?;
    }
    Ok(())
}

fn draw_histogram(canvas: &HtmlCanvasElement, tensor: &Value) -> Result<(), JsValue> {
    let context = context_2d(canvas)?;
    let (width, height) = (f64::from(canvas.width()), f64::from(canvas.height()));
    context.set_fill_style_str("#f4f6f8");
    context.fill_rect(0.0, 0.0, width, height);
    let counts: Vec<f64> = tensor["counts"]
        .as_array()
        .map(|c| c.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect())
        .unwrap_or_default();
    let most = counts.iter().copied().fold(1.0, f64::max);
    let bar = width / counts.len().max(1) as f64;
    context.set_fill_style_str("#1f77b4");
    for (i, &n) in counts.iter().enumerate() {
        let h = (height - 4.0) * n / most;
        context.fill_rect(i as f64 * bar, height - h, (bar - 1.0).max(1.0), h);
    }
    // Where zero falls, when it is inside the range.
    let (lo, hi) = (num(tensor, "lo"), num(tensor, "hi"));
    if lo < 0.0 && hi > 0.0 {
        let x = width * (-lo) / (hi - lo);
        context.set_fill_style_str("#d62728");
        context.fill_rect(x, 0.0, 1.0, height);
    }
    Ok(())
}

/// First-layer weights: `count` tiles of `width × height` RGBA, enlarged to about 64 px each.
pub fn render_filters(document: &Document, reply: &Value, pixels: &[u8]) -> Result<(), JsValue> {
    let (width, height, n) = (count(reply, "width"), count(reply, "height"), count(reply, "count"));
    let scale = (64 / width.max(1)).max(2);
    let (tile_w, tile_h, gap) = (width * scale, height * scale, 4);
    let columns = 16.min(n.max(1));
    let rows = n.div_ceil(columns);
    let canvas: HtmlCanvasElement = typed(document, "filters")?;
    canvas.set_width(((tile_w + gap) * columns) as u32);
    canvas.set_height(((tile_h + gap) * rows.max(1)) as u32);
    let context = context_2d(&canvas)?;
    let tile_bytes = width * height * 4;
    for i in 0..n {
        let Some(rgba) = pixels.get(i * tile_bytes..(i + 1) * tile_bytes) else {
            break;
        };
        put_tile(
            &context,
            rgba,
            width,
            height,
            scale,
            (i % columns) * (tile_w + gap),
            (i / columns) * (tile_h + gap),
        )?;
    }
    set_text(
        document,
        "filters-caption",
        &format!(
            "{n} filters of {}, {width}×{height} each, scaled so grey is 0 and each filter's largest weight is \
             full colour.",
            str_of(reply, "layer")
        ),
    )
}

/// Confusion matrix, per-class accuracy and the gallery of a `results` reply.
pub fn render_results(document: &Document, results: &Value, pixels: &[u8]) -> Result<(), JsValue> {
    element(document, "results")?.remove_attribute("hidden")?;
    let names = class_names(results);
    let table = element(document, "confusion")?;
    table.set_text_content(None);
    let head = append(document, &table, "tr", "", None)?;
    append(document, &head, "th", "", None)?;
    for name in &names {
        append(document, &head, "th", name, Some("rotated"))?;
    }
    append(document, &head, "th", "accuracy", None)?;
    let confusion = results["confusion"].as_array().cloned().unwrap_or_default();
    for (class, row) in confusion.iter().enumerate() {
        let tr = append(document, &table, "tr", "", None)?;
        append(document, &tr, "th", names.get(class).map_or("", String::as_str), None)?;
        let cells: Vec<u64> = row
            .as_array()
            .map(|r| r.iter().map(|v| v.as_u64().unwrap_or(0)).collect())
            .unwrap_or_default();
        let total = cells.iter().sum::<u64>().max(1) as f64;
        for (predicted, &n) in cells.iter().enumerate() {
            let cell = append(document, &tr, "td", &n.to_string(), Some("number"))?;
            let share = n as f64 / total;
            let colour = if predicted == class {
                "31, 119, 180"
            } else {
                "214, 39, 40"
            };
            cell.set_attribute("style", &format!("background: rgba({colour}, {:.2})", share.min(1.0)))?;
        }
        let accuracy = results["per_class_accuracy"][class].as_f64().unwrap_or(0.0);
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
            100.0 * num(results, "accuracy"),
            count(results, "images")
        ),
    )?;
    let gallery = element(document, "gallery")?;
    gallery.set_text_content(None);
    for (i, item) in results["gallery"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(rgba) = pixels.get(i * 4096..(i + 1) * 4096) else {
            break;
        };
        let (label, predicted) = (count(item, "label"), count(item, "predicted"));
        let wrong = label != predicted;
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
        let name = |class: usize| names.get(class).cloned().unwrap_or_default();
        let caption = if wrong {
            format!(
                "{} ({:.0} %), is {}",
                name(predicted),
                100.0 * num(item, "confidence"),
                name(label)
            )
        } else {
            format!("{} ({:.0} %)", name(predicted), 100.0 * num(item, "confidence"))
        };
        append(document, &figure, "figcaption", &caption, None)?;
    }
    Ok(())
}

/// The class probabilities of a `classified` reply, and the 32×32 image the model saw.
pub fn render_classified(document: &Document, reply: &Value, pixels: &[u8]) -> Result<(), JsValue> {
    let canvas: HtmlCanvasElement = typed(document, "own-preview")?;
    if pixels.len() >= 4096 {
        put_tile(&context_2d(&canvas)?, &pixels[..4096], 32, 32, 4, 0, 0)?;
    }
    let list = element(document, "own-probabilities")?;
    list.set_text_content(None);
    let names = class_names(reply);
    let probabilities: Vec<f64> = reply["probabilities"]
        .as_array()
        .map(|p| p.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect())
        .unwrap_or_default();
    let predicted = count(reply, "predicted");
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
        append(
            document,
            &item,
            "span",
            names.get(class).map_or("", String::as_str),
            Some("bar-label"),
        )?;
        let bar = append(document, &item, "span", "", Some("bar"))?;
        bar.set_attribute("style", &format!("width: {:.1}%", 100.0 * p))?;
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

/// The live training chart: curve points and each step's batch loss.
pub fn draw_training_chart(canvas_id: &str, points: &[CurvePoint], batches: &[(usize, f64)]) -> Result<(), JsValue> {
    let backend = CanvasBackend::new(canvas_id)
        .ok_or_else(|| JsValue::from_str(&format!("expected a canvas `{canvas_id}`, found none")))?;
    let root = backend.into_drawing_area();
    chart::draw_curves_with_batches(&root, points, batches, "loss and accuracy")
        .map_err(|error| JsValue::from_str(&format!("chart: {error}")))
}

/// The experiments chart: test accuracy of every run.
pub fn draw_experiment_chart(canvas_id: &str, runs: &[(String, Vec<CurvePoint>)]) -> Result<(), JsValue> {
    let backend = CanvasBackend::new(canvas_id)
        .ok_or_else(|| JsValue::from_str(&format!("expected a canvas `{canvas_id}`, found none")))?;
    let root = backend.into_drawing_area();
    chart::draw_accuracy_overlay(&root, runs, "test accuracy, Table 1 rows")
        .map_err(|error| JsValue::from_str(&format!("chart: {error}")))
}
