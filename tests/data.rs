//! The CIFAR-10 data layer's formats: every format round-trips through our own writers and loads in the
//! course's batch order (tests/data_batches.rs: preprocessing and batching; tests/data_errors.rs: malformed
//! input). All data is generated here (synthetic images, our own writers); nothing depends on the real files.
#[path = "common/data.rs"]
mod common_data;

use backprop_lab::data::{
    load_files, write_archive, write_binary_batch, write_pickle_batch, ArchiveFormat, BatchFormat, Dataset,
    DatasetBuilder, Part, Split, CLASS_NAMES,
};
use common_data::{assert_contains, assert_starts_with, gunzip, gzip, pickled_dict, tar_of, tiny};
use serde_pickle::Value;

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
