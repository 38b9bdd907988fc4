//! The assignment's gradient checks, run natively in f64.
use backprop_lab::gradcheck::{standard_suite, CheckResult};

fn print_table(rows: &[CheckResult]) {
    for r in rows {
        eprintln!("{:<60} {:<28} {:>10.3e} {:>10.3e} {:>8.1e} {}", r.layer, r.parameter, r.max_rel_error, r.max_abs_error, r.tolerance, if r.passed { "pass" } else { "FAIL" });
    }
}

#[test]
fn every_check_of_the_standard_suite_passes() {
    let rows = standard_suite(42);
    print_table(&rows);
    assert!(rows.len() > 20, "expected a row per checked tensor, found {}", rows.len());
    let failed: Vec<_> = rows.iter().filter(|r| !r.passed).collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}");
}
