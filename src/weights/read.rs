//! A safetensors file read into named tensors the lab can load: the `safetensors` crate parses and validates
//! the container (header, offsets, sizes); this adds the checks a model's state needs (dtypes, shapes).
use std::collections::BTreeMap;

use safetensors::{Dtype, SafeTensors};

use super::{WeightsError, MAX_RANK};

/// A state dict read from a file: tensors by name, and the file's metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateDict {
    pub tensors: BTreeMap<String, StoredTensor>,
    pub metadata: BTreeMap<String, String>,
}

/// One tensor of a file, its values in PyTorch's row-major layout.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTensor {
    pub shape: Vec<usize>,
    pub values: StoredValues,
}

/// The values of a stored tensor: parameters and statistics as `F32`, counts as `I64`.
#[derive(Clone, Debug, PartialEq)]
pub enum StoredValues {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl StoredValues {
    pub fn dtype_name(&self) -> &'static str {
        match self {
            StoredValues::F32(_) => "F32",
            StoredValues::I64(_) => "I64",
        }
    }
}

/// The largest number of values one tensor may hold (2³¹, far above any layer the lab builds).
const MAX_VALUES: usize = 1 << 31;

impl StateDict {
    /// Parses `bytes` as a safetensors file of `F32` (and `I64`) tensors of rank ≤ [`MAX_RANK`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        let file = SafeTensors::deserialize(bytes)?;
        let (_, header) = SafeTensors::read_metadata(bytes)?;
        let metadata = header
            .metadata()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let mut tensors = BTreeMap::new();
        for (name, view) in file.iter() {
            let shape = view.shape().to_vec();
            let count = shape.iter().product::<usize>();
            if shape.len() > MAX_RANK || count > MAX_VALUES {
                return Err(WeightsError::AbsurdShape {
                    name: name.to_string(),
                    expected: format!("at most {MAX_RANK} dimensions and {MAX_VALUES} values"),
                    found: shape,
                });
            }
            let data = view.data();
            let values = match view.dtype() {
                Dtype::F32 => StoredValues::F32(
                    data.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                ),
                Dtype::I64 => StoredValues::I64(
                    data.chunks_exact(8)
                        .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                        .collect(),
                ),
                other => {
                    return Err(WeightsError::Dtype {
                        name: name.to_string(),
                        expected: "F32 (float32; I64 for counts such as num_batches_tracked)",
                        found: format!("{other:?}"),
                    })
                }
            };
            tensors.insert(name.to_string(), StoredTensor { shape, values });
        }
        Ok(Self { tensors, metadata })
    }

    /// The tensors whose names start with `prefix`, without it (`model.0.weight` → `0.weight`).
    pub fn within(&self, prefix: &str) -> StateDict {
        StateDict {
            tensors: self
                .tensors
                .iter()
                .filter_map(|(name, t)| name.strip_prefix(prefix).map(|n| (n.to_string(), t.clone())))
                .collect(),
            metadata: self.metadata.clone(),
        }
    }
}
