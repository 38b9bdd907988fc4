//! The CIFAR-10 data layer: every format round-trips, batches come in the course's order, preprocessing and
//! batching follow `cifar10_utils.py`, and malformed input gives an error that says what is wrong, never a
//! panic. All data is generated here (synthetic images, our own writers); nothing depends on the real files.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use backprop_lab::data::{
    load_files, synthetic, write_archive, write_binary_batch, write_pickle_batch, ArchiveFormat, BatchFormat,
    BatchSampler, DataError, Dataset, DatasetBuilder, Part, Preprocessor, Split, SyntheticConfig, CLASS_NAMES, PIXELS,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_pickle::{HashableValue, SerOptions, Value};

/// A small synthetic data set: 30 training and 10 test images.
fn tiny() -> Dataset {
    synthetic(&SyntheticConfig {
        seed: 7,
        train_size: 30,
        test_size: 10,
    })
}

/// The error message of a load that must fail.
fn load_error(files: &[(&str, &[u8])]) -> String {
    match load_files(files) {
        Ok(dataset) => panic!(
            "expected an error, loaded {} + {} images",
            dataset.train.len(),
            dataset.test.len()
        ),
        Err(error) => error.to_string(),
    }
}

/// The error of adding one file to an empty builder.
fn add_error(name: &str, bytes: &[u8]) -> DataError {
    match DatasetBuilder::new().add_file(name, bytes) {
        Ok(summary) => panic!("expected an error, got {summary}"),
        Err(error) => error,
    }
}

/// Asserts that an error message starts with `prefix`, showing the whole message otherwise.
fn assert_starts_with(message: &str, prefix: &str) {
    assert!(
        message.starts_with(prefix),
        "expected a message starting with {prefix:?}, got {message:?}"
    );
}

/// Asserts that an error message contains `part`, showing the whole message otherwise.
fn assert_contains(message: &str, part: &str) {
    assert!(
        message.contains(part),
        "expected a message containing {part:?}, got {message:?}"
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut content).unwrap();
    content
}

/// A tar archive of the given (path, bytes) members, in the given order.
fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, *bytes).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A pickled dict of `entries` (keys as Python 2 `str`, i.e. bytes), written by serde-pickle.
fn pickled_dict(entries: Vec<(&str, Value)>) -> Vec<u8> {
    let dict: BTreeMap<HashableValue, Value> = entries
        .into_iter()
        .map(|(key, value)| (HashableValue::Bytes(key.as_bytes().to_vec()), value))
        .collect();
    serde_pickle::value_to_vec(&Value::Dict(dict), SerOptions::new().proto_v2()).unwrap()
}

/// A numpy array as our reader sees it after unpickling: the BUILD state `(1, shape, dtype, False, raw)`.
fn array_state(shape: &[i64], raw: Vec<u8>) -> Value {
    Value::Tuple(vec![
        Value::I64(1),
        Value::Tuple(shape.iter().map(|&dim| Value::I64(dim)).collect()),
        Value::Tuple(vec![Value::I64(3), Value::String("|".into())]),
        Value::Bool(false),
        Value::Bytes(raw),
    ])
}

fn int_list(values: &[i64]) -> Value {
    Value::List(values.iter().map(|&value| Value::I64(value)).collect())
}

// ---------------------------------------------------------------------------------------------------------
// Round trips: synthetic → write → load → identical

#[test]
fn binary_batches_round_trip_identically() {
    let dataset = tiny();
    let train = write_binary_batch(&dataset.train);
    let test = write_binary_batch(&dataset.test);
    assert_eq!(train.len(), 30 * 3073);
    assert_eq!(
        &train[..1],
        &dataset.train.labels[..1],
        "a record starts with its label"
    );
    assert_eq!(&train[1..3073], dataset.train.image(0), "then the 3072 CHW pixels");

    let loaded = load_files(&[("data_batch_1.bin", &train), ("test_batch.bin", &test)]).unwrap();
    assert_eq!(loaded.train, dataset.train);
    assert_eq!(loaded.test, dataset.test);
    assert_eq!(loaded.name, "CIFAR-10");
}

#[test]
fn pickle_batches_round_trip_identically() {
    let dataset = tiny();
    let train = write_pickle_batch(&dataset.train, "training batch 1 of 1");
    let test = write_pickle_batch(&dataset.test, "testing batch 1 of 1");
    let loaded = load_files(&[("data_batch_1", &train), ("test_batch", &test)]).unwrap();
    assert_eq!(loaded.train, dataset.train);
    assert_eq!(loaded.test, dataset.test);
}

#[test]
fn pickle_batch_has_the_structure_python2_and_numpy_write() {
    let pickle = write_pickle_batch(&tiny().test, "testing batch 1 of 1");
    let contains = |needle: &[u8]| pickle.windows(needle.len()).any(|window| window == needle);
    assert_eq!(&pickle[..3], b"\x80\x02}", "protocol 2, a dict");
    assert!(
        contains(b"cnumpy.core.multiarray\n_reconstruct\n"),
        "array through _reconstruct"
    );
    assert!(contains(b"cnumpy\ndtype\nq"), "dtype object");
    assert!(contains(b"U\x02u1"), "dtype u1");
    assert!(
        contains(b"U\x04data") && contains(b"U\x06labels") && contains(b"U\x0bbatch_label"),
        "bytes keys"
    );
    assert!(contains(b"U\x14testing batch 1 of 1"), "batch label");
    assert!(
        contains(&[b'T', 0x00, 0x78, 0x00, 0x00]),
        "10 × 3072 = 30720 raw bytes as one BINSTRING"
    );
    assert_eq!(pickle.last(), Some(&b'.'), "STOP");
}

#[test]
fn pickle_part_comes_from_batch_label_before_file_name() {
    let dataset = tiny();
    let test = write_pickle_batch(&dataset.test, "testing batch 1 of 1");
    let mut builder = DatasetBuilder::new();
    let summary = builder.add_file("some_download", &test).unwrap();
    assert_eq!(summary.batches.len(), 1);
    assert_eq!(
        summary.batches[0].part,
        Part::Test,
        "the label says testing, the name says nothing"
    );
    assert_eq!(summary.batches[0].format, BatchFormat::Pickle);
    assert_eq!(summary.images(Part::Test), 10);
}

#[test]
fn binary_part_comes_from_file_name_containing_test() {
    let dataset = tiny();
    let mut builder = DatasetBuilder::new();
    let train = builder
        .add_file("my_batch.bin", &write_binary_batch(&dataset.train))
        .unwrap();
    let test = builder
        .add_file("MyTestSet.bin", &write_binary_batch(&dataset.test))
        .unwrap();
    assert_eq!((train.batches[0].part, test.batches[0].part), (Part::Train, Part::Test));
    assert_eq!(train.batches[0].format, BatchFormat::Binary);
}

#[test]
fn binary_archive_round_trips_with_the_official_layout() {
    let dataset = tiny();
    let archive = write_archive(&dataset, ArchiveFormat::Binary, 5);
    assert_eq!(&archive[..2], &[0x1f, 0x8b], "gzip");
    let tar = gunzip(&archive);
    let paths: Vec<String> = tar::Archive::new(tar.as_slice())
        .entries()
        .unwrap()
        .map(|entry| entry.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "cifar-10-batches-bin/",
            "cifar-10-batches-bin/data_batch_1.bin",
            "cifar-10-batches-bin/data_batch_2.bin",
            "cifar-10-batches-bin/data_batch_3.bin",
            "cifar-10-batches-bin/data_batch_4.bin",
            "cifar-10-batches-bin/data_batch_5.bin",
            "cifar-10-batches-bin/test_batch.bin",
            "cifar-10-batches-bin/batches.meta.txt",
            "cifar-10-batches-bin/readme.html",
        ]
    );

    let mut builder = DatasetBuilder::new();
    let summary = builder.add_file("cifar-10-binary.tar.gz", &archive).unwrap();
    assert_eq!(summary.batches.len(), 6);
    assert_eq!((summary.images(Part::Train), summary.images(Part::Test)), (30, 10));
    assert_eq!(
        summary.batches[0].source, "cifar-10-binary.tar.gz/cifar-10-batches-bin/data_batch_1.bin",
        "members are named inside their archive"
    );
    assert_eq!(
        summary.skipped,
        [
            "cifar-10-binary.tar.gz/cifar-10-batches-bin/batches.meta.txt",
            "cifar-10-binary.tar.gz/cifar-10-batches-bin/readme.html"
        ]
    );
    let loaded = builder.build().unwrap();
    assert_eq!(loaded.train, dataset.train);
    assert_eq!(loaded.test, dataset.test);
}

#[test]
fn python_archive_round_trips_with_the_official_layout() {
    let dataset = tiny();
    let archive = write_archive(&dataset, ArchiveFormat::Python, 3);
    let mut builder = DatasetBuilder::new();
    let summary = builder.add_file("cifar-10-python.tar.gz", &archive).unwrap();
    let names: Vec<&str> = summary.batches.iter().map(|batch| batch.name.as_str()).collect();
    assert_eq!(names, ["data_batch_1", "data_batch_2", "data_batch_3", "test_batch"]);
    assert!(summary.batches.iter().all(|batch| batch.format == BatchFormat::Pickle));
    assert_eq!(
        summary.batches.iter().map(|batch| batch.images).collect::<Vec<_>>(),
        [10, 10, 10, 10]
    );
    assert!(summary
        .skipped
        .iter()
        .any(|path| path.ends_with("cifar-10-batches-py/batches.meta")));
    let loaded = builder.build().unwrap();
    assert_eq!(loaded.train, dataset.train);
    assert_eq!(loaded.test, dataset.test);
}

#[test]
fn plain_tar_and_gzipped_single_batch_load() {
    let dataset = tiny();
    let plain_tar = gunzip(&write_archive(&dataset, ArchiveFormat::Binary, 2));
    let loaded = load_files(&[("cifar-10-binary.tar", &plain_tar)]).unwrap();
    assert_eq!(loaded.train, dataset.train);

    let train_gz = gzip(&write_binary_batch(&dataset.train));
    let test_gz = gzip(&write_pickle_batch(&dataset.test, "testing batch 1 of 1"));
    let loaded = load_files(&[("data_batch_1.bin.gz", &train_gz), ("test_batch.gz", &test_gz)]).unwrap();
    assert_eq!(loaded.train, dataset.train);
    assert_eq!(loaded.test, dataset.test);
}

#[test]
fn class_name_files_are_skipped_not_rejected() {
    let names = CLASS_NAMES.join("\n") + "\n";
    let summary = DatasetBuilder::new()
        .add_file("batches.meta.txt", names.as_bytes())
        .unwrap();
    assert!(summary.batches.is_empty());
    assert_eq!(summary.skipped, ["batches.meta.txt"]);

    let meta = pickled_dict(vec![
        (
            "label_names",
            Value::List(
                CLASS_NAMES
                    .iter()
                    .map(|name| Value::Bytes(name.as_bytes().to_vec()))
                    .collect(),
            ),
        ),
        ("num_vis", Value::I64(3072)),
    ]);
    let summary = DatasetBuilder::new().add_file("batches.meta", &meta).unwrap();
    assert_eq!(summary.skipped, ["batches.meta"]);
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn load_path_reads_a_directory_its_subdirectory_or_an_archive() {
    use backprop_lab::data::load_path;
    let (dataset, [first, second, third]) = three_batches();
    let root = std::env::temp_dir().join(format!("backprop-lab-data-test-{}", std::process::id()));
    let folder = root.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&folder).unwrap();
    for (name, split) in [
        ("data_batch_2.bin", &second),
        ("data_batch_1.bin", &first),
        ("data_batch_3.bin", &third),
    ] {
        std::fs::write(folder.join(name), write_binary_batch(split)).unwrap();
    }
    std::fs::write(folder.join("test_batch.bin"), write_binary_batch(&dataset.test)).unwrap();
    std::fs::write(folder.join("readme.html"), "<html></html>").unwrap();
    std::fs::write(
        root.join("cifar-10-python.tar.gz"),
        write_archive(&dataset, ArchiveFormat::Python, 2),
    )
    .unwrap();

    let from_folder = load_path(&folder);
    let from_parent = load_path(&root); // no batches directly in it: one level down
    let from_archive = load_path(&root.join("cifar-10-python.tar.gz"));
    let missing = load_path(&root.join("nowhere"));
    std::fs::remove_dir_all(&root).unwrap();

    for loaded in [from_folder.unwrap(), from_parent.unwrap(), from_archive.unwrap()] {
        assert_eq!(loaded.train, dataset.train);
        assert_eq!(loaded.test, dataset.test);
    }
    let message = missing.unwrap_err().to_string();
    assert_starts_with(&message, &root.join("nowhere").display().to_string());
    assert_contains(&message, "expected a readable file or directory, found an I/O error");
}

// ---------------------------------------------------------------------------------------------------------
// Canonical batch order

/// Three training batches of 10 images and a test batch, cut from one synthetic set.
fn three_batches() -> (Dataset, [Split; 3]) {
    let dataset = tiny();
    let batches = [
        dataset.train.slice(0..10),
        dataset.train.slice(10..20),
        dataset.train.slice(20..30),
    ];
    (dataset, batches)
}

#[test]
fn batches_are_ordered_by_name_not_by_adding_order() {
    let (dataset, [first, second, third]) = three_batches();
    let loaded = load_files(&[
        ("test_batch.bin", &write_binary_batch(&dataset.test)),
        ("data_batch_3.bin", &write_binary_batch(&third)),
        ("data_batch_1", &write_pickle_batch(&first, "training batch 1 of 3")),
        ("data_batch_2.bin", &write_binary_batch(&second)),
    ])
    .unwrap();
    assert_eq!(
        loaded.train, dataset.train,
        "data_batch_1, 2, 3 in this order, whatever their format"
    );
}

#[test]
fn batch_10_comes_after_batch_9() {
    let (dataset, [first, second, _]) = three_batches();
    let loaded = load_files(&[
        ("data_batch_10.bin", &write_binary_batch(&second)),
        ("data_batch_9.bin", &write_binary_batch(&first)),
        ("test_batch.bin", &write_binary_batch(&dataset.test)),
    ])
    .unwrap();
    assert_eq!(loaded.train, dataset.train.slice(0..20));
}

#[test]
fn archive_members_are_ordered_by_name() {
    let (dataset, [first, second, third]) = three_batches();
    let tar = tar_of(&[
        ("cifar-10-batches-bin/data_batch_2.bin", &write_binary_batch(&second)),
        (
            "cifar-10-batches-bin/test_batch.bin",
            &write_binary_batch(&dataset.test),
        ),
        ("cifar-10-batches-bin/data_batch_3.bin", &write_binary_batch(&third)),
        ("cifar-10-batches-bin/data_batch_1.bin", &write_binary_batch(&first)),
    ]);
    let loaded = load_files(&[("shuffled.tar.gz", &gzip(&tar))]).unwrap();
    assert_eq!(loaded.train, dataset.train);
    assert_eq!(loaded.test, dataset.test);
}

#[test]
fn archive_member_name_decides_the_part() {
    let dataset = tiny();
    // A test batch labelled "training" inside an archive: the member name wins.
    let tar = tar_of(&[
        (
            "data_batch_1",
            &write_pickle_batch(&dataset.train, "testing batch 1 of 1"),
        ),
        (
            "test_batch",
            &write_pickle_batch(&dataset.test, "training batch 1 of 5"),
        ),
    ]);
    let loaded = load_files(&[("mixed.tar", &tar)]).unwrap();
    assert_eq!(loaded.train, dataset.train);
    assert_eq!(loaded.test, dataset.test);
}

#[test]
fn the_same_batch_twice_is_an_error() {
    let dataset = tiny();
    let mut builder = DatasetBuilder::new();
    builder
        .add_file("data_batch_1.bin", &write_binary_batch(&dataset.train))
        .unwrap();
    let error = builder.add_file(
        "data_batch_1",
        &write_pickle_batch(&dataset.train, "training batch 1 of 5"),
    );
    let message = error.unwrap_err().to_string();
    assert_eq!(
        message,
        "data_batch_1: expected each batch once, found data_batch_1 a second time"
    );
}

#[test]
fn appending_a_builder_checks_for_the_same_batch_twice_and_leaves_the_target_as_it_was() {
    let dataset = tiny();
    let mut waiting = DatasetBuilder::new();
    waiting
        .add_file("data_batch_1.bin", &write_binary_batch(&dataset.train))
        .unwrap();
    let mut dropped = DatasetBuilder::new();
    dropped
        .add_file(
            "data_batch_1",
            &write_pickle_batch(&dataset.train, "training batch 1 of 5"),
        )
        .unwrap();
    let message = waiting.clone().append(dropped).unwrap_err().to_string();
    assert_eq!(
        message,
        "data_batch_1: expected each batch once, found data_batch_1 a second time"
    );
    let mut dropped = DatasetBuilder::new();
    dropped
        .add_file("test_batch.bin", &write_binary_batch(&dataset.test))
        .unwrap();
    waiting.append(dropped).unwrap();
    let loaded = waiting.build().unwrap();
    assert_eq!((loaded.train, loaded.test), (dataset.train, dataset.test));
}

#[test]
fn a_failing_file_leaves_the_builder_untouched() {
    let dataset = tiny();
    let train = write_binary_batch(&dataset.train);
    let mut builder = DatasetBuilder::new();
    builder.add_file("data_batch_1.bin", &train).unwrap();
    // An archive whose second member is broken: its first member must not be kept either.
    let tar = tar_of(&[
        ("test_batch.bin", &write_binary_batch(&dataset.test)),
        ("data_batch_2.bin", &train[..100]),
    ]);
    assert!(builder.add_file("broken.tar", &tar).is_err());
    assert_eq!(builder.batches().count(), 1);
    builder
        .add_file("test_batch.bin", &write_binary_batch(&dataset.test))
        .unwrap();
    let loaded = builder.build().unwrap();
    assert_eq!((loaded.train.len(), loaded.test.len()), (30, 10));
}

#[test]
fn build_without_test_or_training_data_says_what_is_missing() {
    let dataset = tiny();
    let mut builder = DatasetBuilder::new();
    builder
        .add_file("data_batch_1.bin", &write_binary_batch(&dataset.train))
        .unwrap();
    let message = builder.build().unwrap_err().to_string();
    assert_eq!(
        message,
        "expected test batches (test_batch), found none; added so far: data_batch_1.bin (training)"
    );

    let message = DatasetBuilder::new().build().unwrap_err().to_string();
    assert_starts_with(
        &message,
        "expected training batches (data_batch_1 … data_batch_5), found none",
    );
    assert_contains(&message, "added so far: nothing");
}

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
    let dataset = tiny();
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

// ---------------------------------------------------------------------------------------------------------
// Malformed input: an error that names the file, what was expected and what was found

#[test]
fn truncated_binary_batch_reports_records_and_bytes() {
    let batch = write_binary_batch(&tiny().train);
    let message = add_error("data_batch_1.bin", &batch[..3 * 3073 - 100]).to_string();
    assert_eq!(
        message,
        "data_batch_1.bin: expected a whole number of 3073-byte records (1 label + 3072 pixels), found 9119 bytes \
         (2 whole records + 2973 bytes)"
    );
}

#[test]
fn wrong_size_batch_without_labels_gets_a_hint() {
    let mut images = tiny().train.images[..3 * 3072].to_vec();
    images[0] = 5; // a first pixel that could be a label, so the file is taken for a damaged batch
    let message = add_error("data_batch_1.bin", &images).to_string();
    assert_starts_with(
        &message,
        "data_batch_1.bin: expected a whole number of 3073-byte records",
    );
    assert_contains(&message, "found 9216 bytes (2 whole records + 3070 bytes)");
    assert_contains(&message, "3 whole 3072-byte images: are the labels missing?");
}

#[test]
fn label_above_9_names_the_record_and_the_value() {
    let mut batch = write_binary_batch(&tiny().train);
    batch[2 * 3073] = 12;
    let error = add_error("data_batch_4.bin", &batch);
    assert_eq!(
        error,
        DataError::BadLabel {
            file: "data_batch_4.bin".into(),
            record: 2,
            label: 12
        }
    );
    assert_eq!(
        error.to_string(),
        "data_batch_4.bin: expected labels 0-9, found label 12 in record 2"
    );

    let pickle = pickled_dict(vec![
        ("labels", int_list(&[1, 10])),
        ("data", array_state(&[2, 3072], vec![0; 6144])),
    ]);
    let message = add_error("data_batch_2", &pickle).to_string();
    assert_eq!(message, "data_batch_2: expected labels 0-9, found label 10 in record 1");
}

#[test]
fn pickled_dict_without_data_is_not_a_batch() {
    let pickle = pickled_dict(vec![("labels", int_list(&[1, 2])), ("filenames", Value::List(vec![]))]);
    let message = add_error("data_batch_1", &pickle).to_string();
    assert_eq!(
        message,
        "data_batch_1: expected a CIFAR-10 batch (a dict with b'data' and b'labels'), found a dict with keys \
         [b'filenames', b'labels']"
    );
    let list = serde_pickle::value_to_vec(&int_list(&[1, 2, 3]), SerOptions::new()).unwrap();
    let message = add_error("test_batch", &list).to_string();
    assert_contains(&message, "found a list instead of a dict");
}

#[test]
fn pickled_data_of_the_wrong_length_is_not_a_batch() {
    // Fewer images than labels.
    let pickle = pickled_dict(vec![
        ("labels", int_list(&[1, 2, 3])),
        ("data", array_state(&[2, 3072], vec![0; 6144])),
    ]);
    let message = add_error("data_batch_1", &pickle).to_string();
    assert_eq!(
        message,
        "data_batch_1: expected one image per label (3 labels), found 2 images in b'data'"
    );

    // A shape that disagrees with the number of bytes (e.g. float32 data).
    let pickle = pickled_dict(vec![
        ("labels", int_list(&[1])),
        ("data", array_state(&[1, 3072], vec![0; 4 * 3072])),
    ]);
    let message = add_error("data_batch_1", &pickle).to_string();
    assert_eq!(
        message,
        "data_batch_1: expected b'data' to be a uint8 numpy array of shape (N, 3072), found an array of shape \
         (1, 3072) with 12288 bytes of data (not uint8?)"
    );

    // Images of another size.
    let pickle = pickled_dict(vec![
        ("labels", int_list(&[1])),
        ("data", array_state(&[1, 784], vec![0; 784])),
    ]);
    let message = add_error("data_batch_1", &pickle).to_string();
    assert_contains(&message, "found an array of shape (1, 784)");

    // Our writer with more labels than images: the declared shape and the bytes disagree.
    let mut split = tiny().test;
    split.images.truncate(9 * 3072);
    let message = add_error("test_batch", &write_pickle_batch(&split, "testing batch 1 of 1")).to_string();
    assert_contains(&message, "found an array of shape (10, 3072) with 27648 bytes of data");
}

#[test]
fn truncated_pickle_is_reported_as_broken() {
    let pickle = write_pickle_batch(&tiny().test, "testing batch 1 of 1");
    let message = add_error("test_batch", &pickle[..pickle.len() / 2]).to_string();
    assert_starts_with(
        &message,
        "test_batch: expected a readable Python pickle, found a broken one (",
    );
    // the pre-scan finds the cut: the data's declared length runs past the end
    assert_contains(&message, "declares 30720 bytes, but the file ends");
}

#[test]
fn corrupt_gzip_is_reported_as_gzip() {
    let archive = write_archive(&tiny(), ArchiveFormat::Binary, 1);
    let mut bad_method = archive.clone();
    bad_method[2] = 7; // compression method: only 8 (deflate) exists
    let message = add_error("cifar-10-binary.tar.gz", &bad_method).to_string();
    assert_starts_with(
        &message,
        "cifar-10-binary.tar.gz: expected a gzip stream, found corrupt data (",
    );

    let gzipped_batch = gzip(&write_binary_batch(&tiny().train));
    let message = add_error("data_batch_1.bin.gz", &gzipped_batch[..gzipped_batch.len() / 2]).to_string();
    assert_starts_with(
        &message,
        "data_batch_1.bin.gz: expected a gzip stream, found corrupt data (",
    );

    let mut flipped = gzipped_batch.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0xff; // the CRC-32 at the end
    let message = add_error("data_batch_1.bin.gz", &flipped).to_string();
    assert_starts_with(
        &message,
        "data_batch_1.bin.gz: expected a gzip stream, found corrupt data (",
    );
}

#[test]
fn truncated_tar_gz_is_an_error_naming_the_archive() {
    let archive = write_archive(&tiny(), ArchiveFormat::Python, 2);
    let message = add_error("cifar-10-python.tar.gz", &archive[..archive.len() * 2 / 3]).to_string();
    // tar reads through the decompressor; the error still says that gzip ran out of data
    assert_starts_with(
        &message,
        "cifar-10-python.tar.gz: expected a gzip stream, found corrupt data (",
    );
}

#[test]
fn truncated_plain_tar_names_the_member_that_was_cut() {
    let tar = gunzip(&write_archive(&tiny(), ArchiveFormat::Binary, 1));
    // The first member's header is at 512 (after the folder's), its data at 1024: cut 10 bytes into it.
    let message = add_error("cifar-10-binary.tar", &tar[..1024 + 10]).to_string();
    assert_eq!(
        message,
        "cifar-10-binary.tar/cifar-10-batches-bin/data_batch_1.bin: expected a tar archive, found a broken \
         one (the archive ends 10 bytes into this 92190-byte member)"
    );
}

#[test]
fn tar_without_batches_lists_what_it_found() {
    let tar = tar_of(&[
        ("cifar-10-batches-bin/readme.html", b"<html></html>"),
        (
            "cifar-10-batches-bin/batches.meta.txt",
            CLASS_NAMES.join("\n").as_bytes(),
        ),
    ]);
    let error = add_error("cifar-10-binary.tar.gz", &gzip(&tar));
    assert_eq!(
        error.to_string(),
        "cifar-10-binary.tar.gz: expected archive members named data_batch_N or test_batch, found \
         cifar-10-batches-bin/readme.html, cifar-10-batches-bin/batches.meta.txt"
    );
    let message = add_error("empty.tar", &tar_of(&[])).to_string();
    assert_eq!(
        message,
        "empty.tar: expected archive members named data_batch_N or test_batch, found no files"
    );
}

#[test]
fn broken_member_inside_an_archive_is_named_with_its_path() {
    let mut batch = write_binary_batch(&tiny().test);
    batch[3073] = 200;
    let tar = tar_of(&[("cifar-10-batches-bin/test_batch.bin", &batch)]);
    let message = add_error("cifar-10-binary.tar.gz", &gzip(&tar)).to_string();
    assert_eq!(
        message,
        "cifar-10-binary.tar.gz/cifar-10-batches-bin/test_batch.bin: expected labels 0-9, found label 200 in record 1"
    );
}

#[test]
fn empty_file_is_an_error() {
    let error = add_error("data_batch_1.bin", &[]);
    assert_eq!(
        error,
        DataError::Empty {
            file: "data_batch_1.bin".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "data_batch_1.bin: expected a CIFAR-10 batch or archive, found an empty file (0 bytes)"
    );
    let message = load_error(&[("test_batch.bin", &[])]);
    assert_contains(&message, "empty file");
}

#[test]
fn unrecognised_file_says_what_was_expected_and_found() {
    let message = add_error("readme.html", b"<html>CIFAR</html>").to_string();
    assert_eq!(
        message,
        "readme.html: expected a CIFAR-10 binary batch (3073-byte records starting with a label 0-9), a Python \
         pickle batch, a .tar or a .tar.gz, found 18 bytes of another kind (starting with 3c 68 74 6d 6c 3e 43 49)"
    );
    let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
    let message = add_error("cat.png", &png).to_string();
    assert_contains(
        &message,
        "found 12 bytes of another kind (starting with 89 50 4e 47 0d 0a 1a 0a)",
    );
}

// ---------------------------------------------------------------------------------------------------------
// No panic on any input

/// Feeds `bytes` to a fresh builder; any outcome but a panic is fine, and an error must name the file.
fn load_without_panic(name: &str, bytes: &[u8]) -> bool {
    match DatasetBuilder::new().add_file(name, bytes) {
        Ok(_) => true,
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.starts_with(name),
                "an error that does not name {name}: {message}"
            );
            assert!(
                message.len() < 2000,
                "an unreadably long message: {} characters",
                message.len()
            );
            false
        }
    }
}

/// Damages `bytes` at random: flip bytes, truncate, insert junk, or overwrite a run.
fn mutate(bytes: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    if bytes.is_empty() {
        return bytes;
    }
    match rng.random_range(0..4) {
        0 => {
            for _ in 0..rng.random_range(1..8) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
        }
        1 => bytes.truncate(rng.random_range(0..bytes.len())),
        2 => {
            let at = rng.random_range(0..bytes.len());
            let junk: Vec<u8> = (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
            bytes.splice(at..at, junk);
        }
        _ => {
            let at = rng.random_range(0..bytes.len());
            let end = (at + rng.random_range(1..600)).min(bytes.len());
            bytes[at..end].iter_mut().for_each(|byte| *byte = rng.random());
        }
    }
    bytes
}

#[test]
fn random_and_damaged_input_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(2020);
    let dataset = synthetic(&SyntheticConfig {
        seed: 11,
        train_size: 4,
        test_size: 2,
    });
    let tar = gunzip(&write_archive(&dataset, ArchiveFormat::Python, 2));
    let valid: [(&str, Vec<u8>); 6] = [
        ("data_batch_1.bin", write_binary_batch(&dataset.train)),
        (
            "data_batch_1",
            write_pickle_batch(&dataset.train, "training batch 1 of 5"),
        ),
        (
            "cifar-10-binary.tar.gz",
            write_archive(&dataset, ArchiveFormat::Binary, 2),
        ),
        ("cifar-10-python.tar", tar),
        (
            "test_batch.gz",
            gzip(&write_pickle_batch(&dataset.test, "testing batch 1 of 1")),
        ),
        ("batches.meta.txt", (CLASS_NAMES.join("\n") + "\n").into_bytes()),
    ];
    let (mut accepted, mut rejected) = (0, 0);
    let mut count = |ok: bool| if ok { accepted += 1 } else { rejected += 1 };

    // Random bytes, some behind a real magic number so that the deeper parsers get them.
    let prefixes: [&[u8]; 5] = [b"", &[0x1f, 0x8b, 8, 0], &[0x80, 2], &[0x80, 4, 0x95], &[3]];
    for case in 0..250 {
        let len = rng.random_range(0..4000);
        let mut bytes: Vec<u8> = prefixes[case % prefixes.len()].to_vec();
        bytes.extend((0..len).map(|_| rng.random::<u8>()));
        if case % 7 == 0 && bytes.len() > 262 {
            bytes[257..262].copy_from_slice(b"ustar"); // looks like a tar header
        }
        count(load_without_panic("random.bin", &bytes));
    }
    // Damaged valid files of every format.
    for case in 0..300 {
        let (name, bytes) = &valid[case % valid.len()];
        count(load_without_panic(name, &mutate(bytes, &mut rng)));
    }
    // A pickle cut at every 97th byte and at each of its last 40 bytes (inside the final opcodes).
    let pickle = &valid[1].1;
    for end in (0..pickle.len()).step_by(97).chain(pickle.len() - 40..pickle.len()) {
        count(load_without_panic("data_batch_1", &pickle[..end]));
    }
    assert!(
        rejected > 400,
        "most damaged input is rejected ({rejected} rejected, {accepted} accepted)"
    );
}
