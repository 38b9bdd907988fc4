//! torchvision's BasicBlock and ResNet-18/34 built from the lab's layers: gradient checks of both shortcut
//! kinds (f64), parameter counts, torchvision's state-dict names.
use backprop_lab::gradcheck::{check_layer, random_normal, Criterion};
use backprop_lab::layers::{BasicBlock, Layer, LinearInit, Mode};
use backprop_lab::model::{ResnetConfig, Stem};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// BatchNorm inside the block: checked as PyTorch's gradcheck checks it (see the standard suite).
const CRITERION: Criterion = Criterion::AllClose { atol: 1e-5, rtol: 1e-3 };

fn check_block(in_channels: usize, out_channels: usize, stride: usize, mode: Mode) {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut block = BasicBlock::<f64>::new(in_channels, out_channels, stride, (5, 5), LinearInit::PyTorch, &mut rng)
        .expect("valid");
    assert_eq!(block.projection.is_some(), stride != 1 || in_channels != out_channels);
    if mode == Mode::Eval {
        // running statistics away from 0 and 1
        let x = random_normal(&mut rng, 4, in_channels * 25);
        let mut y = ndarray::Array2::zeros((0, 0));
        block.forward(x.view(), &mut y, Mode::Train);
    }
    let x = random_normal(&mut rng, 3, in_channels * 25);
    let rows = check_layer(&mut block, &x, mode, CRITERION, 1e-6, &mut rng);
    // input, then conv1, bn1 (γ, β), conv2, bn2 (γ, β) and, with a projection, its conv and BN (γ, β)
    assert_eq!(rows.len(), if block.projection.is_some() { 10 } else { 7 });
    for row in rows {
        assert!(row.passed, "{row:#?}");
    }
}

#[test]
fn basic_block_with_identity_shortcut_passes_the_gradient_check() {
    check_block(3, 3, 1, Mode::Train);
    check_block(3, 3, 1, Mode::Eval);
}

#[test]
fn basic_block_with_projection_shortcut_passes_the_gradient_check() {
    check_block(2, 4, 2, Mode::Train);
    check_block(2, 4, 2, Mode::Eval);
    check_block(2, 3, 1, Mode::Train);
}

fn parameters(config: &ResnetConfig) -> usize {
    config
        .cnn()
        .summary()
        .expect("valid")
        .iter()
        .map(|s| s.parameters)
        .sum()
}

#[test]
fn resnet34_with_a_10_class_head_has_21_289_802_parameters() {
    assert_eq!(parameters(&ResnetConfig::resnet34(10)), 21_289_802);
    assert_eq!(parameters(&ResnetConfig::resnet18(10)), 11_181_642);
    assert_eq!(parameters(&ResnetConfig::resnet18(1000)), 11_689_512);
}

#[test]
fn resnet_shapes_follow_torchvision_and_the_cifar_stem() {
    let summary = ResnetConfig::resnet18(10).cnn().summary().expect("valid");
    // stem 7×7/2 → 16×16, max-pool 3×3/2 → 8×8, stages 8, 4, 2, 1
    let shapes: Vec<(usize, usize, usize)> = summary.iter().map(|s| s.output).collect();
    assert_eq!(shapes[0], (64, 16, 16));
    assert_eq!(shapes[3], (64, 8, 8));
    assert_eq!(shapes[4 + 2], (128, 4, 4));
    assert_eq!(shapes[4 + 8 - 1], (512, 1, 1));
    let cifar = ResnetConfig::resnet18(10)
        .with_stem(Stem::Cifar)
        .cnn()
        .summary()
        .expect("valid");
    assert_eq!(cifar[0].output, (64, 32, 32));
    assert_eq!(cifar.len(), summary.len() - 1, "no max-pool");
    assert_eq!(cifar[3 + 7].output, (512, 4, 4));
}

#[test]
fn resnet_state_dict_has_torchvision_names() {
    for (config, tensors) in [(ResnetConfig::resnet18(10), 122), (ResnetConfig::resnet34(10), 218)] {
        let small = config.with_widths([2, 4, 4, 8]);
        let mut network = small.cnn().build::<f32>(0).expect("builds");
        let mut names = Vec::new();
        network.visit_state(&mut |t| names.push((t.name, t.shape)));
        assert_eq!(names.len(), tensors);
        for (name, shape) in [
            ("conv1.weight", vec![2, 3, 7, 7]),
            ("bn1.num_batches_tracked", vec![]),
            ("layer1.0.conv1.weight", vec![2, 2, 3, 3]),
            ("layer1.1.bn2.running_var", vec![2]),
            ("layer2.0.downsample.0.weight", vec![4, 2, 1, 1]),
            ("layer2.0.downsample.1.weight", vec![4]),
            ("layer4.0.conv1.weight", vec![8, 4, 3, 3]),
            ("fc.weight", vec![10, 8]),
            ("fc.bias", vec![10]),
        ] {
            assert!(
                names.contains(&(name.to_string(), shape.clone())),
                "{name} {shape:?} in {names:?}"
            );
        }
        assert!(!names.iter().any(|(n, _)| n.starts_with("layer1.0.downsample")));
    }
}

#[test]
fn the_reports_resnet34_recipe_is_a_valid_preset() {
    use backprop_lab::train::{Schedule, TrainConfig};
    let preset = TrainConfig::resnet34_fine_tuning();
    assert_eq!((preset.batch_size, preset.steps, preset.eval_every), (32, 5000, 500));
    assert_eq!(preset.optimizer.learning_rate(), 1e-3);
    assert_eq!(
        preset.schedule,
        Schedule::Step {
            every: 1500,
            factor: 0.1
        }
    );
    assert_eq!(preset.schedule.factor(1499, 5000), 1.0);
    assert!((preset.schedule.factor(3000, 5000) - 0.01).abs() < 1e-12);
    preset.validate().expect("fits the memory budget and validates");
}

#[test]
fn the_page_s_form_builds_resnet18_and_trains_a_step() {
    use backprop_lab::data::{synthetic, SyntheticConfig};
    use backprop_lab::session::{PageConfig, Request, Response, Session};
    let data = synthetic(&SyntheticConfig {
        seed: 1,
        train_size: 20,
        test_size: 10,
    });
    let config = PageConfig::from_query("model=resnet18&batch=4&steps=1&eval=1").expect("a valid link");
    assert_eq!(config.to_query().split('&').next(), Some("model=resnet18"));
    let mut session = Session::new(data, config);
    let now = || 0.0;
    let Response::State(state) = session.dispatch(Request::State, &[], &[], &now).response else {
        panic!("expected the state");
    };
    assert_eq!((state.parameters, state.problem), (11_181_642, None));
    let Response::Progress(progress) = session
        .dispatch(
            Request::Step {
                steps: 1,
                budget_ms: f64::INFINITY,
            },
            &[],
            &[],
            &now,
        )
        .response
    else {
        panic!("expected progress");
    };
    assert_eq!(
        (progress.steps_done, progress.finished, progress.stopped),
        (1, true, None)
    );
    assert_eq!(progress.points.len(), 1);
}
