//! The plotters-canvas charts: the live training curves and the experiments' overlays.
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::prelude::*;

use crate::chart::{self, CurveExtras, CurveLayout};
use crate::train::CurvePoint;

/// The live training chart: curve points, each step's batch loss, markers, overlays; returns where its
/// panels lie (for the values under the pointer).
pub fn draw_training_chart(
    canvas_id: &str,
    points: &[CurvePoint],
    extras: &CurveExtras,
) -> Result<CurveLayout, JsValue> {
    let backend = CanvasBackend::new(canvas_id)
        .ok_or_else(|| JsValue::from_str(&format!("expected a canvas `{canvas_id}`, found none")))?;
    let root = backend.into_drawing_area();
    chart::draw_curves_with_extras(&root, points, extras, "loss and accuracy")
        .map_err(|error| JsValue::from_str(&format!("chart: {error}")))
}

/// An experiment's chart (the Table 1 queue, the transfer experiment): test accuracy of every run, overlaid;
/// in the classroom view drawn at the size its box has beside the curves, in the page's type.
pub fn draw_experiment_chart(
    document: &web_sys::Document,
    canvas_id: &str,
    runs: &[(String, Vec<CurvePoint>)],
    title: &str,
) -> Result<(), JsValue> {
    let text_px = super::super::classroom::fit_canvas(document, canvas_id, EXPERIMENT_CHART_SIZE);
    let backend = CanvasBackend::new(canvas_id)
        .ok_or_else(|| JsValue::from_str(&format!("expected a canvas `{canvas_id}`, found none")))?;
    let root = backend.into_drawing_area();
    chart::draw_accuracy_overlay(&root, runs, title, text_px)
        .map_err(|error| JsValue::from_str(&format!("chart: {error}")))
}

/// An experiment chart's pixel size outside the classroom view (www/index.html's `width`/`height` of
/// `#experiment-curves` and `#transfer-curves`).
const EXPERIMENT_CHART_SIZE: (u32, u32) = (1000, 340);
