//! Drawing the "inside the network" panel: per-layer gradient or weight norms over the steps (log scale), the
//! activation functions with their derivatives, one image's activations through every layer, and a
//! convolution's kernels. Every value drawn comes from the session as it is.
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::prelude::*;
use web_sys::{Document, HtmlCanvasElement};

use super::{append, context_2d, element, put_tile, set_text, typed, TILE_BYTES};
use crate::session::{ActivationCurve, ImageActivations, Kernels, LayerMaps};
use crate::train::LayerNorms;

/// Which norm the chart shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormKind {
    Gradient,
    Weight,
}

fn chart_error(error: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&format!("chart: {error}"))
}

fn canvas_backend(canvas_id: &str) -> Result<CanvasBackend, JsValue> {
    CanvasBackend::new(canvas_id)
        .ok_or_else(|| JsValue::from_str(&format!("expected a canvas `{canvas_id}`, found none")))
}

/// The norms of the layers `shown` (by index into `layers`) over the steps, one labelled series each, on a
/// log scale.
pub fn draw_norms(
    canvas_id: &str,
    layers: &[String],
    shown: &[bool],
    norms: &[LayerNorms],
    kind: NormKind,
) -> Result<(), JsValue> {
    let root = canvas_backend(canvas_id)?.into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let (title, axis) = match kind {
        NormKind::Gradient => ("gradient norm per layer, ‖∂L/∂θ‖₂ (log scale)", "‖∂L/∂θ‖₂"),
        NormKind::Weight => ("weight norm per layer, ‖θ‖₂ (log scale)", "‖θ‖₂"),
    };
    let root = root.titled(title, ("sans-serif", 18)).map_err(chart_error)?;
    let value = |n: &LayerNorms, layer: usize| match kind {
        NormKind::Gradient => n.gradient.get(layer).copied(),
        NormKind::Weight => n.weight.get(layer).copied(),
    };
    let visible = |layer: usize| shown.get(layer).copied().unwrap_or(true);
    let values = norms.iter().flat_map(|n| {
        (0..layers.len())
            .filter(|&l| visible(l))
            .filter_map(move |l| value(n, l))
    });
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !(lo.is_finite() && hi > 0.0) {
        (lo, hi) = (1e-3, 1.0);
    }
    let (lo, hi) = (lo / 1.5, hi * 1.5);
    let last_step = norms.last().map_or(1, |n| n.step).max(1) as f64;
    let first_step = norms.first().map_or(0, |n| n.step) as f64;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(first_step..last_step.max(first_step + 1.0), (lo..hi).log_scale())
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(axis)
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(chart_error)?;
    let mut any = false;
    for (layer, name) in layers.iter().enumerate().filter(|(l, _)| visible(*l)) {
        let colour = Palette99::pick(layer).to_rgba();
        let line: Vec<(f64, f64)> = norms
            .iter()
            .filter_map(|n| value(n, layer).map(|v| (n.step as f64, v)))
            .filter(|(_, v)| v.is_finite() && *v > 0.0)
            .collect();
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))
            .map_err(chart_error)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        any = true;
    }
    if any {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(chart_error)?;
    }
    root.present().map_err(chart_error)
}

/// Each activation function `h` and its derivative `h′`, one panel each.
pub fn draw_activation_curves(canvas_id: &str, curves: &[ActivationCurve]) -> Result<(), JsValue> {
    let root = canvas_backend(canvas_id)?.into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let panels = root.split_evenly((1, curves.len().max(1)));
    let value_colour = RGBColor(31, 119, 180);
    let derivative_colour = RGBColor(214, 39, 40);
    for (panel, curve) in panels.iter().zip(curves) {
        let (x_lo, x_hi) = (
            curve.x.first().copied().unwrap_or(-1.0),
            curve.x.last().copied().unwrap_or(1.0),
        );
        let all = curve.value.iter().chain(&curve.derivative).copied();
        let (y_lo, y_hi) = all.fold((-0.1f64, 1.1f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let mut chart = ChartBuilder::on(panel)
            .caption(&curve.name, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(36)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(chart_error)?;
        chart.configure_mesh().x_desc("x").draw().map_err(chart_error)?;
        let pairs = |ys: &[f64]| curve.x.iter().copied().zip(ys.iter().copied()).collect::<Vec<_>>();
        for (label, colour, ys) in [
            (format!("{}(x)", curve.name), value_colour, &curve.value),
            (format!("{}′(x)", curve.name), derivative_colour, &curve.derivative),
        ] {
            chart
                .draw_series(LineSeries::new(pairs(ys), colour.stroke_width(2)))
                .map_err(chart_error)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(chart_error)?;
    }
    root.present().map_err(chart_error)
}

/// The enlargement that draws a `side`-pixel tile about `target` pixels wide.
fn scale_for(side: usize, target: usize) -> usize {
    (target / side.max(1)).clamp(1, 8)
}

/// One image's activations: the image, then one row per layer (its tiles and a caption with shape and range).
pub fn render_image_activations(
    document: &Document,
    activations: &ImageActivations,
    class_names: &[String],
    pixels: &[u8],
) -> Result<(), JsValue> {
    let container = element(document, "image-activations")?;
    container.set_text_content(None);
    let name = |class: usize| class_names.get(class).map_or("?", String::as_str);
    set_text(
        document,
        "activations-caption",
        &format!(
            "Test image {} (a {}), predicted {} after {} steps. Each layer's tiles run from black (its smallest \
             output) to white (its largest); at most 16 feature maps per layer.",
            activations.image,
            name(activations.label),
            name(activations.predicted),
            activations.steps_done
        ),
    )?;
    let image_bytes = TILE_BYTES;
    let row = append(document, &container, "figure", "", Some("activation-row"))?;
    let canvas = tiles_canvas(document, &row, 1, 32, 32, 3)?;
    canvas.set_attribute("aria-label", &format!("Test image {}", activations.image))?;
    if let Some(rgba) = pixels.get(..image_bytes) {
        put_tile(&context_2d(&canvas)?, rgba, 32, 32, 3, 0, 0)?;
    }
    append(document, &row, "figcaption", "input image", None)?;
    let mut offset = image_bytes;
    for layer in &activations.layers {
        layer_row(document, &container, layer, pixels.get(offset..).unwrap_or_default())?;
        offset += layer.pixel_bytes();
    }
    Ok(())
}

/// One layer's output for the image: one row of tiles and a caption with shape and range. `pixels` starts at
/// the layer's tiles.
fn layer_row(
    document: &Document,
    container: &web_sys::Element,
    layer: &LayerMaps,
    pixels: &[u8],
) -> Result<(), JsValue> {
    let row = append(document, container, "figure", "", Some("activation-row"))?;
    let (width, height) = (layer.width, layer.height);
    let scale = scale_for(width.max(height), 48);
    let canvas = tiles_canvas(document, &row, layer.maps, width, height, scale)?;
    let shape: Vec<String> = layer.shape.iter().map(usize::to_string).collect();
    let label = format!("Layer {}: {} [{}]", layer.index, layer.name, shape.join("×"));
    canvas.set_attribute("aria-label", &format!("Output of {label}"))?;
    let context = context_2d(&canvas)?;
    let tile = width * height * 4;
    for map in 0..layer.maps {
        let Some(rgba) = pixels.get(map * tile..(map + 1) * tile) else {
            break;
        };
        put_tile(&context, rgba, width, height, scale, map * (width * scale + 2), 0)?;
    }
    let shown = if layer.shape.len() == 3 && layer.maps < layer.shape[0] {
        format!(", first {} of {} maps", layer.maps, layer.shape[0])
    } else {
        String::new()
    };
    let caption = format!("{label}: {:.3} to {:.3}{shown}", layer.min, layer.max);
    append(document, &row, "figcaption", &caption, None)?;
    Ok(())
}

/// Layer `index`'s output for the image alone, into the element `container_id` (the layer inspector's).
pub fn render_layer_output(
    document: &Document,
    activations: &ImageActivations,
    pixels: &[u8],
    index: usize,
    container_id: &str,
) -> Result<(), JsValue> {
    let container = element(document, container_id)?;
    container.set_text_content(None);
    let mut offset = TILE_BYTES;
    for layer in &activations.layers {
        if layer.index == index {
            return layer_row(document, &container, layer, pixels.get(offset..).unwrap_or_default());
        }
        offset += layer.pixel_bytes();
    }
    Ok(())
}

/// A canvas for `count` tiles of `width × height` enlarged `scale` times, in a row, appended to `parent`.
fn tiles_canvas(
    document: &Document,
    parent: &web_sys::Element,
    count: usize,
    width: usize,
    height: usize,
    scale: usize,
) -> Result<HtmlCanvasElement, JsValue> {
    let canvas: HtmlCanvasElement = document.create_element("canvas")?.dyn_into()?;
    canvas.set_width((count.max(1) * (width * scale + 2)) as u32);
    canvas.set_height((height * scale) as u32);
    canvas.set_attribute("role", "img")?;
    parent.append_child(&canvas)?;
    Ok(canvas)
}

/// A convolution's kernels into the canvas `canvas_id` with its caption in `caption_id`: one row per output
/// channel, one tile per input channel.
pub fn render_kernels(
    document: &Document,
    kernels: &Kernels,
    pixels: &[u8],
    (canvas_id, caption_id): (&str, &str),
) -> Result<(), JsValue> {
    let size = kernels.size.max(1);
    let scale = scale_for(size, 14).max(2);
    let (tile, gap) = (size * scale, 2);
    let canvas: HtmlCanvasElement = typed(document, canvas_id)?;
    canvas.set_width((kernels.inputs.max(1) * (tile + gap)) as u32);
    canvas.set_height((kernels.outputs.max(1) * (tile + gap)) as u32);
    let context = context_2d(&canvas)?;
    context.clear_rect(0.0, 0.0, f64::from(canvas.width()), f64::from(canvas.height()));
    let bytes = size * size * 4;
    for output in 0..kernels.outputs {
        for input in 0..kernels.inputs {
            let index = output * kernels.inputs + input;
            let Some(rgba) = pixels.get(index * bytes..(index + 1) * bytes) else {
                break;
            };
            put_tile(
                &context,
                rgba,
                size,
                size,
                scale,
                input * (tile + gap),
                output * (tile + gap),
            )?;
        }
    }
    let Some(tensor) = kernels.tensors.get(kernels.shown) else {
        return Ok(());
    };
    let shape: Vec<String> = tensor.shape.iter().map(usize::to_string).collect();
    set_text(
        document,
        caption_id,
        &format!(
            "Layer {}: {} {} [{}]: rows are output channels (first {}), columns the kernel's slice for each input \
             channel (first {}), {size}×{size} each; grey is 0, each row's largest |weight| is black or white.",
            tensor.layer,
            tensor.name,
            tensor.parameter,
            shape.join("×"),
            kernels.outputs,
            kernels.inputs
        ),
    )
}
