//! Data-parallel training as the page's workers do it: each trainer computes its share of the batch,
//! every trainer applies the sum of all shares. It must match one trainer on the whole batch.
use backprop_lab::data::{self, Dataset, SyntheticConfig};
use backprop_lab::model::{MlpConfig, ModelConfig, Normalization};
use backprop_lab::optim::OptimizerConfig;
use backprop_lab::train::{run_data_parallel, PartialStep, TrainConfig, Trainer};

fn dataset() -> Dataset {
    data::synthetic(&SyntheticConfig {
        seed: 4,
        train_size: 300,
        test_size: 50,
    })
}

fn config(normalization: Normalization, optimizer: OptimizerConfig, batch_size: usize) -> TrainConfig {
    TrainConfig {
        model: ModelConfig::Mlp(MlpConfig {
            hidden: vec![20, 12],
            normalization,
            ..MlpConfig::default()
        }),
        optimizer,
        batch_size,
        steps: 40,
        eval_every: 10,
        seed: 9,
        ..TrainConfig::default()
    }
}

fn params(trainer: &mut Trainer) -> Vec<f32> {
    let mut values = Vec::new();
    trainer
        .network_mut()
        .visit_params(&mut |_, p| values.extend_from_slice(p.value));
    trainer
        .network_mut()
        .visit_buffers(&mut |_, _, b| values.extend_from_slice(b));
    values
}

/// Runs `steps` data-parallel steps on `workers` trainers; returns them and the losses.
fn parallel(config: &TrainConfig, data: &Dataset, workers: usize, steps: usize) -> (Vec<Trainer>, Vec<f64>) {
    let mut trainers: Vec<Trainer> = (0..workers)
        .map(|_| Trainer::new(config.clone(), data).unwrap())
        .collect();
    let mut losses = Vec::new();
    for _ in 0..steps {
        let shares: Vec<PartialStep> = trainers
            .iter_mut()
            .enumerate()
            .map(|(part, t)| t.partial_step(data, part, workers).unwrap())
            .collect();
        // As between workers: through bytes.
        let shares: Vec<PartialStep> = shares
            .iter()
            .map(|s| PartialStep::from_bytes(&s.to_bytes()).unwrap())
            .collect();
        for trainer in &mut trainers {
            let outcome = trainer.apply_partial_steps(&shares).unwrap();
            losses.push(outcome.loss);
        }
    }
    (trainers, losses)
}

#[test]
fn one_worker_is_the_plain_step_bit_for_bit() {
    let data = dataset();
    let config = config(Normalization::None, OptimizerConfig::adam(1e-3), 50);
    let mut plain = Trainer::new(config.clone(), &data).unwrap();
    let plain_losses: Vec<f64> = (0..8).map(|_| plain.step(&data).unwrap().loss).collect();
    let (mut trainers, losses) = parallel(&config, &data, 1, 8);
    assert_eq!(losses, plain_losses);
    assert_eq!(params(&mut trainers[0]), params(&mut plain));
}

#[test]
fn two_and_three_workers_match_one_within_f32_rounding() {
    let data = dataset();
    for optimizer in [OptimizerConfig::sgd(1e-3), OptimizerConfig::adam(1e-3)] {
        let config = config(Normalization::None, optimizer, 50);
        let mut plain = Trainer::new(config.clone(), &data).unwrap();
        let plain_losses: Vec<f64> = (0..10).map(|_| plain.step(&data).unwrap().loss).collect();
        let reference = params(&mut plain);
        for workers in [2, 3] {
            let (mut trainers, losses) = parallel(&config, &data, workers, 10);
            // The first step sees the same parameters: the loss agrees to f32 rounding. Later steps drift apart
            // as rounding differences are amplified by training (raw-pixel inputs, Adam's normalised steps).
            for (step, chunk) in losses.chunks(workers).enumerate() {
                let tolerance = if step == 0 { 1e-6 } else { 1e-2 };
                for loss in chunk {
                    assert!(
                        (loss - plain_losses[step]).abs() <= tolerance * plain_losses[step].abs(),
                        "{workers} workers, step {step}: {loss} vs {}",
                        plain_losses[step]
                    );
                }
            }
            let first = params(&mut trainers[0]);
            for trainer in &mut trainers[1..] {
                assert_eq!(params(trainer), first, "every worker holds the same parameters");
            }
            let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = first
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst <= 1e-2 * scale,
                "{workers} workers: parameters differ by {worst} (scale {scale})"
            );
        }
        // After one step from the same initial parameters, the parameters agree to f32 rounding.
        let mut plain = Trainer::new(config.clone(), &data).unwrap();
        plain.step(&data).unwrap();
        let reference = params(&mut plain);
        for workers in [2, 3] {
            let (mut trainers, _) = parallel(&config, &data, workers, 1);
            let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = params(&mut trainers[0])
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst <= 1e-6 * scale,
                "{workers} workers, one step: parameters differ by {worst}"
            );
        }
    }
}

#[test]
fn with_batch_norm_the_workers_stay_identical_and_train() {
    let data = dataset();
    let config = config(Normalization::BatchNorm, OptimizerConfig::adam(1e-3), 60);
    let (mut trainers, losses) = parallel(&config, &data, 2, 30);
    let (a, b) = trainers.split_at_mut(1);
    assert_eq!(params(&mut a[0]), params(&mut b[0]));
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[losses.len() - 1] < losses[0], "the loss goes down: {losses:?}");
    let evaluation = a[0].evaluate(&data.test, None);
    assert!(evaluation.loss.is_finite());
}

#[test]
fn malformed_shares_are_refused_with_a_reason() {
    let data = dataset();
    let config = config(Normalization::None, OptimizerConfig::sgd(1e-3), 50);
    let mut trainer = Trainer::new(config.clone(), &data).unwrap();
    let share = trainer.partial_step(&data, 0, 2).unwrap();
    let bytes = share.to_bytes();
    let error = PartialStep::from_bytes(&bytes[..bytes.len() - 3])
        .unwrap_err()
        .to_string();
    assert!(error.contains("expected the bytes of a training share"), "{error}");
    // Half the batch is not a step.
    let error = trainer
        .apply_partial_steps(std::slice::from_ref(&share))
        .unwrap_err()
        .to_string();
    assert!(error.contains("covering the batch of 50 rows"), "{error}");
    assert_eq!(trainer.steps_done(), 0);
    let error = trainer.partial_step(&data, 2, 2).unwrap_err().to_string();
    assert!(error.contains("part 2 of 2"), "{error}");
}

#[test]
fn threads_give_the_same_numbers_as_taking_the_shares_in_turn() {
    let data = dataset();
    let config = TrainConfig {
        steps: 12,
        eval_every: 4,
        ..config(Normalization::BatchNorm, OptimizerConfig::adam(1e-3), 60)
    };
    let (mut in_turn, losses) = parallel(&config, &data, 2, 12);
    let mut threaded: Vec<Trainer> = (0..2).map(|_| Trainer::new(config.clone(), &data).unwrap()).collect();
    let mut threaded_losses = Vec::new();
    let mut points = 0;
    run_data_parallel(&mut threaded, &data, |outcome, point| {
        threaded_losses.push(outcome.loss);
        points += usize::from(point.is_some());
    })
    .unwrap();
    let in_turn_losses: Vec<f64> = losses.chunks(2).map(|c| c[0]).collect();
    assert_eq!(threaded_losses, in_turn_losses);
    assert_eq!(points, 3);
    assert_eq!(threaded[0].curves().len(), 3);
    assert_eq!(params(&mut threaded[0]), params(&mut in_turn[0]));
    assert_eq!(params(&mut threaded[1]), params(&mut in_turn[0]));
}

#[test]
fn threads_share_the_test_evaluation_and_get_the_one_trainer_numbers() {
    // batch 8: the 50 test images are 7 chunks, split 2 / 2 / 3 over three threads; the point recorded at the
    // end must be, bit for bit, one trainer's evaluation with the same parameters
    let data = dataset();
    let config = TrainConfig {
        steps: 6,
        eval_every: 3,
        ..config(Normalization::BatchNorm, OptimizerConfig::adam(1e-3), 8)
    };
    let (mut in_turn, _) = parallel(&config, &data, 3, 6);
    let mut threaded: Vec<Trainer> = (0..3).map(|_| Trainer::new(config.clone(), &data).unwrap()).collect();
    run_data_parallel(&mut threaded, &data, |_, _| {}).unwrap();
    assert_eq!(threaded[0].evaluation_chunks(data.test.len()), 7);
    let last = *threaded[0].curves().last().unwrap();
    let alone = in_turn[0].evaluate(&data.test, None);
    assert_eq!(
        (last.step, last.test_loss, last.test_accuracy),
        (6, alone.loss, alone.accuracy)
    );
    // the chunks in any grouping add up to the same evaluation
    let count = data.test.len();
    let mut sums = in_turn[0].evaluate_chunks(&data.test, count, 0..3);
    sums.extend(in_turn[0].evaluate_chunks(&data.test, count, 3..7));
    let grouped = backprop_lab::train::Evaluation::from_chunks(&sums, count);
    assert_eq!(
        (grouped.loss, grouped.accuracy, grouped.images),
        (alone.loss, alone.accuracy, 50)
    );
}
