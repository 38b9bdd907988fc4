//! The transfer experiment's machinery on small generated data: class subsets relabelled, a pretrained
//! backbone carried into the fine-tuned and frozen runs with a fresh head, three runs per labelled count.
use backprop_lab::data::{synthetic, Augmentation, SyntheticConfig};
use backprop_lab::model::{ResnetConfig, Stem};
use backprop_lab::transfer::{run_transfer, Phase, Start, TransferConfig, TransferRun};

#[test]
fn class_subsets_are_relabelled_in_order_and_limited_per_class() {
    let data = synthetic(&SyntheticConfig {
        seed: 2,
        train_size: 200,
        test_size: 10,
    });
    let subset = data.train.classes(&[7, 3], Some(4));
    assert_eq!(subset.len(), 8);
    let originals: Vec<usize> = (0..data.train.len())
        .filter(|&i| [7, 3].contains(&data.train.labels[i]))
        .collect();
    // the first four of each class, in file order, with 7 → 0 and 3 → 1
    let mut expected = Vec::new();
    let mut counts = [0, 0];
    for &i in &originals {
        let new = usize::from(data.train.labels[i] == 3);
        if counts[new] < 4 {
            counts[new] += 1;
            expected.push((i, new as u8));
        }
    }
    for (k, (i, label)) in expected.iter().enumerate() {
        assert_eq!(subset.labels[k], *label);
        assert_eq!(subset.image(k), data.train.image(*i));
    }
    assert_eq!(data.train.classes(&[7, 3], None).len(), originals.len());
}

#[test]
fn the_experiment_runs_three_starts_per_labelled_count() {
    let data = synthetic(&SyntheticConfig {
        seed: 5,
        train_size: 300,
        test_size: 60,
    });
    let network = ResnetConfig::resnet18(2)
        .with_widths([4, 4, 8, 8])
        .with_blocks([1, 1, 1, 1])
        .with_stem(Stem::Cifar)
        .cnn();
    let phase = |steps| Phase {
        steps,
        batch_size: 8,
        learning_rate: 1e-3,
        eval_every: 2,
    };
    let origin = std::time::Instant::now();
    let clock = || origin.elapsed().as_secs_f64() * 1000.0;
    let config = TransferConfig {
        network,
        source_classes: vec![0, 1, 2, 3, 4, 5],
        target_classes: vec![6, 7, 8, 9],
        labelled_per_class: vec![3, 5],
        pretrain: phase(3),
        downstream: phase(2),
        augmentation: Augmentation::default(),
        seed: 1,
    };
    let mut points = Vec::new();
    let result = run_transfer(&config, &data, &clock, &mut |phase, p| {
        points.push((phase.to_string(), p.step))
    })
    .expect("runs");
    assert_eq!(result.pretrain.curves.len(), 2);
    let runs: Vec<(usize, Start)> = result.downstream.iter().map(|r| (r.labelled_images, r.start)).collect();
    assert_eq!(
        runs,
        [
            (12, Start::Scratch),
            (12, Start::FrozenFeatures),
            (12, Start::FineTune),
            (20, Start::Scratch),
            (20, Start::FrozenFeatures),
            (20, Start::FineTune)
        ]
    );
    assert_eq!(points.len(), 2 + 6);
    for run in &result.downstream {
        assert!((0.0..=1.0).contains(&run.result.final_test_accuracy));
        assert!(run.result.step_milliseconds > 0.0);
    }
    // the pretrained start differs from scratch on the same images and seed
    assert_ne!(result.downstream[0].result.curves, result.downstream[2].result.curves);
}

/// A small experiment on generated data: a ResNet of widths 4–8, three steps of pretraining, two per run.
fn small_experiment(labelled_per_class: Vec<usize>) -> TransferConfig {
    let phase = |steps| Phase {
        steps,
        batch_size: 8,
        learning_rate: 1e-3,
        eval_every: 2,
    };
    TransferConfig {
        network: ResnetConfig::resnet18(2)
            .with_widths([4, 4, 8, 8])
            .with_blocks([1, 1, 1, 1])
            .with_stem(Stem::Cifar)
            .cnn(),
        source_classes: vec![0, 1, 2, 3, 4, 5],
        target_classes: vec![6, 7, 8, 9],
        labelled_per_class,
        pretrain: phase(3),
        downstream: phase(2),
        augmentation: Augmentation::default(),
        seed: 3,
    }
}

#[test]
fn stepping_the_experiment_by_hand_gives_the_loop_s_curves_and_the_caller_s_times() {
    let data = synthetic(&SyntheticConfig {
        seed: 6,
        train_size: 300,
        test_size: 60,
    });
    let config = small_experiment(vec![4]);
    let looped = run_transfer(&config, &data, &|| 0.0, &mut |_, _| {}).expect("runs");

    // a clock that moves 5 ms each time it is read
    let clock = std::cell::Cell::new(0.0);
    let now = || {
        clock.set(clock.get() + 5.0);
        clock.get()
    };
    let mut run = TransferRun::new(config, &data).expect("builds");
    let labels: Vec<&str> = run.plan().iter().map(|p| p.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "pretrain",
            "16 images, from scratch",
            "16 images, frozen features + new head",
            "16 images, full fine-tuning"
        ]
    );
    assert_eq!(run.steps(), (0, 3 + 3 * 2));
    let mut points = Vec::new();
    let mut calls = 0;
    while !run.is_finished() {
        let advance = run.step(&now).expect("steps");
        calls += 1;
        assert_eq!(run.steps().0, calls);
        points.extend(advance.point.map(|p| (advance.run, p.step)));
    }
    assert_eq!(calls, 9);
    assert_eq!(run.current_run(), None);
    assert_eq!(points, [(0, 2), (0, 3), (1, 2), (2, 2), (3, 2)]);
    assert!(run.step(&now).is_err(), "a finished experiment takes no more steps");
    let stepped = run.into_result().expect("finished");
    assert_eq!(stepped.pretrain.curves, looped.pretrain.curves);
    for (a, b) in stepped.downstream.iter().zip(&looped.downstream) {
        assert_eq!((a.start, a.labelled_images), (b.start, b.labelled_images));
        assert_eq!(a.result.curves, b.result.curves);
        // each step reads the clock twice (5 ms apart), so a step counts 5 ms
        assert_eq!(a.result.step_milliseconds, 5.0);
        assert!(a.result.wall_seconds > 0.0);
    }
}

#[test]
fn a_batch_larger_than_the_labelled_images_is_refused_before_any_training() {
    let data = synthetic(&SyntheticConfig {
        seed: 6,
        train_size: 300,
        test_size: 60,
    });
    // 1 image per class: 4 labelled images for a batch of 8
    let error = TransferRun::new(small_experiment(vec![1]), &data)
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("at most the 4 labelled target images"), "{error}");
    assert!(error.contains('8'), "{error}");
    let error = TransferRun::new(small_experiment(vec![]), &data)
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("at least one count"), "{error}");
}
