//! The lab page in headless Chromium (`wasm-pack test --headless --chrome`, see README): `web::mount`
//! fills the real markup of `www/index.html`, and the gradient-check table that `Check gradients` shows has
//! one passing row per checked parameter. (The click itself, with the full suite, is covered by the browser
//! smoke test in `tests/e2e/` against the release build.)
#![cfg(target_arch = "wasm32")]

use backprop_lab::gradcheck::{self, SuiteOptions};
use backprop_lab::web;
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

#[wasm_bindgen_test]
fn mount_shows_the_synthetic_dataset_counts() {
    let document = lab_page();
    web::mount(&document).expect("mount fills the lab page");
    for id in ["train-count", "test-count"] {
        let count: usize = text(&document, id)
            .parse()
            .unwrap_or_else(|_| panic!("#{id} shows a number, found {:?}", text(&document, id)));
        assert!(count > 0, "#{id} shows {count} images");
    }
    assert_eq!(text(&document, "status"), "Ready.");
}

#[wasm_bindgen_test]
fn gradient_check_table_has_one_passing_row_per_parameter() {
    let document = lab_page();
    // One trial per check keeps this test within the browser runner's default 20 s; the full suite runs
    // in Node (tests/wasm_node.rs) and behind the real button in the smoke test (tests/e2e/).
    let results = gradcheck::suite(&SuiteOptions {
        seed: web::GRADCHECK_SEED,
        trials: 1,
        layer_norm_trials: 1,
    });
    web::show_gradient_checks(&document, &results).expect("the gradient-check table renders");

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
