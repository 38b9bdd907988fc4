//! Weights in and out as safetensors: PyTorch's names and shapes, round trips, and every kind of bad file
//! refused with a clear message and the model left untouched.
use backprop_lab::layers::Mode;
use backprop_lab::model::{CnnConfig, MlpConfig, ModelConfig, Network, Normalization};
use backprop_lab::weights::{self, InputNormalization, StateDict, WeightsError, WeightsMetadata};
use ndarray::Array2;

fn mlp_config() -> ModelConfig {
    ModelConfig::Mlp(MlpConfig {
        input_features: 12,
        hidden: vec![8, 6],
        classes: 4,
        normalization: Normalization::BatchNorm,
        ..MlpConfig::default()
    })
}

fn tiny_cnn() -> CnnConfig {
    CnnConfig {
        input: (3, 8, 8),
        ..CnnConfig::small_cnn()
    }
}

fn metadata(model: &ModelConfig) -> WeightsMetadata {
    WeightsMetadata {
        model: Some(model.clone()),
        input: InputNormalization::CourseMeanImage,
    }
}

fn inputs(rows: usize, features: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, features), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.3 - 1.5)
}

/// Trains one step's worth of BatchNorm statistics so the running buffers are not their initial values.
fn warm_up(network: &mut Network<f32>, rows: usize) {
    let x = inputs(rows, network.input_features());
    network.forward(x.view(), Mode::Train);
}

fn state_values(network: &mut Network<f32>) -> Vec<(String, Vec<f32>)> {
    let mut values = Vec::new();
    network.visit_state(&mut |t| {
        let v = match t.values {
            backprop_lab::layers::StateValues::Learned(v) | backprop_lab::layers::StateValues::Buffer(v) => v.to_vec(),
            backprop_lab::layers::StateValues::Count(c) => vec![*c as f32],
        };
        values.push((t.name, v));
    });
    values
}

fn saved(model: &ModelConfig, seed: u64) -> (Network<f32>, Vec<u8>) {
    let mut network = model.build::<f32>(seed).expect("valid config");
    warm_up(&mut network, 5);
    let bytes = weights::save(&mut network, &metadata(model)).expect("saves");
    (network, bytes)
}

#[test]
fn mlp_state_dict_has_pytorch_sequential_names_and_shapes() {
    let (_, bytes) = saved(&mlp_config(), 1);
    let listing = weights::inspect(&bytes).expect("inspects");
    let names: Vec<(&str, &str, Vec<usize>)> = listing
        .tensors
        .iter()
        .map(|t| (t.name.as_str(), t.dtype.as_str(), t.shape.clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("0.bias", "F32", vec![8]),
            ("0.weight", "F32", vec![8, 12]),
            ("1.bias", "F32", vec![8]),
            ("1.num_batches_tracked", "I64", vec![]),
            ("1.running_mean", "F32", vec![8]),
            ("1.running_var", "F32", vec![8]),
            ("1.weight", "F32", vec![8]),
            ("3.bias", "F32", vec![6]),
            ("3.weight", "F32", vec![6, 8]),
            ("4.bias", "F32", vec![6]),
            ("4.num_batches_tracked", "I64", vec![]),
            ("4.running_mean", "F32", vec![6]),
            ("4.running_var", "F32", vec![6]),
            ("4.weight", "F32", vec![6]),
            ("6.bias", "F32", vec![4]),
            ("6.weight", "F32", vec![4, 6]),
        ]
    );
    assert!(listing.metadata.iter().any(|(k, v)| k == "format" && v == "pt"));
    assert!(listing.to_string().contains("1.running_var"));
}

#[test]
fn every_parameter_and_buffer_is_in_the_state_dict() {
    for model in [
        mlp_config(),
        ModelConfig::Cnn(tiny_cnn()),
        ModelConfig::Cnn(CnnConfig::convnet()),
    ] {
        let mut network = model.build::<f32>(3).expect("valid config");
        let mut params_and_buffers = 0;
        network.visit_params(&mut |_, p| params_and_buffers += p.value.len());
        network.visit_buffers(&mut |_, _, b| params_and_buffers += b.len());
        let mut floats = 0;
        network.visit_state(&mut |t| {
            if !matches!(t.values, backprop_lab::layers::StateValues::Count(_)) {
                floats += t.len();
            }
        });
        assert_eq!(floats, params_and_buffers, "{model:?}");
    }
}

#[test]
fn a_file_alone_rebuilds_its_model_with_identical_state_and_logits() {
    for model in [mlp_config(), ModelConfig::Cnn(tiny_cnn())] {
        let (mut original, bytes) = saved(&model, 7);
        let (meta, mut loaded, report) = weights::load(&bytes).expect("loads");
        assert_eq!(meta.model.as_ref(), Some(&model));
        assert_eq!(report.new_head, None);
        assert_eq!(state_values(&mut loaded), state_values(&mut original));
        let x = inputs(3, original.input_features());
        let expected = original.forward(x.view(), Mode::Eval).to_owned();
        assert_eq!(loaded.forward(x.view(), Mode::Eval), expected);
    }
}

#[test]
fn load_into_copies_every_tensor_of_a_matching_model() {
    let model = ModelConfig::Cnn(tiny_cnn());
    let (mut original, bytes) = saved(&model, 11);
    let mut other = model.build::<f32>(12).expect("valid");
    assert_ne!(state_values(&mut other), state_values(&mut original));
    let state = StateDict::from_bytes(&bytes).expect("reads");
    let report = weights::load_into(&mut other, &state, None).expect("matches");
    assert_eq!(report.tensors, state.tensors.len());
    assert_eq!(state_values(&mut other), state_values(&mut original));
}

/// Loads `bytes` into a fresh MLP, asserts the load fails, the model is untouched, and returns the message.
fn refused(bytes: &[u8]) -> String {
    let mut network = mlp_config().build::<f32>(5).expect("valid");
    let before = state_values(&mut network);
    let error = StateDict::from_bytes(bytes).and_then(|state| weights::load_into(&mut network, &state, None));
    let message = error.expect_err("a bad file must be refused").to_string();
    assert_eq!(state_values(&mut network), before, "the model changed: {message}");
    assert!(weights::load(bytes).is_err());
    message
}

/// The message of a `load` that must fail.
fn load_error(bytes: &[u8]) -> String {
    match weights::load(bytes) {
        Ok(_) => panic!("the file should have been refused"),
        Err(e) => e.to_string(),
    }
}

/// A safetensors file with the given header JSON and data bytes.
fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

#[test]
fn a_file_that_is_not_safetensors_is_refused() {
    let message = refused(b"\x89PNG\r\n\x1a\n not a weights file at all");
    assert!(message.contains("expected a safetensors file"), "{message}");
    let message = refused(b"abc");
    assert!(message.contains("fewer than the 8 bytes"), "{message}");
    let message = refused(&raw_file("{not json", &[]));
    assert!(message.contains("not its JSON"), "{message}");
}

#[test]
fn a_truncated_file_is_refused() {
    let (_, bytes) = saved(&mlp_config(), 1);
    let message = refused(&bytes[..bytes.len() - 10]);
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn a_header_claiming_more_bytes_than_the_file_is_refused() {
    let (_, mut bytes) = saved(&mlp_config(), 1);
    bytes[..8].copy_from_slice(&(1_000_000u64).to_le_bytes());
    let message = refused(&bytes);
    assert!(message.contains("header length larger than the file"), "{message}");
}

#[test]
fn a_wrong_dtype_is_named() {
    let header = r#"{"0.weight":{"dtype":"F16","shape":[8,12],"data_offsets":[0,192]}}"#;
    let message = refused(&raw_file(header, &[0; 192]));
    assert!(message.contains("`0.weight`: expected dtype F32"), "{message}");
    assert!(message.contains("found F16"), "{message}");
}

#[test]
fn absurd_shapes_are_refused() {
    let header = r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#;
    let message = refused(&raw_file(header, &[0; 4]));
    assert!(message.contains("overflows"), "{message}");
    let header = r#"{"w":{"dtype":"F32","shape":[1,1,1,1,1],"data_offsets":[0,4]}}"#;
    let message = refused(&raw_file(header, &[0; 4]));
    assert!(message.contains("at most 4 dimensions"), "{message}");
}

#[test]
fn missing_extra_and_misshapen_tensors_are_all_listed() {
    // the file of a 12-8-6-4 MLP against a 12-8-5-4 model: 3.*, 4.* and 6.weight differ
    let (_, bytes) = saved(&mlp_config(), 1);
    let mut network = ModelConfig::Mlp(MlpConfig {
        input_features: 12,
        hidden: vec![8, 5],
        classes: 4,
        normalization: Normalization::BatchNorm,
        ..MlpConfig::default()
    })
    .build::<f32>(2)
    .expect("valid");
    let before = state_values(&mut network);
    let state = StateDict::from_bytes(&bytes).expect("reads");
    let error = weights::load_into(&mut network, &state, None).expect_err("mismatch");
    let WeightsError::Mismatch(list) = &error else {
        panic!("{error}")
    };
    let names: Vec<&str> = list.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "3.weight",
            "3.bias",
            "4.weight",
            "4.bias",
            "4.running_mean",
            "4.running_var",
            "6.weight"
        ]
    );
    let message = error.to_string();
    assert!(
        message.contains("3.weight: expected shape [5, 8], found [6, 8]"),
        "{message}"
    );
    assert_eq!(state_values(&mut network), before);

    // a model without BatchNorm (Linear, ELU, Linear, …): the indices shift, every tensor is named
    let mut plain = ModelConfig::Mlp(MlpConfig {
        input_features: 12,
        hidden: vec![8, 6, 6],
        classes: 4,
        ..MlpConfig::default()
    })
    .build::<f32>(2)
    .expect("valid");
    let message = weights::load_into(&mut plain, &state, None)
        .expect_err("mismatch")
        .to_string();
    assert!(
        message.contains("1.running_mean: not in the model, found shape [8] in the file"),
        "{message}"
    );
    assert!(
        message.contains("2.weight: expected shape [6, 8], missing from the file"),
        "{message}"
    );
    assert!(
        message.contains("4.weight: expected shape [6, 6], found [6]"),
        "{message}"
    );
    assert!(message.contains("(13 mismatched)"), "{message}");
}

#[test]
fn a_file_without_the_lab_configuration_cannot_rebuild_a_model() {
    let model = mlp_config();
    let mut network = model.build::<f32>(1).expect("valid");
    let bytes = weights::save(&mut network, &WeightsMetadata::default()).expect("saves");
    let message = load_error(&bytes);
    assert!(message.contains("backprop_lab.model"), "{message}");
    // but it loads into the right model
    let state = StateDict::from_bytes(&bytes).expect("reads");
    weights::load_into(&mut model.build::<f32>(2).expect("valid"), &state, None).expect("matches");
}

#[test]
fn an_invalid_configuration_in_the_metadata_is_refused() {
    let (mut network, _) = saved(&mlp_config(), 1);
    let absurd = ModelConfig::Mlp(MlpConfig {
        hidden: vec![1 << 30],
        ..MlpConfig::default()
    });
    let bytes = weights::save(&mut network, &metadata(&absurd)).expect("saves");
    let message = load_error(&bytes);
    assert!(message.contains("hidden units"), "{message}");
}

#[test]
fn the_input_normalisation_comes_from_the_metadata_or_from_torchvision_names() {
    use backprop_lab::weights::{StoredTensor, StoredValues, INPUT_KEY};
    let tensor = || StoredTensor {
        shape: vec![1],
        values: StoredValues::F32(vec![0.0]),
    };
    let mut state = StateDict::default();
    for name in ["conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "fc.weight"] {
        state.tensors.insert(name.to_string(), tensor());
    }
    // torchvision's ResNet names and no lab key: ImageNet's mean and std
    assert_eq!(state.lab_metadata().unwrap().input, InputNormalization::ImageNet);
    // the lab's key decides
    state.metadata.insert(INPUT_KEY.into(), "course-mean-image".into());
    assert_eq!(state.lab_metadata().unwrap().input, InputNormalization::CourseMeanImage);
    state.metadata.insert(INPUT_KEY.into(), "sepia".into());
    let message = state.lab_metadata().unwrap_err().to_string();
    assert!(
        message.contains("expected course-mean-image or imagenet, found `sepia`"),
        "{message}"
    );
    // other PyTorch files: the course's mean image
    let mut plain = StateDict::default();
    plain.tensors.insert("0.weight".into(), tensor());
    assert_eq!(plain.lab_metadata().unwrap().input, InputNormalization::CourseMeanImage);
}
