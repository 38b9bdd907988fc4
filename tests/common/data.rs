//! Helpers shared by the data test files (tests/data*.rs): a small synthetic set, message assertions, and
//! writers of the containers the loader reads (gzip, tar, pickled dicts).
use std::collections::BTreeMap;
use std::io::{Read, Write};

use backprop_lab::data::{synthetic, Dataset, SyntheticConfig};
use serde_pickle::{HashableValue, SerOptions, Value};

/// A small synthetic data set: 30 training and 10 test images.
pub fn tiny() -> Dataset {
    synthetic(&SyntheticConfig {
        seed: 7,
        train_size: 30,
        test_size: 10,
    })
}

/// Asserts that an error message starts with `prefix`, showing the whole message otherwise.
pub fn assert_starts_with(message: &str, prefix: &str) {
    assert!(
        message.starts_with(prefix),
        "expected a message starting with {prefix:?}, got {message:?}"
    );
}

/// Asserts that an error message contains `part`, showing the whole message otherwise.
pub fn assert_contains(message: &str, part: &str) {
    assert!(
        message.contains(part),
        "expected a message containing {part:?}, got {message:?}"
    );
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut content).unwrap();
    content
}

/// A tar archive of the given (path, bytes) members, in the given order.
pub fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
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
pub fn pickled_dict(entries: Vec<(&str, Value)>) -> Vec<u8> {
    let dict: BTreeMap<HashableValue, Value> = entries
        .into_iter()
        .map(|(key, value)| (HashableValue::Bytes(key.as_bytes().to_vec()), value))
        .collect();
    serde_pickle::value_to_vec(&Value::Dict(dict), SerOptions::new().proto_v2()).unwrap()
}
