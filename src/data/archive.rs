//! The whole downloads: gzip and tar, read (with flate2 and tar) and written.
//!
//! `cifar-10-binary.tar.gz` holds `cifar-10-batches-bin/{data_batch_1..5.bin, test_batch.bin,
//! batches.meta.txt, readme.html}`; `cifar-10-python.tar.gz` holds `cifar-10-batches-py/{data_batch_1..5,
//! test_batch, batches.meta, readme.html}`. A `.tar.gz` is read as a stream (gzip → tar → one member at a
//! time), so a 170 MB download never exists decompressed in memory as a whole, which matters in the browser.

use std::io::{self, Read, Write};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use super::binary::write_binary_batch;
use super::pickle::{write_pickle_batch, write_pickle_meta};
use super::{DataError, Dataset, CLASS_NAMES};

/// The largest decompressed file or archive member accepted: a CIFAR-10 batch is 31 MB, so 512 MiB only stops
/// "zip bombs" from exhausting the browser's memory.
pub const MAX_DECOMPRESSED_BYTES: usize = 512 << 20;

/// True when `bytes` start with the gzip magic number.
pub(crate) fn looks_like_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// True when `bytes` start with a ustar (POSIX or GNU) tar header ("ustar" at offset 257), or are an empty
/// tar archive (only the zero blocks that end an archive).
pub(crate) fn looks_like_tar(bytes: &[u8]) -> bool {
    let empty_archive = bytes.len() >= 1024 && bytes.len() % 512 == 0 && bytes.iter().all(|&byte| byte == 0);
    bytes.get(257..262) == Some(b"ustar") || empty_archive
}

/// What a gzip stream holds: a tar archive still to be walked as a stream, or one decompressed file.
pub(crate) enum Gunzipped<'a> {
    Tar(Box<dyn Read + 'a>),
    File(Vec<u8>),
}

/// Opens a gzip stream and looks at its first 512 decompressed bytes to tell a tar archive from a single
/// gzipped file; a single file is decompressed here (at most [`MAX_DECOMPRESSED_BYTES`]).
pub(crate) fn gunzip<'a>(file: &str, bytes: &'a [u8]) -> Result<Gunzipped<'a>, DataError> {
    let mut decoder = Decompressor(MultiGzDecoder::new(bytes));
    let mut head = Vec::with_capacity(512);
    (&mut decoder)
        .take(512)
        .read_to_end(&mut head)
        .map_err(|error| io_error(file, None, &error))?;
    if looks_like_tar(&head) {
        return Ok(Gunzipped::Tar(Box::new(io::Cursor::new(head).chain(decoder))));
    }
    let mut content = head;
    (&mut decoder)
        .take((MAX_DECOMPRESSED_BYTES + 1 - content.len()) as u64)
        .read_to_end(&mut content)
        .map_err(|error| io_error(file, None, &error))?;
    if content.len() > MAX_DECOMPRESSED_BYTES {
        return Err(DataError::TooLarge {
            file: file.to_string(),
            limit: MAX_DECOMPRESSED_BYTES,
        });
    }
    Ok(Gunzipped::File(content))
}

/// Walks a tar archive and hands every regular file whose path `wanted` accepts to `visit`, with its bytes;
/// `check_size` sees the member (`archive/path`) and its size from the header before anything is read.
/// Returns the paths of all regular files, in archive order (directories and links are passed over).
pub(crate) fn for_each_tar_member(
    file: &str,
    tar_stream: impl Read,
    wanted: impl Fn(&str) -> bool,
    check_size: impl Fn(&str, u64) -> Result<(), DataError>,
    mut visit: impl FnMut(&str, Vec<u8>) -> Result<(), DataError>,
) -> Result<Vec<String>, DataError> {
    let mut archive = tar::Archive::new(tar_stream);
    let mut members = Vec::new();
    for entry in archive.entries().map_err(|error| io_error(file, None, &error))? {
        let mut entry = entry.map_err(|error| io_error(file, None, &error))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        members.push(path.clone());
        if !wanted(&path) {
            continue;
        }
        let member = format!("{file}/{path}");
        if entry.size() > MAX_DECOMPRESSED_BYTES as u64 {
            return Err(DataError::TooLarge {
                file: member,
                limit: MAX_DECOMPRESSED_BYTES,
            });
        }
        check_size(&member, entry.size())?;
        // The size comes from the header, so it is a hint only: a broken header must not allocate gigabytes.
        let size = entry.size();
        let mut content = Vec::with_capacity((size as usize).min(64 << 20));
        entry
            .read_to_end(&mut content)
            .map_err(|error| io_error(file, Some(&member), &error))?;
        // tar hands out a cut member silently, shorter than its header says.
        if content.len() as u64 != size {
            let reason = format!("the archive ends {} bytes into this {size}-byte member", content.len());
            return Err(DataError::Tar { file: member, reason });
        }
        visit(&path, content)?;
    }
    Ok(members)
}

/// A gzip decoder whose errors say that they come from gzip, so that a broken `.tar.gz` is reported as a
/// gzip problem or as a tar problem correctly even though tar reads through it.
struct Decompressor<R>(R);

#[derive(Debug)]
struct GzipFailure(io::Error);

impl std::fmt::Display for GzipFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for GzipFailure {}

impl<R: Read> Read for Decompressor<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buffer)
            .map_err(|error| io::Error::new(error.kind(), GzipFailure(error)))
    }
}

/// The error value for an I/O error while reading `file` as gzip or tar; a tar error that occurred inside a
/// member is reported against `member` (`archive/path`), a gzip error always against the compressed file.
fn io_error(file: &str, member: Option<&str>, error: &io::Error) -> DataError {
    match error.get_ref().and_then(|inner| inner.downcast_ref::<GzipFailure>()) {
        Some(gzip) => DataError::Gzip {
            file: file.to_string(),
            reason: gzip.to_string(),
        },
        None => DataError::Tar {
            file: member.unwrap_or(file).to_string(),
            reason: error.to_string(),
        },
    }
}

/// The layout of an official download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// `cifar-10-binary.tar.gz`: `cifar-10-batches-bin/data_batch_N.bin`, `test_batch.bin`, `batches.meta.txt`.
    Binary,
    /// `cifar-10-python.tar.gz`: `cifar-10-batches-py/data_batch_N`, `test_batch`, `batches.meta` (pickles).
    Python,
}

/// Writes `dataset` as a `.tar.gz` laid out like the official download of `format`: the training split cut
/// into `train_batches` consecutive batches `data_batch_1 …` (at least 1, at most one per image), the test
/// split as `test_batch`, plus the class-name file and a readme.
pub fn write_archive(dataset: &Dataset, format: ArchiveFormat, train_batches: usize) -> Vec<u8> {
    let (folder, extension) = match format {
        ArchiveFormat::Binary => ("cifar-10-batches-bin", ".bin"),
        ArchiveFormat::Python => ("cifar-10-batches-py", ""),
    };
    let train_batches = train_batches.clamp(1, dataset.train.len().max(1));
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for batch in 0..train_batches {
        let range = batch * dataset.train.len() / train_batches..(batch + 1) * dataset.train.len() / train_batches;
        let split = dataset.train.slice(range);
        let bytes = match format {
            ArchiveFormat::Binary => write_binary_batch(&split),
            ArchiveFormat::Python => {
                write_pickle_batch(&split, &format!("training batch {} of {train_batches}", batch + 1))
            }
        };
        members.push((format!("data_batch_{}{extension}", batch + 1), bytes));
    }
    let test_bytes = match format {
        ArchiveFormat::Binary => write_binary_batch(&dataset.test),
        ArchiveFormat::Python => write_pickle_batch(&dataset.test, "testing batch 1 of 1"),
    };
    members.push((format!("test_batch{extension}"), test_bytes));
    members.push(match format {
        ArchiveFormat::Binary => (
            "batches.meta.txt".to_string(),
            (CLASS_NAMES.join("\n") + "\n").into_bytes(),
        ),
        ArchiveFormat::Python => {
            let per_batch = dataset.train.len().div_ceil(train_batches);
            ("batches.meta".to_string(), write_pickle_meta(per_batch))
        }
    });
    let readme = format!(
        "<meta HTTP-EQUIV=\"REFRESH\" content=\"0; url=https://www.cs.toronto.edu/~kriz/cifar.html\">\n<!-- {} -->\n",
        dataset.name
    );
    members.push(("readme.html".to_string(), readme.into_bytes()));

    let mut tar = tar::Builder::new(Vec::new());
    // Writing to memory cannot fail, and the member names are ours: the `expect`s below never fire.
    let mut folder_header = tar_header(tar::EntryType::Directory, 0, 0o755);
    tar.append_data(&mut folder_header, format!("{folder}/"), io::empty())
        .expect("tar to memory");
    for (name, bytes) in &members {
        let mut header = tar_header(tar::EntryType::Regular, bytes.len(), 0o644);
        tar.append_data(&mut header, format!("{folder}/{name}"), bytes.as_slice())
            .expect("tar to memory");
    }
    let tar_bytes = tar.into_inner().expect("tar to memory");
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(&tar_bytes).expect("gzip to memory");
    gzip.finish().expect("gzip to memory")
}

/// A GNU tar header with a fixed date, so that the same data set always gives the same bytes.
fn tar_header(entry_type: tar::EntryType, size: usize, mode: u32) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_size(size as u64);
    header.set_mode(mode);
    header.set_mtime(1_244_540_434); // any fixed time will do (this one is in June 2009)
    header
}
