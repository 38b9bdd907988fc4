//! The Python pickle batches (`data_batch_N`, `test_batch` of `cifar-10-python.tar.gz`), read and written.
//!
//! Each batch is a dict pickled by Python 2's cPickle with protocol 2:
//! `{b'batch_label': b'training batch 1 of 5', b'labels': [6, 9, …], b'data': <uint8 array 10000×3072>,
//! b'filenames': [b'leptodactylus_pentadactylus_s_000004.png', …]}`. The numpy array is pickled as
//! `numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')` followed by BUILD with the state tuple
//! `(1, (10000, 3072), dtype('u1'), False, <30,720,000 raw bytes>)`.
//!
//! Reading goes through serde-pickle's generic [`Value`]: unknown globals (numpy's) are kept as stand-ins and
//! BUILD replaces a stand-in by its state, so the array arrives as its state tuple with the raw bytes in it.
//! `keep_restore_state` makes protocol 5 work too: numpy then pickles
//! `numpy._core.numeric._frombuffer(<raw bytes>, dtype, shape, order)`, which arrives as that argument tuple.
//! Python 3 pickles (protocols 2–5, with `bytes` or `str` keys) are read as well.
//!
//! serde-pickle builds nested values recursively and expands shared memo entries by copying, so a pickle
//! crafted to nest ~100,000 levels deep (or to share entries exponentially) would exhaust the stack or the
//! memory inside it: every pickle is first scanned by [`scan_pickle`], which bounds the nesting, the
//! expanded size and the declared lengths before serde-pickle sees a byte.
//!
//! serde-pickle cannot emit numpy's globals, so [`write_pickle_batch`] is a small hand-written emitter of the
//! exact opcodes cPickle uses for such a dict; it exists so that tests read the real structure.

use std::collections::BTreeMap;

use serde_pickle::{DeOptions, HashableValue, Value};

use super::class_names::validate_class_names;
use super::pickle_scan::{scan_pickle, PickleLimits, ScanError};
use super::{DataError, Split, CLASS_NAMES, NUM_CLASSES, PIXELS};
use crate::error::shortened;

/// What a pickle held: a batch, or the `batches.meta` dict of class names (which has no images).
pub(crate) enum PickleContent {
    Batch {
        split: Split,
        batch_label: Option<String>,
    },
    /// `batches.meta`: its validated `label_names`.
    Meta {
        class_names: Vec<String>,
    },
}

/// True when `bytes` start like a binary pickle (the PROTO opcode with protocol 2–5).
pub(crate) fn looks_like_pickle(bytes: &[u8]) -> bool {
    matches!(bytes, [0x80, 2..=5, ..])
}

/// Reads a pickled CIFAR-10 batch (or `batches.meta`). `file` only names the file in errors.
pub(crate) fn read_pickle(file: &str, bytes: &[u8]) -> Result<PickleContent, DataError> {
    scan_pickle(bytes, &PickleLimits::for_file(bytes.len())).map_err(|error| match error {
        ScanError::Broken(reason) => DataError::Pickle {
            file: file.to_string(),
            reason,
        },
        ScanError::Limit { expected, found } => DataError::PickleRefused {
            file: file.to_string(),
            expected,
            found,
        },
    })?;
    let options = DeOptions::new().keep_restore_state().replace_unresolved_globals();
    let value = serde_pickle::value_from_slice(bytes, options).map_err(|error| DataError::Pickle {
        file: file.to_string(),
        reason: shortened(&error.to_string(), QUOTED_CHARS),
    })?;
    let not_a_batch = |found: String| DataError::NotABatch {
        file: file.to_string(),
        expected: "a CIFAR-10 batch (a dict with b'data' and b'labels')".to_string(),
        found,
    };
    let Value::Dict(dict) = value else {
        return Err(not_a_batch(format!("{} instead of a dict", kind(&value))));
    };
    let (data, labels) = match (get(&dict, "data"), get(&dict, "labels")) {
        (Some(data), Some(labels)) => (data, labels),
        _ => match get(&dict, "label_names") {
            Some(names) => return read_label_names(file, names).map(|class_names| PickleContent::Meta { class_names }),
            None => return Err(not_a_batch(format!("a dict with keys [{}]", key_names(&dict)))),
        },
    };

    let labels = read_labels(file, labels)?;
    let (rows, pixels) = numpy_uint8_rows(data).map_err(|found| DataError::NotABatch {
        file: file.to_string(),
        expected: "b'data' to be a uint8 numpy array of shape (N, 3072)".to_string(),
        found,
    })?;
    if rows != labels.len() {
        return Err(DataError::NotABatch {
            file: file.to_string(),
            expected: format!("one image per label ({} labels)", labels.len()),
            found: format!("{rows} images in b'data'"),
        });
    }
    let batch_label = get(&dict, "batch_label").and_then(|label| match label {
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::String(string) => Some(string.clone()),
        _ => None,
    });
    Ok(PickleContent::Batch {
        split: Split {
            images: pixels.to_vec(),
            labels,
        },
        batch_label,
    })
}

/// Looks a key up whether it was pickled as `bytes` (Python 2 `str`, as in the official files) or as `str`.
fn get<'a>(dict: &'a BTreeMap<HashableValue, Value>, key: &str) -> Option<&'a Value> {
    dict.get(&HashableValue::Bytes(key.as_bytes().to_vec()))
        .or_else(|| dict.get(&HashableValue::String(key.to_string())))
}

/// `b'label_names'`: a list of ten byte strings (Python 2) or str (Python 3), validated as class names.
fn read_label_names(file: &str, names: &Value) -> Result<Vec<String>, DataError> {
    let (Value::List(items) | Value::Tuple(items)) = names else {
        return Err(DataError::ClassNames {
            file: file.to_string(),
            found: format!("b'label_names' as {}", kind(names)),
        });
    };
    let texts: Vec<String> = items
        .iter()
        .map(|item| match item {
            Value::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Value::String(text) => text.clone(),
            other => format!("<{}>", kind(other)),
        })
        .collect();
    let names: Vec<&str> = texts.iter().map(String::as_str).collect();
    validate_class_names(file, &names)
}

/// `b'labels'`: a list of ints 0–9.
fn read_labels(file: &str, labels: &Value) -> Result<Vec<u8>, DataError> {
    let (Value::List(items) | Value::Tuple(items)) = labels else {
        return Err(DataError::NotABatch {
            file: file.to_string(),
            expected: "b'labels' to be a list of ints".to_string(),
            found: kind(labels).to_string(),
        });
    };
    items
        .iter()
        .enumerate()
        .map(|(record, item)| match item {
            Value::I64(label) if (0..NUM_CLASSES as i64).contains(label) => Ok(*label as u8),
            Value::I64(label) => Err(DataError::BadLabel {
                file: file.to_string(),
                record,
                label: *label,
            }),
            other => Err(DataError::NotABatch {
                file: file.to_string(),
                expected: "b'labels' to be a list of ints".to_string(),
                found: format!("{} at index {record}", kind(other)),
            }),
        })
        .collect()
}

/// The number of rows and the raw bytes of a pickled C-order uint8 array of shape `(N, 3072)` (or
/// `(N, 3, 32, 32)`), or a description of what was found instead.
///
/// The array arrives as a tuple holding a shape tuple of ints and the raw bytes: the BUILD state
/// `(version, shape, dtype, is_fortran, raw)` for protocols 2–4, the `_frombuffer` arguments
/// `(raw, dtype, shape, order)` for protocol 5. numpy's dtype object is replaced by its own state tuple on the
/// way, so the element size is checked through the byte count: one byte per element means uint8 (or int8).
fn numpy_uint8_rows(value: &Value) -> Result<(usize, &[u8]), String> {
    let Value::Tuple(items) = value else {
        return Err(kind(value).to_string());
    };
    let shape = items.iter().find_map(as_shape);
    let raw = items.iter().find_map(|item| match item {
        Value::Bytes(raw) => Some(raw.as_slice()),
        _ => None,
    });
    let (Some(shape), Some(raw)) = (shape, raw) else {
        return Err("a pickled object without an array shape and raw bytes".to_string());
    };
    let fortran_order = items
        .iter()
        .any(|item| matches!(item, Value::Bool(true)) || matches!(item, Value::String(order) if order == "F"));
    let shape_text = format!(
        "({})",
        shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
    );
    let rows = shape[0];
    let row_size = shape[1..].iter().try_fold(1usize, |size, &dim| size.checked_mul(dim));
    if shape.len() < 2 || row_size != Some(PIXELS) {
        return Err(format!("an array of shape {shape_text}"));
    }
    if fortran_order {
        return Err(format!(
            "an array of shape {shape_text} in Fortran (column-major) order"
        ));
    }
    if rows.checked_mul(PIXELS) != Some(raw.len()) {
        return Err(format!(
            "an array of shape {shape_text} with {} bytes of data (not uint8?)",
            raw.len()
        ));
    }
    Ok((rows, raw))
}

/// A non-empty tuple of non-negative ints, as numpy pickles an array's shape.
fn as_shape(value: &Value) -> Option<Vec<usize>> {
    let Value::Tuple(dims) = value else {
        return None;
    };
    let dim = |dim: &Value| match dim {
        Value::I64(n) => usize::try_from(*n).ok(),
        _ => None,
    };
    Some(dims.iter().map(dim).collect::<Option<Vec<_>>>()?).filter(|dims| !dims.is_empty())
}

/// The kind of a pickled value, in Python's words, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::None => "None",
        Value::Bool(_) => "a bool",
        Value::I64(_) | Value::Int(_) => "an int",
        Value::F64(_) => "a float",
        Value::Bytes(_) => "a byte string",
        Value::String(_) => "a str",
        Value::List(_) => "a list",
        Value::Tuple(_) => "a tuple",
        Value::Set(_) | Value::FrozenSet(_) => "a set",
        Value::Dict(_) => "a dict",
    }
}

/// The keys of a dict as Python 2 prints them (`b'data'`), at most 8 of them.
fn key_names(dict: &BTreeMap<HashableValue, Value>) -> String {
    let mut names: Vec<String> = dict
        .keys()
        .take(8)
        .map(|key| match key {
            HashableValue::Bytes(bytes) => format!("b'{}'", String::from_utf8_lossy(bytes)),
            HashableValue::String(string) => format!("'{string}'"),
            other => format!("{other:?}"),
        })
        .map(|name| shortened(&name, QUOTED_CHARS))
        .collect();
    if dict.len() > names.len() {
        names.push("…".to_string());
    }
    names.join(", ")
}

/// How much of serde-pickle's message (which can quote a whole 30 MB byte string) or of a dict key an error
/// quotes.
const QUOTED_CHARS: usize = 200;

/// Writes `split` as a pickle batch with the structure Python 2 + numpy write for `data_batch_N`:
/// protocol 2, `bytes` keys, the array via `numpy.core.multiarray._reconstruct` and a BUILD state tuple, memo
/// entries where cPickle puts them. `batch_label` is e.g. "training batch 1 of 5" or "testing batch 1 of 1".
///
/// # Panics
/// If the images exceed 2 GiB (about 699,000 images): Python 2's BINSTRING cannot hold more either.
pub fn write_pickle_batch(split: &Split, batch_label: &str) -> Vec<u8> {
    let mut pickle = PickleWriter::new();
    pickle.dict_start();
    pickle.string(b"data");
    pickle.uint8_matrix(split.len(), PIXELS, &split.images);
    pickle.string(b"labels");
    pickle.list(&split.labels, |pickle, &label| pickle.int(label.into()));
    pickle.string(b"batch_label");
    pickle.string(batch_label.as_bytes());
    pickle.string(b"filenames");
    let filenames: Vec<String> = (split.labels.iter().enumerate())
        .map(|(index, &label)| format!("{}_s_{index:06}.png", CLASS_NAMES[label as usize % NUM_CLASSES]))
        .collect();
    pickle.list(&filenames, |pickle, name| pickle.string(name.as_bytes()));
    pickle.dict_end();
    pickle.finish()
}

/// Writes the `batches.meta` dict of the Python download: class names and sizes, no images.
pub(crate) fn write_pickle_meta(num_cases_per_batch: usize) -> Vec<u8> {
    let mut pickle = PickleWriter::new();
    pickle.dict_start();
    pickle.string(b"num_cases_per_batch");
    pickle.int(num_cases_per_batch as i64);
    pickle.string(b"label_names");
    pickle.list(&CLASS_NAMES, |pickle, name| pickle.string(name.as_bytes()));
    pickle.string(b"num_vis");
    pickle.int(PIXELS as i64);
    pickle.dict_end();
    pickle.finish()
}

/// The opcodes the writer emits, named as in Python's `pickletools` (serde-pickle keeps its own private).
mod opcode {
    pub const PROTO: u8 = 0x80;
    pub const STOP: u8 = b'.';
    pub const MARK: u8 = b'(';
    pub const EMPTY_DICT: u8 = b'}';
    pub const SETITEMS: u8 = b'u';
    pub const EMPTY_LIST: u8 = b']';
    pub const APPEND: u8 = b'a';
    pub const APPENDS: u8 = b'e';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const BININT: u8 = b'J';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const BINSTRING: u8 = b'T';
    pub const NONE: u8 = b'N';
    pub const NEWFALSE: u8 = 0x89;
    pub const GLOBAL: u8 = b'c';
    pub const REDUCE: u8 = b'R';
    pub const BUILD: u8 = b'b';
    pub const TUPLE: u8 = b't';
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
}

/// Emits the protocol-2 opcodes of Python 2's cPickle, only those a CIFAR batch needs.
struct PickleWriter {
    bytes: Vec<u8>,
    next_memo: u32,
}

impl PickleWriter {
    /// cPickle writes at most this many items per APPENDS / SETITEMS.
    const BATCH: usize = 1000;

    fn new() -> Self {
        PickleWriter {
            bytes: vec![opcode::PROTO, 2],
            next_memo: 0,
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.op(opcode::STOP);
        self.bytes
    }

    fn op(&mut self, opcode: u8) {
        self.bytes.push(opcode);
    }

    /// An op whose result cPickle memoizes (tuples, REDUCE results).
    fn op_memoized(&mut self, opcode: u8) {
        self.op(opcode);
        self.memoize();
    }

    /// BINPUT / LONG_BINPUT: cPickle memoizes every string, tuple, container, global and REDUCE result.
    fn memoize(&mut self) {
        match u8::try_from(self.next_memo) {
            Ok(id) => self.bytes.extend_from_slice(&[opcode::BINPUT, id]),
            Err(_) => {
                self.op(opcode::LONG_BINPUT);
                self.bytes.extend_from_slice(&self.next_memo.to_le_bytes());
            }
        }
        self.next_memo += 1;
    }

    /// BININT1 / BININT2 / BININT, the smallest that fits, as cPickle chooses.
    fn int(&mut self, value: i64) {
        if let Ok(byte) = u8::try_from(value) {
            self.bytes.extend_from_slice(&[opcode::BININT1, byte]);
        } else if let Ok(short) = u16::try_from(value) {
            self.op(opcode::BININT2);
            self.bytes.extend_from_slice(&short.to_le_bytes());
        } else {
            let int = i32::try_from(value).expect("a CIFAR batch needs no ints beyond 32 bits");
            self.op(opcode::BININT);
            self.bytes.extend_from_slice(&int.to_le_bytes());
        }
    }

    /// A Python 2 `str`: SHORT_BINSTRING below 256 bytes, else BINSTRING.
    fn string(&mut self, text: &[u8]) {
        if let Ok(len) = u8::try_from(text.len()) {
            self.bytes.extend_from_slice(&[opcode::SHORT_BINSTRING, len]);
        } else {
            let len = i32::try_from(text.len()).expect("Python 2 strings hold at most 2 GiB");
            self.op(opcode::BINSTRING);
            self.bytes.extend_from_slice(&len.to_le_bytes());
        }
        self.bytes.extend_from_slice(text);
        self.memoize();
    }

    /// GLOBAL `module.name`.
    fn global(&mut self, module: &str, name: &str) {
        self.op(opcode::GLOBAL);
        self.bytes.extend_from_slice(format!("{module}\n{name}\n").as_bytes());
        self.memoize();
    }

    /// EMPTY_DICT, then MARK for the SETITEMS that [`Self::dict_end`] writes (one batch: our dicts are small).
    fn dict_start(&mut self) {
        self.op(opcode::EMPTY_DICT);
        self.memoize();
        self.op(opcode::MARK);
    }

    fn dict_end(&mut self) {
        self.op(opcode::SETITEMS);
    }

    /// EMPTY_LIST, then the items in batches of 1000: MARK … APPENDS, or a lone item with APPEND.
    fn list<T>(&mut self, items: &[T], mut write_item: impl FnMut(&mut Self, &T)) {
        self.op(opcode::EMPTY_LIST);
        self.memoize();
        for chunk in items.chunks(Self::BATCH) {
            if let [item] = chunk {
                write_item(self, item);
                self.op(opcode::APPEND);
            } else {
                self.op(opcode::MARK);
                chunk.iter().for_each(|item| write_item(self, item));
                self.op(opcode::APPENDS);
            }
        }
    }

    /// A C-order uint8 numpy array `rows × columns`, exactly as numpy 1.x under Python 2 pickles it.
    fn uint8_matrix(&mut self, rows: usize, columns: usize, raw: &[u8]) {
        // _reconstruct(ndarray, (0,), b'b'): an empty array to BUILD into
        self.global("numpy.core.multiarray", "_reconstruct");
        self.global("numpy", "ndarray");
        self.int(0);
        self.op_memoized(opcode::TUPLE1);
        self.string(b"b");
        self.op_memoized(opcode::TUPLE3);
        self.op_memoized(opcode::REDUCE);
        // BUILD state: (1, (rows, columns), dtype('u1'), False, raw)
        self.op(opcode::MARK);
        self.int(1);
        self.int(rows as i64);
        self.int(columns as i64);
        self.op_memoized(opcode::TUPLE2);
        self.uint8_dtype();
        self.op(opcode::NEWFALSE);
        self.string(raw);
        self.op_memoized(opcode::TUPLE);
        self.op(opcode::BUILD);
    }

    /// `dtype('u1', 0, 1)` with BUILD state `(3, '|', None, None, None, -1, -1, 0)`.
    fn uint8_dtype(&mut self) {
        self.global("numpy", "dtype");
        self.string(b"u1");
        self.int(0);
        self.int(1);
        self.op_memoized(opcode::TUPLE3);
        self.op_memoized(opcode::REDUCE);
        self.op(opcode::MARK);
        self.int(3);
        self.string(b"|");
        (0..3).for_each(|_| self.op(opcode::NONE));
        self.int(-1);
        self.int(-1);
        self.int(0);
        self.op_memoized(opcode::TUPLE);
        self.op(opcode::BUILD);
    }
}
