//! The lab page in headless Chromium (`wasm-pack test --headless --chrome`, see README): the session answers
//! the page's requests in wasm, and `web::view` renders each answer into the real markup of
//! `www/index.html` (data summary and samples, model diagram, gradient-check tables, layer inspector with
//! MathML, confusion matrix and gallery). The page with its worker and real clicks is covered by the
//! end-to-end tests in `tests/e2e/` against the release build.
#![cfg(target_arch = "wasm32")]

use backprop_lab::data::{self, SyntheticConfig};
use backprop_lab::gradcheck::{self, SuiteOptions};
use backprop_lab::session::{PageConfig, Reply, Request, Response, Session};
use backprop_lab::web::{self, view};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Document, Element};

wasm_bindgen_test_configure!(run_in_browser);

/// The test page's document with the body of `www/index.html` in it, fresh for each test. (It goes into a
/// container of its own: the test runner reports through elements of the body it must keep.)
fn lab_page() -> Document {
    let page = include_str!("../www/index.html");
    let markup = page
        .split_once("<body>")
        .and_then(|(_, rest)| rest.split_once("</body>"))
        .map(|(body, _)| body)
        .expect("www/index.html has a <body>…</body>");
    let document = web_sys::window()
        .and_then(|window| window.document())
        .expect("a browser test has a document");
    if let Some(previous) = document.get_element_by_id(FIXTURE_ID) {
        previous.remove();
    }
    let fixture = document.create_element("div").expect("a div");
    fixture.set_id(FIXTURE_ID);
    fixture.set_inner_html(markup);
    document
        .body()
        .expect("the test page has a body")
        .append_child(&fixture)
        .expect("the fixture joins the body");
    document
}

/// A table row's cell texts, `a | b | c`.
fn cells(row: &Element) -> String {
    let cells = row.children();
    (0..cells.length())
        .filter_map(|index| cells.item(index)?.text_content())
        .collect::<Vec<_>>()
        .join(" | ")
}

const FIXTURE_ID: &str = "lab-page-fixture";

fn element(document: &Document, id: &str) -> Element {
    document
        .get_element_by_id(id)
        .unwrap_or_else(|| panic!("www/index.html has an element with id `{id}`"))
}

fn text(document: &Document, id: &str) -> String {
    element(document, id).text_content().unwrap_or_default()
}

fn session() -> Session {
    let dataset = data::synthetic(&SyntheticConfig {
        seed: 1,
        train_size: 300,
        test_size: 100,
    });
    let config = PageConfig::from_query("hidden=24&norm=batch-norm&opt=adam&batch=30&steps=20&eval=10").unwrap();
    Session::new(dataset, config)
}

fn ask(session: &mut Session, request: Request) -> Reply {
    session.dispatch(request, &[], &[], &|| js_sys::Date::now())
}

#[wasm_bindgen_test]
fn the_state_renders_counts_classes_samples_and_layers() {
    let document = lab_page();
    let mut session = session();
    let reply = ask(&mut session, Request::State);
    let Response::State(state) = reply.response else {
        panic!("expected a state, found {:?}", reply.response)
    };
    view::render_data(&document, &state.data, &reply.pixels).expect("the data summary renders");
    assert_eq!(text(&document, "train-count"), "300");
    assert_eq!(text(&document, "test-count"), "100");
    assert_eq!(element(&document, "class-rows").child_element_count(), 10);
    let samples: web_sys::HtmlCanvasElement = view::typed(&document, "samples").unwrap();
    assert_eq!(samples.height(), 10 * 34, "one row of tiles per class");
    let buttons = view::render_layers(&document, &state).expect("the model diagram renders");
    assert_eq!(buttons.len(), 4, "Linear, BatchNorm, ELU, Linear");
    assert!(text(&document, "layers").contains("Linear(3072→24)"));
}

#[wasm_bindgen_test]
fn the_current_model_passes_its_gradient_check_in_the_browser() {
    let document = lab_page();
    let mut session = session();
    ask(
        &mut session,
        Request::Step {
            steps: 5,
            budget_ms: 1e12,
        },
    );
    let Response::Gradients { rows, samples, entries } = ask(&mut session, Request::CheckGradients).response else {
        panic!("expected a gradient check")
    };
    view::render_gradients(&document, &rows, samples, entries).expect("the table renders");
    let rows = element(&document, "gradcheck-rows").child_element_count();
    assert_eq!(rows, 7, "input, W, b, γ, β, W, b");
    assert_eq!(
        text(&document, "gradcheck-summary").split(' ').next(),
        Some("7"),
        "7 of 7 pass"
    );
    assert!(element(&document, "gradcheck-rows")
        .query_selector("td.fail")
        .unwrap()
        .is_none());
}

#[wasm_bindgen_test]
fn a_layer_shows_mathml_formulas_and_histograms() {
    let document = lab_page();
    let mut session = session();
    ask(
        &mut session,
        Request::Step {
            steps: 3,
            budget_ms: 1e12,
        },
    );
    let Response::Layer(layer) = ask(&mut session, Request::Layer { index: 1 }).response else {
        panic!("expected a layer")
    };
    view::render_layer(&document, &layer).expect("the inspector renders");
    let forward = element(&document, "inspect-forward");
    let math = forward.query_selector("math").unwrap().expect("a MathML element");
    assert_eq!(
        math.namespace_uri().as_deref(),
        Some("http://www.w3.org/1998/Math/MathML")
    );
    assert!(
        element(&document, "inspect-backward")
            .get_elements_by_tag_name("math")
            .length()
            >= 3
    );
    assert!(text(&document, "inspect-name").contains("BatchNorm1d(24)"));
    assert!(
        element(&document, "inspect-tensors")
            .get_elements_by_tag_name("canvas")
            .length()
            >= 6
    );
}

#[wasm_bindgen_test]
fn results_render_a_confusion_matrix_and_a_gallery() {
    let document = lab_page();
    let mut session = session();
    ask(
        &mut session,
        Request::Step {
            steps: 20,
            budget_ms: 1e12,
        },
    );
    let reply = ask(&mut session, Request::Results { gallery: 12 });
    let Response::Results(results) = reply.response else {
        panic!("expected results, found {:?}", reply.response)
    };
    view::render_results(&document, &results, &reply.pixels).expect("the results render");
    assert_eq!(
        element(&document, "confusion").child_element_count(),
        11,
        "a header and 10 classes"
    );
    assert_eq!(element(&document, "gallery").child_element_count(), 12);
    assert!(text(&document, "results-summary").contains("on 100 images"));
}

#[wasm_bindgen_test]
fn the_suite_table_has_one_passing_row_per_parameter() {
    let document = lab_page();
    // One trial per check keeps this test within the browser runner's time; the full suite runs in Node
    // (tests/wasm_node.rs) and behind the real button in the end-to-end tests (tests/e2e/).
    let results = gradcheck::suite(&SuiteOptions {
        seed: web::GRADCHECK_SEED,
        trials: 1,
        layer_norm_trials: 1,
    });
    view::render_gradients(&document, &results, 0, 0).expect("the gradient-check table renders");

    let rows = element(&document, "gradcheck-rows").child_element_count();
    assert!(rows > 0, "the gradient-check table has no rows");
    assert_eq!(rows as usize, results.len());
    let failed = element(&document, "gradcheck-rows")
        .query_selector("td.fail")
        .expect("a valid selector");
    assert!(
        failed.is_none(),
        "a gradient check failed in the browser: {:?}",
        failed.and_then(|cell| cell.parent_element()).map(|row| cells(&row))
    );
    assert_eq!(
        text(&document, "gradcheck-summary"),
        format!("{rows} of {rows} gradient checks passed.")
    );
    assert!(!element(&document, "gradcheck-table").has_attribute("hidden"));
}
