//! The CNN presets: the course's ConvNet exactly as its layer table, the small CNN, and clear errors for
//! malformed shapes.
use backprop_lab::model::{CnnConfig, LayerSpec, ModelConfig};

#[test]
fn convnet_follows_the_course_layer_table() {
    let summary = CnnConfig::convnet().summary().expect("valid");
    // spatial size 32 → 16 → 8 → 4 → 2 → 1 across the five max-pools
    let pooled: Vec<(usize, usize, usize)> = summary
        .iter()
        .filter(|s| s.name.starts_with("MaxPool"))
        .map(|s| s.output)
        .collect();
    assert_eq!(
        pooled,
        vec![(128, 16, 16), (256, 8, 8), (512, 4, 4), (512, 2, 2), (512, 1, 1)]
    );
    assert_eq!(summary.last().expect("layers").output, (10, 1, 1));
    // parameters from the table: conv0, PreAct blocks (BN γ,β + 3×3 conv with bias), 1×1 convs, final BN, linear
    let conv = |cin: usize, cout: usize, k: usize| cin * cout * k * k + cout;
    let preact = |c: usize| 2 * c + conv(c, c, 3);
    let expected = conv(3, 64, 3)
        + preact(64)
        + conv(64, 128, 1)
        + 2 * preact(128)
        + conv(128, 256, 1)
        + 2 * preact(256)
        + conv(256, 512, 1)
        + 4 * preact(512)
        + 2 * 512
        + (512 * 10 + 10);
    let parameters: usize = summary.iter().map(|s| s.parameters).sum();
    assert_eq!(parameters, expected);
    assert!(
        (11_000_000..11_200_000).contains(&parameters),
        "about 11.1 M parameters, found {parameters}"
    );
    // about 310 M multiply-adds per image forward
    let macs = ModelConfig::Cnn(CnnConfig::convnet())
        .forward_multiply_adds()
        .expect("valid");
    assert!((300_000_000..320_000_000).contains(&macs), "{macs} multiply-adds");
}

#[test]
fn small_cnn_ends_in_class_scores_and_costs_far_less_than_the_convnet() {
    let config = CnnConfig::small_cnn();
    let summary = config.summary().expect("valid");
    assert_eq!(summary.last().expect("layers").output, (10, 1, 1));
    let small = ModelConfig::Cnn(config).training_flops_per_image().expect("valid");
    let convnet = ModelConfig::Cnn(CnnConfig::convnet())
        .training_flops_per_image()
        .expect("valid");
    assert!(
        small * 20 < convnet,
        "small CNN {small} FLOP/image vs ConvNet {convnet}"
    );
    let network = CnnConfig::small_cnn().build::<f32>(1).expect("builds");
    assert_eq!(network.input_features(), 3072);
}

#[test]
fn malformed_cnn_configs_are_clear_errors() {
    let base = CnnConfig::small_cnn();
    let cases = [
        (
            vec![LayerSpec::Conv {
                out_channels: 8,
                kernel: 40,
                stride: 1,
                padding: 0,
                bias: true,
            }],
            "kernel",
        ),
        (
            vec![LayerSpec::Conv {
                out_channels: 0,
                kernel: 3,
                stride: 1,
                padding: 1,
                bias: true,
            }],
            "output channels",
        ),
        (
            vec![LayerSpec::Conv {
                out_channels: 8,
                kernel: 3,
                stride: 0,
                padding: 1,
                bias: true,
            }],
            "stride",
        ),
        (vec![LayerSpec::Relu], "last layer"),
    ];
    for (layers, expected) in cases {
        let config = CnnConfig {
            layers: layers.clone(),
            ..base.clone()
        };
        let message = match config.build::<f32>(0) {
            Ok(_) => panic!("{layers:?} should be rejected"),
            Err(e) => e.to_string(),
        };
        assert!(
            message.contains(expected) && message.contains("expected"),
            "{layers:?}: {message}"
        );
    }
}

#[test]
fn small_cnn_recipe_fits_the_15_tflop_budget() {
    use backprop_lab::train::TrainConfig;
    let recipe = TrainConfig::small_cnn();
    recipe.validate().expect("the recipe is valid");
    let flops = recipe.training_flops().expect("valid");
    assert!(flops as f64 <= 1.5e13, "{flops:e} FLOP");
    assert!(!recipe.augmentation.is_none());
    assert!(
        TrainConfig::convnet().augmentation.is_none(),
        "the course trained without augmentation"
    );
}
