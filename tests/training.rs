//! Training end to end on the seeded synthetic data: learning, determinism, buffer reuse, optimizers and
//! clear errors for absurd configurations or a diverging loss.
use backprop_lab::data::{synthetic, Dataset, SyntheticConfig};
use backprop_lab::error::TrainError;
use backprop_lab::layers::Mode;
use backprop_lab::model::{CnnConfig, MlpConfig, ModelConfig, Normalization};
use backprop_lab::optim::OptimizerConfig;
use backprop_lab::train::{curves_csv, TrainConfig, Trainer};

fn small_data() -> Dataset {
    synthetic(&SyntheticConfig {
        seed: 7,
        train_size: 2000,
        test_size: 500,
    })
}

fn config(optimizer: OptimizerConfig, normalization: Normalization, steps: usize) -> TrainConfig {
    TrainConfig {
        model: ModelConfig::Mlp(MlpConfig {
            hidden: vec![64],
            normalization,
            ..MlpConfig::default()
        }),
        optimizer,
        batch_size: 100,
        steps,
        eval_every: 50,
        seed: 42,
        ..TrainConfig::default()
    }
}

fn run(config: TrainConfig, data: &Dataset) -> Trainer {
    let mut trainer = Trainer::new(config, data).expect("valid config");
    trainer.run(data, |_, _| {}).expect("training stays finite");
    trainer
}

#[test]
fn mlp_learns_the_synthetic_classes_well_above_chance() {
    let data = small_data();
    let trainer = run(config(OptimizerConfig::sgd(1e-3), Normalization::None, 300), &data);
    let last = trainer.curves().last().expect("curve points");
    assert!(
        last.test_accuracy > 0.3,
        "test accuracy {} after 300 steps (chance 0.1)",
        last.test_accuracy
    );
    let first = trainer.curves()[0];
    assert!(
        last.train_loss < first.train_loss,
        "train loss went from {} to {}",
        first.train_loss,
        last.train_loss
    );
}

#[test]
fn same_seed_gives_identical_curves_and_another_seed_does_not() {
    let data = small_data();
    let a = run(config(OptimizerConfig::sgd(1e-3), Normalization::None, 150), &data);
    let b = run(config(OptimizerConfig::sgd(1e-3), Normalization::None, 150), &data);
    assert_eq!(
        curves_csv(a.curves(), a.config()),
        curves_csv(b.curves(), b.config()),
        "same seed must give the same numbers bit for bit"
    );
    let c = run(
        TrainConfig {
            seed: 43,
            ..config(OptimizerConfig::sgd(1e-3), Normalization::None, 150)
        },
        &data,
    );
    assert_ne!(curves_csv(a.curves(), a.config()), curves_csv(c.curves(), c.config()));
}

#[test]
fn curves_have_a_point_every_eval_every_steps_and_at_the_end() {
    let data = small_data();
    let trainer = run(
        TrainConfig {
            steps: 120,
            ..config(OptimizerConfig::sgd(1e-3), Normalization::None, 120)
        },
        &data,
    );
    let steps: Vec<usize> = trainer.curves().iter().map(|p| p.step).collect();
    assert_eq!(steps, vec![50, 100, 120]);
    let csv = curves_csv(trainer.curves(), trainer.config());
    assert!(
        csv.starts_with("step,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,momentum,weight_decay\n")
    );
    assert_eq!(csv.lines().count(), 4);
}

#[test]
fn training_reuses_its_buffers_across_steps() {
    let data = small_data();
    let mlp = config(OptimizerConfig::adam(1e-3), Normalization::BatchNorm, 100);
    let cnn = TrainConfig {
        model: ModelConfig::Cnn(CnnConfig::small_cnn()),
        batch_size: 16,
        ..mlp.clone()
    };
    for config in [mlp, cnn] {
        assert_buffers_reused(config, &data);
    }
}

fn assert_buffers_reused(config: TrainConfig, data: &Dataset) {
    let mut trainer = Trainer::new(config, data).expect("valid");
    trainer.step(data).expect("finite");
    let layers = trainer.network().layers().len();
    let pointers = |t: &Trainer| -> Vec<*const f32> {
        (0..layers)
            .flat_map(|i| [t.network().activation(i).as_ptr(), t.network().grad_input(i).as_ptr()])
            .collect()
    };
    let before = pointers(&trainer);
    for _ in 0..5 {
        trainer.step(data).expect("finite");
    }
    // evaluation runs in chunks of the training batch through the same buffers
    trainer.evaluate(&data.test, Some(2 * trainer.config().batch_size));
    trainer.step(data).expect("finite");
    assert_eq!(
        before,
        pointers(&trainer),
        "activation and gradient buffers must not be reallocated between steps"
    );
}

#[test]
fn evaluation_leaves_parameters_and_running_statistics_alone() {
    let data = small_data();
    let mut trainer = Trainer::new(
        config(OptimizerConfig::adam(1e-3), Normalization::BatchNorm, 100),
        &data,
    )
    .expect("valid");
    for _ in 0..5 {
        trainer.step(&data).expect("finite");
    }
    let snapshot = |t: &mut Trainer| {
        let mut values = Vec::new();
        t.network_mut()
            .visit_params(&mut |_, p| values.extend_from_slice(p.value));
        t.network_mut()
            .visit_buffers(&mut |_, _, b| values.extend_from_slice(b));
        values
    };
    let before = snapshot(&mut trainer);
    let first = trainer.evaluate(&data.test, None);
    let second = trainer.evaluate(&data.test, None);
    assert_eq!(before, snapshot(&mut trainer));
    assert_eq!(first, second);
    assert_eq!(first.images, data.test.len());
}

#[test]
fn a_diverging_loss_stops_training_with_a_clear_message() {
    let data = small_data();
    let mut trainer =
        Trainer::new(config(OptimizerConfig::sgd(50.0), Normalization::None, 1000), &data).expect("valid");
    let error = trainer.run(&data, |_, _| {}).expect_err("lr 50 must diverge");
    assert!(matches!(error, TrainError::NonFiniteLoss { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("learning rate (50)") && message.contains("finite"),
        "{message}"
    );
    // parameters from before the failing step are kept: the network still evaluates
    let evaluation = trainer.evaluate(&data.test, Some(10));
    assert_eq!(evaluation.images, 10);
}

#[test]
fn absurd_hyperparameters_are_clear_errors() {
    let data = small_data();
    let base = config(OptimizerConfig::sgd(1e-3), Normalization::None, 10);
    let cases: Vec<(TrainConfig, &str)> = vec![
        (
            TrainConfig {
                batch_size: 0,
                ..base.clone()
            },
            "batch size: expected a number between 1 and 50000, found 0",
        ),
        (
            TrainConfig {
                batch_size: 5000,
                ..base.clone()
            },
            "batch size: expected at most the 2000 training images loaded, found 5000",
        ),
        (
            TrainConfig {
                steps: 0,
                ..base.clone()
            },
            "steps: expected",
        ),
        (
            TrainConfig {
                eval_every: 0,
                ..base.clone()
            },
            "eval every: expected at least 1 step, found 0",
        ),
        (
            TrainConfig {
                optimizer: OptimizerConfig::sgd(-1.0),
                ..base.clone()
            },
            "learning rate: expected a number in (0, 100], found -1",
        ),
        (
            TrainConfig {
                optimizer: OptimizerConfig::adam(f64::NAN),
                ..base.clone()
            },
            "learning rate: expected a number in (0, 100], found NaN",
        ),
        (
            TrainConfig {
                model: ModelConfig::Mlp(MlpConfig {
                    hidden: vec![100, 0],
                    ..MlpConfig::default()
                }),
                ..base.clone()
            },
            "hidden units: expected a width between 1 and 16384, found 0",
        ),
    ];
    for (config, expected) in cases {
        let message = match Trainer::new(config, &data) {
            Ok(_) => panic!("expected an error containing {expected:?}"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains(expected), "expected {expected:?}, found {message:?}");
    }
}

#[test]
fn adam_first_step_moves_each_parameter_by_about_the_learning_rate() {
    // m̂ = g, v̂ = g² on step 1, so every parameter with g ≠ 0 moves by lr·g/(|g| + ε) ≈ lr·sign(g)
    let data = small_data();
    let mut trainer = Trainer::new(config(OptimizerConfig::adam(1e-3), Normalization::None, 10), &data).expect("valid");
    let mut before = Vec::new();
    trainer
        .network_mut()
        .visit_params(&mut |_, p| before.extend_from_slice(p.value));
    trainer.step(&data).expect("finite");
    let mut after = Vec::new();
    let mut grads = Vec::new();
    trainer.network_mut().visit_params(&mut |_, p| {
        after.extend_from_slice(p.value);
        grads.extend_from_slice(p.grad);
    });
    for ((b, a), g) in before.iter().zip(&after).zip(&grads) {
        if g.abs() > 1e-3 {
            assert!(
                ((b - a) - 1e-3 * g.signum()).abs() < 1e-5,
                "moved {} for gradient {g}",
                b - a
            );
        }
    }
}

#[test]
fn sgd_with_momentum_follows_pytorch() {
    // b₁ = g₁, θ₁ = θ₀ − η b₁; the network is small so this is exact up to f32 rounding
    let data = small_data();
    let optimizer = OptimizerConfig::Sgd {
        learning_rate: 0.01,
        momentum: 0.9,
        weight_decay: 0.0,
        nesterov: false,
    };
    let mut trainer = Trainer::new(config(optimizer, Normalization::None, 10), &data).expect("valid");
    let mut before = Vec::new();
    trainer
        .network_mut()
        .visit_params(&mut |_, p| before.extend_from_slice(p.value));
    trainer.step(&data).expect("finite");
    let mut checked = 0;
    trainer.network_mut().visit_params(&mut |_, p| {
        for (&theta, &g) in p.value.iter().zip(p.grad.iter()) {
            let theta0 = before[checked];
            assert!((theta - (theta0 - 0.01 * g)).abs() <= 1e-6 * (1.0 + theta0.abs()));
            checked += 1;
        }
    });
    assert_eq!(checked, before.len());
    // the network evaluates in eval mode afterwards without touching training state
    trainer
        .network_mut()
        .forward(ndarray::Array2::zeros((1, 3072)).view(), Mode::Eval);
}
