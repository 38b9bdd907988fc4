//! curves.png: the chart module drawn on a bitmap, with a system TrueType font for its text.
use std::path::Path;

use backprop_lab::chart::draw_curves;
use backprop_lab::train::CurvePoint;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Registers the first available system font as plotters' "sans-serif" (once per process).
fn register_system_font() -> Result<(), String> {
    static REGISTERED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes = FONT_CANDIDATES
                .iter()
                .find_map(|path| std::fs::read(path).ok())
                .ok_or_else(|| format!("expected a TrueType font at one of {FONT_CANDIDATES:?}, found none"))?;
            register_font("sans-serif", FontStyle::Normal, Box::leak(bytes.into_boxed_slice()))
                .map_err(|_| "the system font could not be parsed".to_string())
        })
        .clone()
}

pub fn write_curves_png(path: &Path, points: &[CurvePoint], title: &str) -> Result<(), String> {
    register_system_font()?;
    let root = BitMapBackend::new(path, (1100, 450)).into_drawing_area();
    draw_curves(&root, points, title).map_err(|e| e.to_string())
}
