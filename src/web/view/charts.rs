//! The two plotters-canvas charts: the live training curves and the experiments' overlay.
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::prelude::*;

use crate::chart;
use crate::train::CurvePoint;

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
