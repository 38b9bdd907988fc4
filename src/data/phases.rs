//! Where the time goes when an archive is loaded: each stage of [`DatasetBuilder::add_file`] timed on its
//! own (inflate, tar, conversion), then the whole read and the statistics a new data set needs (the mean
//! image of the preprocessing, the class counts). Used by `examples/archive_phases.rs` natively and by the
//! wasm benchmark in Node; the clock is passed in (`std::time::Instant` does not exist on wasm32).
use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

use super::archive::{for_each_tar_member, looks_like_gzip};
use super::binary::read_binary_batch;
use super::pickle::read_pickle;
use super::{DataError, DatasetBuilder, Preprocessor};

/// One timed stage: its name and seconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Phase {
    pub name: &'static str,
    pub seconds: f64,
}

/// Times the stages of loading the archive (or plain batch file) `bytes`, named `file` in messages. `now`
/// is a clock in seconds. The stages run one after another on the same bytes, so each is measured alone:
/// - `inflate`: gzip to the end, output discarded (skipped for a file that is not gzip);
/// - `tar`: walking the decompressed tar in memory, copying each wanted member out;
/// - `convert`: the members' batches decoded (binary records or pickles) into images and labels;
/// - `add_file`: the whole read as the page does it (all of the above, streaming);
/// - `statistics`: the training mean image and the class counts of the data set built.
pub fn archive_phases(file: &str, bytes: &[u8], mut now: impl FnMut() -> f64) -> Result<Vec<Phase>, DataError> {
    let mut phases = Vec::new();
    let mut time = |name: &'static str, start: f64, now: f64| {
        phases.push(Phase {
            name,
            seconds: now - start,
        })
    };
    let gzip_error = |error: io::Error| DataError::Gzip {
        file: file.to_string(),
        reason: error.to_string(),
    };
    let tar_bytes = if looks_like_gzip(bytes) {
        let start = now();
        io::copy(&mut MultiGzDecoder::new(bytes), &mut io::sink()).map_err(gzip_error)?;
        time("inflate", start, now());
        let mut tar_bytes = Vec::new();
        MultiGzDecoder::new(bytes)
            .read_to_end(&mut tar_bytes)
            .map_err(gzip_error)?;
        tar_bytes
    } else {
        bytes.to_vec()
    };
    let start = now();
    let mut members = Vec::new();
    let wanted = |path: &str| path.contains("_batch");
    for_each_tar_member(
        file,
        tar_bytes.as_slice(),
        wanted,
        |_, _| Ok(()),
        |path, content| {
            members.push((path.to_string(), content));
            Ok(())
        },
    )?;
    time("tar", start, now());
    drop(tar_bytes);
    let start = now();
    for (path, content) in &members {
        if path.ends_with(".bin") {
            read_binary_batch(path, content)?;
        } else {
            read_pickle(path, content)?;
        }
    }
    time("convert", start, now());
    drop(members);
    let start = now();
    let mut builder = DatasetBuilder::new();
    builder.add_file(file, bytes)?;
    let dataset = builder.build()?;
    time("add_file", start, now());
    let start = now();
    let preprocessor = Preprocessor::new(&dataset.train);
    let counts = (dataset.train.class_counts(), dataset.test.class_counts());
    std::hint::black_box((preprocessor, counts));
    time("statistics", start, now());
    Ok(phases)
}
