//! The classroom view (www/style.css, from [`CLASSROOM_MIN_WIDTH`] px wide with `Classroom view` ticked): one
//! screen with data, model, training and the gradient check, and one other view beside them, chosen with the
//! `Beside the curves` radio buttons. Here: the charts drawn at the size the layout gives them, and the controls
//! that open a view beside (the gradient table's button, a click on a layer of the model diagram).
use wasm_bindgen::prelude::*;
use web_sys::{Document, HtmlCanvasElement, HtmlInputElement, ResizeObserver};

use super::app::{on_click, Shared};
use super::view::{element, typed};

/// The width from which the classroom view applies (the `@media` rule of www/style.css says the same).
const CLASSROOM_MIN_WIDTH: f64 = 1360.0;
/// The chart's pixel size outside the classroom view (www/index.html's `width`/`height` of `#curves`).
const CHART_SIZE: (u32, u32) = (1000, 380);

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    on_click(app, "gradcheck-beside", |app| {
        show_beside(&app.borrow().document, "beside-gradients");
    })?;
    // Whatever changes a chart's box (the window, Large type, the classroom toggle, a longer status line
    // above it, the choice of the view beside) redraws it at the new size.
    redraw_on_resize(app, "curves", |app| super::training::redraw(app, true))?;
    redraw_on_resize(app, "transfer-curves", super::transfer::redraw)?;
    redraw_on_resize(app, "experiment-curves", super::experiments::redraw)
}

/// Calls `redraw` whenever the box of the element `id` changes size, once the page is ready. The observer's
/// first call comes at once, while the training worker starts: a worker starts only when the page's main thread
/// is free to hear that it may, so nothing is drawn before (app::on_ready and app::show_state draw the curves).
fn redraw_on_resize(app: &Shared, id: &str, redraw: fn(&Shared)) -> Result<(), JsValue> {
    let weak = std::rc::Rc::downgrade(app);
    let on_resize = Closure::<dyn FnMut()>::new(move || {
        if let Some(app) = weak.upgrade().filter(|app| app.borrow().ready) {
            redraw(&app);
        }
    });
    let observer = ResizeObserver::new(on_resize.as_ref().unchecked_ref())?;
    observer.observe(&element(&app.borrow().document, id)?);
    // The page's lifetime: never disconnected.
    on_resize.forget();
    Ok(())
}

/// Whether the page is laid out as the classroom view now.
fn active(document: &Document) -> bool {
    let wide = web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|w| w.as_f64())
        .is_some_and(|w| w >= CLASSROOM_MIN_WIDTH);
    wide && typed::<HtmlInputElement>(document, "classroom").is_ok_and(|input| input.checked())
}

/// Opens the view of the `Beside the curves` radio button `id` (the classroom view's side column). Outside the
/// classroom view every view is on the page already, and the choice waits for it.
pub fn show_beside(document: &Document, id: &str) {
    if let Ok(radio) = typed::<HtmlInputElement>(document, id) {
        radio.set_checked(true);
    }
}

/// Gives the chart canvas the pixel size it is drawn at (see [`fit_canvas`]). Called before every redraw.
pub fn fit_chart(document: &Document) -> Option<u32> {
    fit_canvas(document, "curves", CHART_SIZE)
}

/// Gives the chart canvas `id` the pixel size it is drawn at: in the classroom view the box the layout gives it
/// (so that its text stays legible and unstretched at any screen size), elsewhere its own fixed `size`. Returns
/// the size its text is drawn in: in the classroom view the page's (Large type enlarges the chart too),
/// elsewhere the chart's own. A canvas the classroom view hides keeps its size; the resize observer of
/// [`wire`] redraws it when it is shown.
pub fn fit_canvas(document: &Document, id: &str, size: (u32, u32)) -> Option<u32> {
    let canvas = typed::<HtmlCanvasElement>(document, id).ok()?;
    let classroom = active(document);
    let (width, height) = if classroom {
        let (width, height) = (canvas.client_width(), canvas.client_height());
        if width <= 0 || height <= 0 {
            return None;
        }
        (width as u32, height as u32)
    } else {
        size
    };
    if canvas.width() != width {
        canvas.set_width(width);
    }
    if canvas.height() != height {
        canvas.set_height(height);
    }
    if !classroom {
        return None;
    }
    let style = web_sys::window()?.get_computed_style(&canvas).ok()??;
    let size = style.get_property_value("font-size").ok()?;
    let pixels: f64 = size.trim_end_matches("px").parse().ok()?;
    Some(pixels.round() as u32)
}
