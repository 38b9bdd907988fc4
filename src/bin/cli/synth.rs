//! `lab synth`: the seeded synthetic data set written to disk in the official CIFAR-10 file formats, so that
//! tests and users have small real-format files to load (in the browser page or with `lab train --data`).
//!
//! Every format comes from the library's [`data::write_archive`]: the archive formats write it as is, the
//! directory formats write the members of its batch folder (the batches and `batches.meta(.txt)`; not the
//! readme), so a directory and the archive of the same options hold the same bytes.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use backprop_lab::data::{self, ArchiveFormat, SyntheticConfig};
use backprop_lab::error::ConfigError;
use clap::ValueEnum;
use flate2::read::GzDecoder;

/// The official download has five training batches.
const MAX_BATCHES: usize = 5;
/// The official download's sizes, the most `lab synth` writes (a pickle batch holds at most 2 GiB anyway).
const MAX_TRAIN: usize = 50_000;
const MAX_TEST: usize = 10_000;

#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum SynthFormat {
    /// data_batch_1.bin … data_batch_K.bin, test_batch.bin, batches.meta.txt (the binary download's folder).
    Binary,
    /// data_batch_1 … data_batch_K, test_batch, batches.meta: Python pickles (the Python download's folder).
    Python,
    /// cifar-10-binary.tar.gz, laid out like the official download.
    BinaryArchive,
    /// cifar-10-python.tar.gz, laid out like the official download.
    PythonArchive,
}

#[derive(clap::Args)]
pub struct SynthArgs {
    /// Directory to write the files to (created if missing).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "binary")]
    format: SynthFormat,
    /// Seed of the synthetic data set (the same seed gives the same images as `lab train --synthetic-seed`).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of training images.
    #[arg(long, default_value_t = 1000)]
    train_size: usize,
    /// Number of test images.
    #[arg(long, default_value_t = 200)]
    test_size: usize,
    /// Number of training batches the training images are cut into (consecutive, as equal as possible).
    #[arg(long, default_value_t = 1)]
    batches: usize,
}

/// Checks the sizes, in the crate's "field: expected …, found …" style.
fn validate(args: &SynthArgs) -> Result<(), ConfigError> {
    if !(1..=MAX_TRAIN).contains(&args.train_size) {
        let expected = format!("a whole number in [1, {MAX_TRAIN}]");
        return Err(ConfigError::new("--train-size", expected, args.train_size));
    }
    if !(1..=MAX_TEST).contains(&args.test_size) {
        let expected = format!("a whole number in [1, {MAX_TEST}]");
        return Err(ConfigError::new("--test-size", expected, args.test_size));
    }
    let max_batches = MAX_BATCHES.min(args.train_size);
    if !(1..=max_batches).contains(&args.batches) {
        let mut expected = format!("a whole number in [1, {max_batches}]");
        if max_batches < MAX_BATCHES {
            expected.push_str(" (at most one batch per training image)");
        }
        return Err(ConfigError::new("--batches", expected, args.batches));
    }
    Ok(())
}

pub fn synth(args: SynthArgs) -> Result<ExitCode, String> {
    validate(&args).map_err(|e| e.to_string())?;
    let dataset = data::synthetic(&SyntheticConfig {
        seed: args.seed,
        train_size: args.train_size,
        test_size: args.test_size,
    });
    let (archive_format, archive_name) = match args.format {
        SynthFormat::Binary | SynthFormat::BinaryArchive => (ArchiveFormat::Binary, "cifar-10-binary.tar.gz"),
        SynthFormat::Python | SynthFormat::PythonArchive => (ArchiveFormat::Python, "cifar-10-python.tar.gz"),
    };
    let archive = data::write_archive(&dataset, archive_format, args.batches);
    let files = match args.format {
        SynthFormat::BinaryArchive | SynthFormat::PythonArchive => vec![(archive_name.to_string(), archive)],
        SynthFormat::Binary | SynthFormat::Python => {
            unpack(&archive).map_err(|e| format!("{archive_name} (written in memory): cannot unpack: {e}"))?
        }
    };
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: cannot create the output directory: {e}", out.display()))?;
    for (name, bytes) in files {
        let path = out.join(name);
        write(&path, &bytes)?;
        println!("{}  {} bytes", path.display(), bytes.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// The regular files of a `.tar.gz` by their file names, in archive order, without `readme.html`.
fn unpack(archive: &[u8]) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut tar = tar::Archive::new(GzDecoder::new(archive));
    for entry in tar.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?;
        let Some(name) = path.file_name().map(|name| name.to_string_lossy().into_owned()) else {
            continue;
        };
        if name == "readme.html" {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        files.push((name, bytes));
    }
    Ok(files)
}
