//! What each fuzz target does with its input, and the properties it asserts: no panic, no abort, and every
//! error a short message that names the file. Each target reaches one parser first; the others stay
//! reachable (files are recognised by content), so the fuzzer can cross from one format into another.
//!
//! Included by `tests/fuzz_regressions.rs` with `#[path]`: it depends on the lab only.

use backprop_lab::data::DatasetBuilder;
use backprop_lab::session::PageConfig;

/// A fuzz target's body: takes the fuzzer's input, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target: its name (a file in `fuzz/src/bin/`, a folder of regression inputs) and its body.
pub const TARGETS: [(&str, Target); 7] = [
    ("binary_batch", binary_batch),
    ("pickle", pickle),
    ("gzip", gzip),
    ("tar", tar),
    ("class_names", class_names),
    ("query", query),
    ("safetensors", safetensors),
];

/// CIFAR binary batches: 3073-byte records (label, pixels).
pub fn binary_batch(data: &[u8]) {
    add_file("data_batch_1.bin", data);
}

/// Pickles: the input after a PROTO 2 opcode, unless it brings its own PROTO.
pub fn pickle(data: &[u8]) {
    add_file("data_batch_1", &with_prefix(&[0x80, 2], data));
}

/// The gzip layer (a `.tar.gz`, or one gzipped batch): the input after the gzip magic number.
pub fn gzip(data: &[u8]) {
    add_file("cifar-10-binary.tar.gz", &with_prefix(&[0x1f, 0x8b], data));
}

/// The tar layer: headers, sizes, member names, and the members' own formats.
pub fn tar(data: &[u8]) {
    add_file("cifar-10-python.tar", data);
}

/// `batches.meta.txt`: the class names, one per line.
pub fn class_names(data: &[u8]) {
    add_file("batches.meta.txt", data);
}

/// The page's query string: a parsed configuration writes a query that parses back to itself, and it
/// either converts to a training configuration or says why not.
pub fn query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match PageConfig::from_query(text) {
        Ok(config) => {
            let again = PageConfig::from_query(&config.to_query());
            assert_eq!(again.as_ref(), Ok(&config), "to_query does not round-trip");
            if let Err(error) = config.to_train_config() {
                assert_short(&error.to_string());
            }
        }
        Err(error) => assert_short(&error.to_string()),
    }
}

/// Model files (safetensors with the lab's metadata): inspection, and loading a network from them.
pub fn safetensors(data: &[u8]) {
    if let Err(error) = backprop_lab::weights::inspect(data) {
        assert_short(&error.to_string());
    }
    if let Err(error) = backprop_lab::weights::load(data) {
        assert_short(&error.to_string());
    }
}

/// Adds one file to an empty builder, then builds: any outcome but a panic is fine; errors name the file.
fn add_file(name: &str, bytes: &[u8]) {
    let mut builder = DatasetBuilder::new();
    match builder.add_file(name, bytes) {
        Ok(summary) => {
            let images: usize = summary.batches.iter().map(|batch| batch.images).sum();
            if let Ok(dataset) = builder.build() {
                assert_eq!(dataset.train.len() + dataset.test.len(), images);
                assert_eq!(dataset.train.images.len(), dataset.train.len() * 3072);
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.starts_with(name),
                "an error that does not name {name}: {message}"
            );
            assert_short(&message);
        }
    }
}

fn assert_short(message: &str) {
    assert!(!message.is_empty(), "an empty error message");
    assert!(
        message.len() < 2000,
        "an unreadably long message: {} characters",
        message.len()
    );
}

fn with_prefix(prefix: &[u8], data: &[u8]) -> Vec<u8> {
    if data.starts_with(prefix) {
        data.to_vec()
    } else {
        [prefix, data].concat()
    }
}
