//! Helpers shared by the gradient-check test files: the standard suite, run once per test binary.
use std::sync::OnceLock;

use backprop_lab::gradcheck::{standard_suite, CheckResult};

/// The standard suite with seed 42, computed once.
pub fn suite() -> &'static [CheckResult] {
    static ROWS: OnceLock<Vec<CheckResult>> = OnceLock::new();
    ROWS.get_or_init(|| standard_suite(42))
}

/// The rows whose layer starts with `prefix`; asserts they exist, pass, and stay below `tolerance`.
pub fn assert_rows_pass(prefix: &str, expected_parameters: &[&str], tolerance: f64) {
    let rows: Vec<&CheckResult> = suite().iter().filter(|r| r.layer.starts_with(prefix)).collect();
    for parameter in expected_parameters {
        assert!(
            rows.iter().any(|r| r.parameter == *parameter),
            "{prefix}: no row for {parameter}; rows: {rows:#?}"
        );
    }
    for row in rows {
        assert!(row.passed, "{prefix}: check failed: {row:#?}");
        assert!(
            row.tolerance <= tolerance,
            "{prefix}: tolerance {} looser than {tolerance}",
            row.tolerance
        );
    }
}
