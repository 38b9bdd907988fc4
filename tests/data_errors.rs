//! The CIFAR-10 data layer on malformed input: an error that names the file, what was expected and what was
//! found, and no panic on any input (random and damaged files). All data is generated here.
#[path = "common/data.rs"]
mod common_data;

use backprop_lab::data::{
    load_files, synthetic, write_archive, write_binary_batch, write_pickle_batch, ArchiveFormat, DataError,
    DatasetBuilder, SyntheticConfig, CLASS_NAMES,
};
use common_data::{assert_contains, assert_starts_with, gunzip, gzip, pickled_dict, tar_of, tiny};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_pickle::{SerOptions, Value};

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
