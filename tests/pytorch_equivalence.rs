//! The lab reproduces PyTorch: fixtures written by `docs/make_pytorch_fixtures.py` (weights in PyTorch's
//! state-dict names, a batch, and PyTorch's float64 logits, loss and gradients) are loaded and recomputed here,
//! in f64, to 1e-5 relative; the f32 model's logits to 1e-4. No PyTorch is needed.
use std::path::PathBuf;

use backprop_lab::layers::{Mode, StateValues};
use backprop_lab::model::{CnnConfig, ModelConfig, Network, ResnetConfig, Stem};
use backprop_lab::weights::{self, StateDict, StoredValues};
use ndarray::Array2;

const FIXTURES: [&str; 5] = [
    "mlp_batchnorm_elu",
    "mlp_layernorm_tanh",
    "small_cnn",
    "convnet",
    "resnet_torchvision",
];

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pytorch")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn floats(state: &StateDict, name: &str) -> (Vec<usize>, Vec<f32>) {
    let tensor = state.tensors.get(name).unwrap_or_else(|| panic!("no tensor {name}"));
    match &tensor.values {
        StoredValues::F32(v) => (tensor.shape.clone(), v.clone()),
        StoredValues::I64(_) => panic!("{name} is not F32"),
    }
}

/// Every element within `rtol` of PyTorch's, relative to the element or, for elements near zero, to 1e-3 of the
/// tensor's largest magnitude; values below 1e-12 are rounding noise of an exact zero (the bias of a linear layer
/// followed by BatchNorm has a zero gradient: the normalisation removes any shift).
fn assert_close(what: &str, ours: &[f64], theirs: &[f32], rtol: f64) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    let scale = theirs.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
    for (i, (&a, &b)) in ours.iter().zip(theirs).enumerate() {
        let b = f64::from(b);
        let allowed = (rtol * b.abs().max(1e-3 * scale)).max(1e-12);
        assert!(
            (a - b).abs() <= allowed,
            "{what}[{i}]: lab {a}, PyTorch {b} (allowed ±{allowed:e})"
        );
    }
}

/// The fixture's model in f64 with its weights, the batch and the expected values.
fn load_f64(name: &str) -> (Network<f64>, Array2<f64>, Vec<usize>, StateDict) {
    let state = StateDict::from_bytes(&fixture(&format!("{name}.safetensors"))).expect("weights read");
    let config = state
        .lab_metadata()
        .expect("metadata")
        .model
        .expect("a model configuration");
    let mut network = config.build::<f64>(0).expect("builds");
    weights::load_into(&mut network, &state, None).expect("PyTorch's state dict matches the lab's model");
    let expected = StateDict::from_bytes(&fixture(&format!("{name}.expected.safetensors"))).expect("reads");
    let (shape, x) = floats(&expected, "input");
    let x = Array2::from_shape_vec((shape[0], shape[1]), x.into_iter().map(f64::from).collect()).expect("shape");
    let targets = match &expected.tensors["targets"].values {
        StoredValues::I64(t) => t.iter().map(|&t| t as usize).collect(),
        StoredValues::F32(_) => panic!("targets are I64"),
    };
    (network, x, targets, expected)
}

#[test]
fn logits_loss_and_gradients_equal_pytorchs_to_1e_5() {
    for name in FIXTURES {
        let (mut network, x, targets, expected) = load_f64(name);
        let logits = network.forward(x.view(), Mode::Eval).to_owned();
        assert_close(
            &format!("{name} eval logits"),
            logits.as_slice().expect("contiguous"),
            &floats(&expected, "logits_eval").1,
            1e-5,
        );

        let logits = network.forward(x.view(), Mode::Train).to_owned();
        assert_close(
            &format!("{name} train logits"),
            logits.as_slice().expect("contiguous"),
            &floats(&expected, "logits_train").1,
            1e-5,
        );
        let loss = network.loss(&targets);
        assert_close(&format!("{name} loss"), &[loss], &floats(&expected, "loss").1, 1e-5);
        network.backward(x.view(), &targets, false);

        // the parameters in state-dict order, their gradients in the same order
        let mut names = Vec::new();
        network.visit_state(&mut |t| {
            if matches!(t.values, StateValues::Learned(_)) {
                names.push(t.name)
            }
        });
        let mut grads = Vec::new();
        network.visit_params(&mut |_, p| grads.push(p.grad.to_vec()));
        assert_eq!(names.len(), grads.len());
        let expected_grads = expected.tensors.keys().filter(|k| k.starts_with("grad.")).count();
        assert_eq!(expected_grads, names.len(), "{name}: one gradient per parameter");
        for (param, grad) in names.iter().zip(&grads) {
            let (_, theirs) = floats(&expected, &format!("grad.{param}"));
            assert_close(&format!("{name} ∂L/∂{param}"), grad, &theirs, 1e-5);
        }
    }
}

#[test]
fn the_f32_model_rebuilt_from_the_file_alone_gives_pytorchs_logits_to_1e_4() {
    for name in FIXTURES {
        let (_, mut network, report) = weights::load(&fixture(&format!("{name}.safetensors"))).expect("loads");
        assert_eq!(report.new_head, None);
        let expected = StateDict::from_bytes(&fixture(&format!("{name}.expected.safetensors"))).expect("reads");
        let (shape, x) = floats(&expected, "input");
        let x = Array2::from_shape_vec((shape[0], shape[1]), x).expect("shape");
        let logits: Vec<f64> = network
            .forward(x.view(), Mode::Eval)
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        assert_close(
            &format!("{name} f32 eval logits"),
            &logits,
            &floats(&expected, "logits_eval").1,
            1e-4,
        );
    }
}

#[test]
fn saving_pytorchs_weights_again_gives_the_same_tensors() {
    for name in FIXTURES {
        let bytes = fixture(&format!("{name}.safetensors"));
        let (metadata, mut network, _) = weights::load(&bytes).expect("loads");
        let again = weights::save(&mut network, &metadata).expect("saves");
        assert_eq!(
            StateDict::from_bytes(&again).expect("reads").tensors,
            StateDict::from_bytes(&bytes).expect("reads").tensors,
            "{name}"
        );
    }
}

#[test]
fn a_torchvision_structured_file_with_another_head_loads_with_a_fresh_head() {
    let state = StateDict::from_bytes(&fixture("resnet_torchvision.safetensors")).expect("reads");
    let ModelConfig::Cnn(file_config) = state.lab_metadata().expect("metadata").model.expect("config") else {
        panic!("a CNN")
    };
    // the same ResNet as the fixture (widths 4, 8, 8, 16, ImageNet stem) with 10 classes instead of 20
    let config: CnnConfig = ResnetConfig::resnet18(10)
        .with_widths([4, 8, 8, 16])
        .with_stem(Stem::ImageNet)
        .cnn();
    assert_eq!(
        config.layers[..config.layers.len() - 1],
        file_config.layers[..file_config.layers.len() - 1]
    );
    let mut network = config.build::<f32>(3).expect("builds");
    let error = weights::load_into(&mut network, &state, None).expect_err("the head differs");
    assert!(
        error
            .to_string()
            .contains("fc.weight: expected shape [10, 16], found [20, 16]"),
        "{error}"
    );
    let report = weights::load_into(&mut network, &state, Some("fc")).expect("loads all but the head");
    let message = report.new_head.expect("says the head was replaced");
    assert!(
        message.contains("fc.weight [20, 16]") && message.contains("fc.weight [10, 16]"),
        "{message}"
    );
    assert_eq!(report.tensors, state.tensors.len() - 2);
}
