//! The "inside the network" panel's controller: per-layer norm curves kept from every step's progress and
//! redrawn calmly, the activation functions, one chosen test image followed through every layer as the model
//! trains, and every convolution's kernels. The numbers come from the worker's session; this only asks and
//! draws.
use gloo::events::EventListener;
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlInputElement, HtmlSelectElement};

use super::app::{listen, now_ms, on_click, report, show_error, Shared};
use super::rpc::{in_wasm, send};
use super::view::network::{self as draw, NormKind};
use super::view::{append, element, set_text, typed};
use crate::session::{Progress, Request, Response, State};
use crate::train::LayerNorms;

/// Norm entries kept (older ones are thinned out, as the batch losses).
const MAX_NORMS: usize = 4000;
/// Redraw the norm chart at most this often while running.
const REDRAW_MS: f64 = 500.0;
/// A followed image is looked at again at most this often while training (and every N steps, N on the page).
const FOLLOW_MS: f64 = 1000.0;

/// What the panel keeps between replies.
#[derive(Default)]
pub struct NetworkViews {
    /// The layers with parameters and whether each one's curve is shown.
    layers: Vec<String>,
    shown: Vec<bool>,
    norms: Vec<LayerNorms>,
    last_draw_ms: f64,
    /// The test image followed through the network, the step it was last shown at and when.
    followed: Option<usize>,
    followed_step: usize,
    followed_ms: f64,
    /// A request for the followed image is on its way (only one at a time).
    follow_pending: bool,
    curves_shown: bool,
    class_names: Vec<String>,
    /// The layer checkboxes' listeners (replaced with the checkboxes).
    checkboxes: Vec<EventListener>,
    /// The layer of each convolution weight, in the order the kernels reply lists them.
    kernel_layers: Vec<usize>,
}

impl NetworkViews {
    /// The run went back to `step` (a failed GPU's last sync): the norms of later steps are gone.
    pub fn rewind(&mut self, step: usize) {
        self.norms.retain(|norms| norms.step <= step);
        self.followed_step = self.followed_step.min(step);
    }
}

pub fn wire(app: &Shared) -> Result<(), JsValue> {
    listen(app, "norm-kind", "change", {
        let weak = std::rc::Rc::downgrade(app);
        move |_| {
            if let Some(app) = weak.upgrade() {
                redraw_norms(&app, true);
            }
        }
    })?;
    on_click(app, "show-activations", |app| {
        let document = app.borrow().document.clone();
        let image = typed::<HtmlInputElement>(&document, "follow-image")
            .ok()
            .map(|input| input.value_as_number())
            .filter(|v| v.is_finite() && *v >= 0.0);
        match image {
            Some(image) => follow(app, image as usize),
            None => show_error(app, "activations-caption", "Expected a test image index (0 or more)."),
        }
    })?;
    on_click(app, "show-kernels", |app| show_kernels(app, selected_tensor(app)))?;
    listen(app, "kernel-tensor", "change", {
        let weak = std::rc::Rc::downgrade(app);
        move |_| {
            if let Some(app) = weak.upgrade() {
                show_kernels(&app, selected_tensor(&app));
            }
        }
    })?;
    // The gallery's "Follow" buttons (the gallery is redrawn with every result; one listener on it).
    listen(app, "gallery", "click", {
        let weak = std::rc::Rc::downgrade(app);
        move |event| {
            let image = event
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|e| e.get_attribute("data-image"))
                .and_then(|i| i.parse::<usize>().ok());
            if let (Some(app), Some(image)) = (weak.upgrade(), image) {
                follow(&app, image);
            }
        }
    })
}

/// A new state (data, model or reset): the norm curves start over, the layer checkboxes follow the model, the
/// followed image and the kernels are shown for the new model.
pub fn on_state(app: &Shared, state: &State) {
    {
        let mut this = app.borrow_mut();
        let views = &mut this.network;
        views.layers.clone_from(&state.norm_layers);
        views.shown = vec![true; state.norm_layers.len()];
        views.norms.clear();
        views.class_names.clone_from(&state.data.class_names);
        // a reply owed by a worker that was replaced never comes
        views.follow_pending = false;
    }
    if let Err(error) = layer_checkboxes(app) {
        report("could not list the layers of the norm chart", &error);
    }
    redraw_norms(app, true);
    if !app.borrow().network.curves_shown {
        show_activation_curves(app);
    }
    if let Some(image) = app.borrow().network.followed {
        request_activations(app, image);
    }
    show_kernels(app, None);
}

/// A step's reply: the norms are kept and drawn; the followed image is looked at again when due.
pub fn on_progress(app: &Shared, progress: &Progress) {
    {
        let mut this = app.borrow_mut();
        let views = &mut this.network;
        views.norms.extend(progress.norms.iter().cloned());
        if views.norms.len() > MAX_NORMS {
            views.norms = views.norms.iter().step_by(2).cloned().collect();
        }
    }
    let running = app.borrow().run.running;
    redraw_norms(app, !running);
    let due = {
        let this = app.borrow();
        let views = &this.network;
        let every = typed::<HtmlInputElement>(&this.document, "follow-every")
            .map(|input| input.value_as_number())
            .ok()
            .filter(|v| v.is_finite() && *v >= 1.0)
            .unwrap_or(50.0) as usize;
        let live = typed::<HtmlInputElement>(&this.document, "follow-live").is_ok_and(|input| input.checked());
        let calm = !running || now_ms() - views.followed_ms >= FOLLOW_MS;
        let moved = progress.steps_done >= views.followed_step + every
            || (!running && progress.steps_done != views.followed_step);
        views
            .followed
            .filter(|_| live && calm && moved && !views.follow_pending)
    };
    if let Some(image) = due {
        request_activations(app, image);
    }
}

fn redraw_norms(app: &Shared, force: bool) {
    let now = now_ms();
    let this = &mut *app.borrow_mut();
    let views = &mut this.network;
    if !force && now - views.last_draw_ms < REDRAW_MS {
        return;
    }
    views.last_draw_ms = now;
    let kind = match typed::<HtmlSelectElement>(&this.document, "norm-kind").map(|s| s.value()) {
        Ok(value) if value == "weight" => NormKind::Weight,
        _ => NormKind::Gradient,
    };
    if let Err(error) = draw::draw_norms("norm-curves", &views.layers, &views.shown, &views.norms, kind) {
        report("could not draw the norm curves", &error);
    }
    // The last step drawn, for a reader of the page's markup (and the end-to-end tests).
    if let Ok(canvas) = element(&this.document, "norm-curves") {
        let last = views.norms.last().map_or(0, |n| n.step);
        let _ = canvas.set_attribute("data-last-step", &last.to_string());
    }
}

/// One labelled checkbox per layer with parameters: its curve on or off.
fn layer_checkboxes(app: &Shared) -> Result<(), JsValue> {
    let document = app.borrow().document.clone();
    let list = element(&document, "norm-layers")?;
    list.set_text_content(None);
    let layers = app.borrow().network.layers.clone();
    let mut listeners = Vec::new();
    for (index, name) in layers.iter().enumerate() {
        let label = append(&document, &list, "label", "", Some("check"))?;
        let input: HtmlInputElement = document.create_element("input")?.dyn_into()?;
        input.set_type("checkbox");
        input.set_checked(true);
        label.append_child(&input)?;
        append(&document, &label, "span", &format!(" {name}"), None)?;
        let weak = std::rc::Rc::downgrade(app);
        listeners.push(EventListener::new(&input, "change", move |event| {
            let checked = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                .is_some_and(|i| i.checked());
            if let Some(app) = weak.upgrade() {
                if let Some(shown) = app.borrow_mut().network.shown.get_mut(index) {
                    *shown = checked;
                }
                redraw_norms(&app, true);
            }
        }));
    }
    app.borrow_mut().network.checkboxes = listeners;
    Ok(())
}

fn show_activation_curves(app: &Shared) {
    app.borrow_mut().network.curves_shown = true;
    send(
        app,
        Request::ActivationCurves,
        None,
        None,
        |app, reply, _| match reply {
            Response::ActivationCurves { curves } => {
                if let Err(error) = draw::draw_activation_curves("activation-curves", &curves) {
                    report("could not draw the activation functions", &error);
                }
            }
            other => {
                app.borrow_mut().network.curves_shown = false;
                report("activation functions", &JsValue::from_str(&other.message()));
            }
        },
    );
}

/// Follows test image `image` through the network from now on.
pub fn follow(app: &Shared, image: usize) {
    app.borrow_mut().network.followed = Some(image);
    let document = app.borrow().document.clone();
    if let Ok(input) = typed::<HtmlInputElement>(&document, "follow-image") {
        input.set_value_as_number(image as f64);
    }
    request_activations(app, image);
}

fn request_activations(app: &Shared, image: usize) {
    {
        let mut this = app.borrow_mut();
        this.network.follow_pending = true;
        this.network.followed_ms = now_ms();
    }
    send(
        app,
        Request::ImageActivations { image },
        None,
        None,
        |app, reply, pixels| {
            app.borrow_mut().network.follow_pending = false;
            match reply {
                Response::ImageActivations(activations) => {
                    let (document, names) = {
                        let mut this = app.borrow_mut();
                        this.network.followed_step = activations.steps_done;
                        (this.document.clone(), this.network.class_names.clone())
                    };
                    let pixels = in_wasm(&pixels);
                    if let Err(error) = draw::render_image_activations(&document, &activations, &names, &pixels) {
                        report("could not show the activations", &error);
                    }
                }
                other => {
                    app.borrow_mut().network.followed = None;
                    show_error(app, "activations-caption", &other.message());
                }
            }
        },
    );
}

/// Layer `index` in the network, for the layer inspector: its output for the followed test image (the first
/// when none is followed) and, for a convolution, its kernels.
pub fn show_layer(app: &Shared, index: usize) {
    let image = app.borrow().network.followed.unwrap_or(0);
    send(
        app,
        Request::ImageActivations { image },
        None,
        None,
        move |app, reply, pixels| {
            let (document, names) = {
                let this = app.borrow();
                (this.document.clone(), this.network.class_names.clone())
            };
            let result = match reply {
                Response::ImageActivations(activations) => {
                    let name = |class: usize| names.get(class).map_or("?", String::as_str).to_owned();
                    let caption = format!(
                        "Its output for test image {} (a {}, predicted {}) after {} steps, black at its smallest \
                         value and white at its largest:",
                        activations.image,
                        name(activations.label),
                        name(activations.predicted),
                        activations.steps_done
                    );
                    set_text(&document, "inspect-activations-caption", &caption).and_then(|()| {
                        draw::render_layer_output(
                            &document,
                            &activations,
                            &in_wasm(&pixels),
                            index,
                            "inspect-activations",
                        )
                    })
                }
                other => set_text(&document, "inspect-activations-caption", &other.message()),
            };
            if let Err(error) = result {
                report("could not show the layer's output", &error);
            }
        },
    );
    let tensor = app
        .borrow()
        .network
        .kernel_layers
        .iter()
        .position(|&layer| layer == index);
    let document = app.borrow().document.clone();
    let Some(tensor) = tensor else {
        let _ = super::view::hide(&document, "inspect-kernels-part");
        return;
    };
    send(
        app,
        Request::Kernels { tensor: Some(tensor) },
        None,
        None,
        |app, reply, pixels| {
            let document = app.borrow().document.clone();
            let result = match reply {
                Response::Kernels(kernels) => super::view::show(&document, "inspect-kernels-part").and_then(|()| {
                    let ids = ("inspect-kernels", "inspect-kernels-caption");
                    draw::render_kernels(&document, &kernels, &in_wasm(&pixels), ids)
                }),
                other => set_text(&document, "inspect-kernels-caption", &other.message()),
            };
            if let Err(error) = result {
                report("could not show the layer's kernels", &error);
            }
        },
    );
}

fn selected_tensor(app: &Shared) -> Option<usize> {
    let document = app.borrow().document.clone();
    typed::<HtmlSelectElement>(&document, "kernel-tensor")
        .ok()
        .and_then(|select| select.value().parse().ok())
}

/// Shows the kernels of convolution weight `tensor` (the first when `None`) and lists every convolution.
fn show_kernels(app: &Shared, tensor: Option<usize>) {
    send(app, Request::Kernels { tensor }, None, None, |app, reply, pixels| {
        let document = app.borrow().document.clone();
        let result = match reply {
            Response::Kernels(kernels) => {
                app.borrow_mut().network.kernel_layers = kernels.tensors.iter().map(|t| t.layer).collect();
                fill_kernel_select(&document, &kernels).and_then(|()| {
                    draw::render_kernels(&document, &kernels, &in_wasm(&pixels), ("kernels", "kernels-caption"))
                })
            }
            other => {
                app.borrow_mut().network.kernel_layers.clear();
                // e.g. an MLP: no convolutions to show
                let _ = element(&document, "kernel-tensor").map(|s| s.set_text_content(None));
                let _ = typed::<web_sys::HtmlCanvasElement>(&document, "kernels").map(|c| {
                    c.set_width(10);
                    c.set_height(10);
                });
                set_text(&document, "kernels-caption", &other.message())
            }
        };
        if let Err(error) = result {
            report("could not show the kernels", &error);
        }
    });
}

fn fill_kernel_select(document: &web_sys::Document, kernels: &crate::session::Kernels) -> Result<(), JsValue> {
    let select: HtmlSelectElement = typed(document, "kernel-tensor")?;
    select.set_text_content(None);
    for (index, tensor) in kernels.tensors.iter().enumerate() {
        let shape: Vec<String> = tensor.shape.iter().map(usize::to_string).collect();
        let option = append(
            document,
            &select,
            "option",
            &format!(
                "Layer {}: {} {} [{}]",
                tensor.layer,
                tensor.name,
                tensor.parameter,
                shape.join("×")
            ),
            None,
        )?;
        option.set_attribute("value", &index.to_string())?;
    }
    select.set_value(&kernels.shown.to_string());
    Ok(())
}
