//! The panels that ask the worker about the current model: the gradient check, the first layer's weights, the
//! test-set results and "test your own image" (the layer inspector: inspector.rs).
use gloo::events::EventListener;
use gloo::file::ObjectUrl;
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, HtmlImageElement, HtmlInputElement};

use super::app::{listen, on_click, report, show_error, Shared};
use super::rpc::{in_wasm, send};
use super::view::{self, set_text};
use super::GRADCHECK_SEED;
use crate::session::{Request, Response};

/// Test images in the gallery.
const GALLERY: usize = 40;
/// Pictures are drawn at most this many pixels on a side before they are sent to be classified.
const MAX_PICTURE_SIDE: f64 = 1024.0;

/// A picture being opened for classification: its object URL (revoked on drop) and the image's listeners.
pub struct Picture {
    _url: ObjectUrl,
    _listeners: [EventListener; 2],
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    on_click(app, "check-gradients", |app| {
        check_gradients(app, Request::CheckGradients, "the current model")
    })?;
    on_click(app, "check-suite", |app| {
        let request = Request::Suite { seed: GRADCHECK_SEED };
        check_gradients(app, request, "every layer kind")
    })?;
    on_click(app, "show-filters", show_filters)?;
    on_click(app, "show-results", show_results)?;
    let weak = std::rc::Rc::downgrade(app);
    listen(app, "own-image", "change", move |event| {
        let input = event.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
        let file = input.as_ref().and_then(HtmlInputElement::files).and_then(|f| f.get(0));
        if let (Some(app), Some(file)) = (weak.upgrade(), file) {
            classify_picture(&app, file);
        }
    })
}

fn check_gradients(app: &Shared, request: Request, what: &str) {
    let document = app.borrow().document.clone();
    let _ = set_text(
        &document,
        "gradcheck-summary",
        &format!("Checking {what} against finite differences…"),
    );
    send(app, request, None, None, |app, reply, _| {
        let document = app.borrow().document.clone();
        match reply {
            Response::Gradients { rows, samples, entries } => {
                if let Err(error) = view::render_gradients(&document, &rows, samples, entries) {
                    report("could not show the gradient check", &error);
                }
                super::lessons::gradients_checked(app, &rows);
            }
            other => show_error(app, "gradcheck-summary", &other.message()),
        }
    });
}

fn show_filters(app: &Shared) {
    send(app, Request::Filters, None, None, |app, reply, pixels| {
        let document = app.borrow().document.clone();
        match reply {
            Response::Filters {
                width,
                height,
                count,
                layer,
            } => {
                let pixels = in_wasm(&pixels);
                if let Err(error) = view::render_filters(&document, &layer, (width, height), count, &pixels) {
                    report("could not show the filters", &error);
                }
            }
            other => show_error(app, "filters-caption", &other.message()),
        }
    });
}

fn show_results(app: &Shared) {
    let document = app.borrow().document.clone();
    let _ = set_text(&document, "results-summary", "Classifying the test set…");
    send(
        app,
        Request::Results { gallery: GALLERY },
        None,
        None,
        |app, reply, pixels| {
            let document = app.borrow().document.clone();
            match reply {
                Response::Results(results) => {
                    if let Err(error) = view::render_results(&document, &results, &in_wasm(&pixels)) {
                        report("could not show the results", &error);
                    }
                }
                other => show_error(app, "results-summary", &other.message()),
            }
        },
    );
}

/// Draws the chosen picture at its own size (at most [`MAX_PICTURE_SIDE`] px on a side) and sends its pixels
/// to be classified.
fn classify_picture(app: &Shared, file: web_sys::File) {
    let url = ObjectUrl::from(gloo::file::File::from(file));
    let Ok(image) = HtmlImageElement::new() else { return };
    let on_load = {
        let (weak, image) = (std::rc::Rc::downgrade(app), image.clone());
        EventListener::new(&image.clone(), "load", move |_| {
            if let Some(app) = weak.upgrade() {
                if let Err(error) = send_picture(&app, &image) {
                    report("could not read the picture", &error);
                }
            }
        })
    };
    let on_error = {
        let document = app.borrow().document.clone();
        EventListener::new(&image, "error", move |_| {
            let message = "That file is not a picture the browser can open.";
            let _ = set_text(&document, "results-summary", message);
        })
    };
    image.set_src(&url);
    // Kept until the next picture: then the URL is revoked and the listeners go.
    app.borrow_mut().picture = Some(Picture {
        _url: url,
        _listeners: [on_load, on_error],
    });
}

fn send_picture(app: &Shared, image: &HtmlImageElement) -> Result<(), JsValue> {
    let document = app.borrow().document.clone();
    let (w, h) = (image.natural_width().max(1), image.natural_height().max(1));
    let shrink = (MAX_PICTURE_SIDE / f64::from(w.max(h))).min(1.0);
    let (w, h) = (
        ((f64::from(w) * shrink) as u32).max(1),
        ((f64::from(h) * shrink) as u32).max(1),
    );
    let canvas: HtmlCanvasElement = document.create_element("canvas")?.dyn_into()?;
    canvas.set_width(w);
    canvas.set_height(h);
    let context = view::context_2d(&canvas)?;
    context.draw_image_with_html_image_element_and_dw_and_dh(image, 0.0, 0.0, f64::from(w), f64::from(h))?;
    let pixels = context.get_image_data(0.0, 0.0, f64::from(w), f64::from(h))?.data();
    let request = Request::Classify {
        width: w as usize,
        height: h as usize,
    };
    let pixels = Some(Uint8Array::from(&pixels[..]));
    send(app, request, None, pixels, |app, reply, pixels| {
        let document = app.borrow().document.clone();
        match reply {
            Response::Classified {
                probabilities,
                predicted,
                class_names,
            } => {
                let pixels = in_wasm(&pixels);
                if let Err(error) = view::render_classified(&document, &probabilities, predicted, &class_names, &pixels)
                {
                    report("could not show the classification", &error);
                }
            }
            other => show_error(app, "results-summary", &other.message()),
        }
    });
    Ok(())
}
