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

/// An experiment's chart (the Table 1 queue, the transfer experiment): test accuracy of every run, overlaid.
pub fn draw_experiment_chart(canvas_id: &str, runs: &[(String, Vec<CurvePoint>)], title: &str) -> Result<(), JsValue> {
    let backend = CanvasBackend::new(canvas_id)
        .ok_or_else(|| JsValue::from_str(&format!("expected a canvas `{canvas_id}`, found none")))?;
    let root = backend.into_drawing_area();
    chart::draw_accuracy_overlay(&root, runs, title).map_err(|error| JsValue::from_str(&format!("chart: {error}")))
}
