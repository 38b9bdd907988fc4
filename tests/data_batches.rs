//! From loaded images to the network's batches, as `cifar10_utils.py` does it: the training mean image
//! subtracted at raw pixel scale, the course's `next_batch` order, and the synthetic data set the tests and
//! the page use instead of the real files.
use backprop_lab::data::{synthetic, BatchSampler, Preprocessor, Split, SyntheticConfig, PIXELS};
use ndarray::Array2;

// ---------------------------------------------------------------------------------------------------------
// Preprocessing as in cifar10_utils: subtract the TRAINING mean image, raw pixel scale, CHW flattened

/// Three training images and one test image with known pixels.
fn handmade() -> (Split, Split) {
    let mut train = Split::default();
    let mut image = vec![10u8; PIXELS];
    image[0] = 255; // R plane, (0, 0)
    image[1024] = 0; // G plane, (0, 0)
    train.push(&image, 3);
    train.push(&[20; PIXELS], 1);
    train.push(&[31; PIXELS], 9);
    let mut test = Split::default();
    let mut image = vec![200u8; PIXELS];
    image[PIXELS - 1] = 7; // B plane, (31, 31)
    test.push(&image, 0);
    (train, test)
}

#[test]
fn mean_image_is_the_exact_per_pixel_training_mean() {
    let (train, _) = handmade();
    let preprocessor = Preprocessor::new(&train);
    assert_eq!(preprocessor.mean_image.len(), 3072);
    assert_eq!(preprocessor.mean_image[0], ((255 + 20 + 31) as f64 / 3.0) as f32); // 102
    assert_eq!(preprocessor.mean_image[1024], ((20 + 31) as f64 / 3.0) as f32); // 17 (exactly 17.0)
    assert_eq!(preprocessor.mean_image[1], ((10 + 20 + 31) as f64 / 3.0) as f32); // 20.333…
    assert_eq!(preprocessor.mean_image[3071], preprocessor.mean_image[1]);
}

#[test]
fn train_and_test_both_have_the_training_mean_subtracted_at_raw_scale() {
    let (train, test) = handmade();
    let preprocessor = Preprocessor::new(&train);
    let mean_rest = ((10 + 20 + 31) as f64 / 3.0) as f32;

    let mut x = Array2::<f32>::zeros((0, 0));
    let mut labels = Vec::new();
    preprocessor.fill_batch(&train, &[2, 0], &mut x, &mut labels);
    assert_eq!(x.dim(), (2, 3072));
    assert_eq!(labels, [9, 3]);
    assert_eq!(x[[1, 0]], 255.0 - 102.0, "no /255: raw pixel scale");
    assert_eq!(x[[1, 1024]], 0.0 - 17.0);
    assert_eq!(x[[0, 5]], 31.0 - mean_rest);

    let mut x64 = Array2::<f64>::zeros((0, 0));
    preprocessor.fill_batch(&test, &[0], &mut x64, &mut labels);
    assert_eq!(labels, [0]);
    assert_eq!(x64[[0, 0]], f64::from(200.0f32 - 102.0), "test uses the TRAINING mean");
    assert_eq!(
        x64[[0, 3071]],
        f64::from(7.0f32 - mean_rest),
        "CHW flattened: the last input is B at (31, 31)"
    );
}

#[test]
fn fill_batch_reuses_the_buffer_when_the_shape_fits() {
    let (train, _) = handmade();
    let preprocessor = Preprocessor::new(&train);
    let mut x = Array2::<f32>::zeros((2, 3072));
    let buffer = x.as_ptr();
    let mut labels = Vec::new();
    preprocessor.fill_batch(&train, &[1, 2], &mut x, &mut labels);
    assert_eq!(x.as_ptr(), buffer, "same shape: no reallocation");
    preprocessor.fill_batch(&train, &[0, 1, 2], &mut x, &mut labels);
    assert_eq!(x.dim(), (3, 3072), "other batch size: resized");
    assert_eq!(labels, [3, 1, 9]);
}

#[test]
fn mean_of_the_preprocessed_training_set_is_zero() {
    let dataset = synthetic(&SyntheticConfig {
        seed: 7,
        train_size: 30,
        test_size: 10,
    });
    let preprocessor = Preprocessor::new(&dataset.train);
    let all: Vec<usize> = (0..dataset.train.len()).collect();
    let (mut x, mut labels) = (Array2::<f64>::zeros((0, 0)), Vec::new());
    preprocessor.fill_batch(&dataset.train, &all, &mut x, &mut labels);
    let largest_column_mean = x
        .mean_axis(ndarray::Axis(0))
        .unwrap()
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        largest_column_mean < 1e-4,
        "largest |column mean| {largest_column_mean}"
    );
    assert_eq!(
        labels.iter().map(|&l| l as u8).collect::<Vec<_>>(),
        dataset.train.labels
    );
}

// ---------------------------------------------------------------------------------------------------------
// BatchSampler: the course's next_batch

#[test]
fn first_epoch_is_in_file_order_and_the_partial_batch_is_dropped() {
    let mut sampler = BatchSampler::new(10, 42);
    assert_eq!(sampler.next_batch(3), [0, 1, 2]);
    assert_eq!(sampler.next_batch(3), [3, 4, 5]);
    assert_eq!(sampler.next_batch(3), [6, 7, 8]);
    assert_eq!(sampler.epoch(), 0);
    // Index 9 alone would be a partial batch: the epoch ends, the order is reshuffled, and we start at 0.
    let batch = sampler.next_batch(3).to_vec();
    assert_eq!(sampler.epoch(), 1);
    assert_eq!(batch.len(), 3);
    assert_ne!(batch, [0, 1, 2], "reshuffled (for this seed)");
}

#[test]
fn an_exact_fit_uses_the_last_batch_before_reshuffling() {
    let mut sampler = BatchSampler::new(6, 1);
    assert_eq!(sampler.next_batch(3), [0, 1, 2]);
    assert_eq!(sampler.next_batch(3), [3, 4, 5]);
    assert_eq!(sampler.epoch(), 0);
    sampler.next_batch(3);
    assert_eq!(sampler.epoch(), 1);
}

#[test]
fn every_index_appears_once_per_epoch() {
    // 100 examples in batches of 7: 14 whole batches (98 examples) per epoch, 2 dropped each time.
    let mut sampler = BatchSampler::new(100, 5);
    let mut per_epoch: Vec<Vec<usize>> = vec![Vec::new(); 6];
    while sampler.epoch() < 5 {
        let batch = sampler.next_batch(7).to_vec();
        per_epoch[sampler.epoch()].extend(batch); // the epoch counter moves before an epoch's first batch
    }
    for (epoch, indices) in per_epoch[..5].iter().enumerate() {
        let mut sorted = indices.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 98, "epoch {epoch}: 98 distinct indices");
        assert_eq!(indices.len(), 98, "epoch {epoch}: none twice");
    }
    assert_eq!(per_epoch[0], (0..98).collect::<Vec<_>>(), "epoch 0 in file order");
}

#[test]
fn reshuffles_are_deterministic_by_seed_and_differ_between_seeds() {
    let sequence = |seed: u64| {
        let mut sampler = BatchSampler::new(50, seed);
        (0..40).flat_map(|_| sampler.next_batch(8).to_vec()).collect::<Vec<_>>()
    };
    assert_eq!(sequence(42), sequence(42));
    assert_ne!(sequence(42), sequence(43));
    assert_eq!(
        sequence(42)[..48],
        sequence(43)[..48],
        "the first epoch is file order for every seed"
    );
}

#[test]
fn a_batch_larger_than_the_data_is_clamped() {
    let mut sampler = BatchSampler::new(4, 0);
    assert_eq!(sampler.next_batch(10), [0, 1, 2, 3]);
    assert_eq!(sampler.next_batch(10).len(), 4);
    assert!(BatchSampler::new(0, 0).next_batch(5).is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// The synthetic data set

#[test]
fn synthetic_is_deterministic_balanced_and_cifar_shaped() {
    let config = SyntheticConfig {
        seed: 3,
        train_size: 200,
        test_size: 50,
    };
    let dataset = synthetic(&config);
    assert_eq!(dataset, synthetic(&config), "same seed, same bytes");
    assert_eq!(dataset.name, "synthetic-10 (seed 3)");
    assert_eq!(
        (dataset.train.images.len(), dataset.test.images.len()),
        (200 * 3072, 50 * 3072)
    );
    assert_eq!(dataset.train.class_counts(), [20; 10]);
    assert_eq!(dataset.test.class_counts(), [5; 10]);
    assert_ne!(
        dataset.train,
        synthetic(&SyntheticConfig { seed: 4, ..config }).train,
        "another seed"
    );
    let more_training = synthetic(&SyntheticConfig {
        train_size: 300,
        ..config
    });
    assert_eq!(
        more_training.test, dataset.test,
        "the test set does not depend on train_size"
    );
    let spread = dataset
        .train
        .images
        .iter()
        .fold((255u8, 0u8), |(lo, hi), &p| (lo.min(p), hi.max(p)));
    assert_eq!(spread, (0, 255), "uses the whole pixel range");
    assert_eq!(
        SyntheticConfig::default(),
        SyntheticConfig {
            seed: 42,
            train_size: 5000,
            test_size: 1000
        }
    );
}

#[test]
fn synthetic_classes_differ_in_their_mean_images() {
    let dataset = synthetic(&SyntheticConfig {
        seed: 1,
        train_size: 1000,
        test_size: 10,
    });
    let class_means: Vec<Vec<f64>> = (0..10u8)
        .map(|class| {
            let members: Vec<usize> = (0..dataset.train.len())
                .filter(|&i| dataset.train.labels[i] == class)
                .collect();
            (0..PIXELS)
                .map(|p| {
                    members
                        .iter()
                        .map(|&i| f64::from(dataset.train.image(i)[p]))
                        .sum::<f64>()
                        / members.len() as f64
                })
                .collect()
        })
        .collect();
    for a in 0..10 {
        for b in a + 1..10 {
            let distance = class_means[a]
                .iter()
                .zip(&class_means[b])
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(
                distance > 20.0,
                "classes {a} and {b} have almost the same mean image ({distance:.1})"
            );
        }
    }
}
