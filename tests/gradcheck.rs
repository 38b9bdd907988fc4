//! The assignment's gradient checks, run natively in f64 (central differences, h = 1e-5, random sizes
//! N 1–19, D 1–99, C 1–9, 10 trials each). The suite runs once; each test asserts on its own rows.
use backprop_lab::gradcheck::rel_error;

mod common;
use common::{assert_rows_pass, suite};

#[test]
fn rel_error_is_the_assignments_elementwise_maximum() {
    assert_eq!(rel_error(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
    assert!((rel_error(&[1.0, 3.0], &[1.0, 1.0]) - 0.5).abs() < 1e-15);
    // both zero: the 1e-8 floor keeps the ratio finite
    assert_eq!(rel_error(&[0.0], &[0.0]), 0.0);
    assert!((rel_error(&[1e-9], &[0.0]) - 0.1).abs() < 1e-12);
}

#[test]
fn linear_dx_dw_db_within_1e_5() {
    assert_rows_pass("Linear", &["input", "weight", "bias"], 1e-5);
}

#[test]
fn elu_within_1e_6() {
    assert_rows_pass("ELU", &["input"], 1e-6);
}

#[test]
fn relu_and_tanh_within_1e_6() {
    assert_rows_pass("ReLU", &["input"], 1e-6);
    assert_rows_pass("Tanh", &["input"], 1e-6);
}

#[test]
fn softmax_cross_entropy_and_fused_loss_within_1e_5() {
    assert_rows_pass("Softmax", &["input"], 1e-5);
    assert_rows_pass("CrossEntropy", &["input"], 1e-5);
    assert_rows_pass("SoftmaxCrossEntropy", &["input"], 1e-5);
}

#[test]
fn batchnorm1d_in_training_and_evaluation_within_1e_5() {
    assert_rows_pass("BatchNorm1d (train)", &["input", "gamma", "beta"], 1e-5);
    assert_rows_pass("BatchNorm1d (eval)", &["input", "gamma", "beta"], 1e-5);
}

#[test]
fn layernorm_manual_and_composed_pass_gradcheck_including_gamma_zero() {
    for case in ["γ = 1, β = 100·arange", "γ = √(10·arange)"] {
        assert_rows_pass(&format!("LayerNorm manual ({case})"), &["input", "gamma", "beta"], 1e-5);
        assert_rows_pass(
            &format!("LayerNorm composed ({case})"),
            &["input", "gamma", "beta"],
            1e-5,
        );
        assert_rows_pass(
            &format!("LayerNorm manual vs composed ({case})"),
            &["y, ∂L/∂x, ∂L/∂γ, ∂L/∂β"],
            1e-9,
        );
    }
}

#[test]
fn whole_mlps_check_end_to_end() {
    for model in [
        "MLP ELU + BatchNorm",
        "MLP Tanh + LayerNorm",
        "MLP ReLU, softmax → cross-entropy",
    ] {
        let rows: Vec<_> = suite().iter().filter(|r| r.layer.starts_with(model)).collect();
        // input + (weight, bias) for 3 linear layers at least
        assert!(
            rows.len() >= 7,
            "{model}: expected a row per parameter tensor, found {}",
            rows.len()
        );
        assert!(rows.iter().all(|r| r.passed), "{model}: {rows:#?}");
        assert!(rows.iter().all(|r| r.tolerance <= 1e-5), "{model}: {rows:#?}");
    }
}
