//! A model's state dict written as safetensors, with the lab's configuration in the metadata.
use std::borrow::Cow;

use safetensors::{Dtype, View};

use super::{WeightsError, INPUT_KEY, MODEL_KEY};
pub use crate::data::InputNormalization;
use crate::layers::StateValues;
use crate::model::{ModelConfig, Network};
use crate::Scalar;

/// What the file says besides its tensors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WeightsMetadata {
    /// The configuration that rebuilds the model (absent in files PyTorch wrote).
    pub model: Option<ModelConfig>,
    pub input: InputNormalization,
}

/// A tensor's bytes for the `safetensors` writer.
pub(crate) struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl Bytes {
    pub(crate) fn f32(shape: Vec<usize>, values: impl IntoIterator<Item = f32>) -> Self {
        Self {
            dtype: Dtype::F32,
            shape,
            data: values.into_iter().flat_map(f32::to_le_bytes).collect(),
        }
    }

    pub(crate) fn i64(shape: Vec<usize>, values: impl IntoIterator<Item = i64>) -> Self {
        Self {
            dtype: Dtype::I64,
            shape,
            data: values.into_iter().flat_map(i64::to_le_bytes).collect(),
        }
    }
}

impl View for &Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// The network's state dict as a safetensors file: parameters and running statistics as `F32`,
/// `num_batches_tracked` as an `I64` scalar, as PyTorch stores them; `metadata` in the header.
pub fn save<T: Scalar>(network: &mut Network<T>, metadata: &WeightsMetadata) -> Result<Vec<u8>, WeightsError> {
    let mut tensors: Vec<(String, Bytes)> = Vec::new();
    network.visit_state(&mut |t| {
        let (dtype, data) = match t.values {
            StateValues::Learned(v) | StateValues::Buffer(v) => (
                Dtype::F32,
                v.iter().flat_map(|x| (x.to_f64_lossy() as f32).to_le_bytes()).collect(),
            ),
            StateValues::Count(c) => (Dtype::I64, c.to_le_bytes().to_vec()),
        };
        tensors.push((
            t.name,
            Bytes {
                dtype,
                shape: t.shape,
                data,
            },
        ));
    });
    let mut header = vec![
        ("format".to_string(), "pt".to_string()),
        (INPUT_KEY.to_string(), metadata.input.key().to_string()),
    ];
    if let Some(model) = &metadata.model {
        let json = serde_json::to_string(model).map_err(|e| WeightsError::Write(e.to_string()))?;
        header.push((MODEL_KEY.to_string(), json));
    }
    serialize(&tensors, header)
}

/// The network's state dict as tensors named `prefix` + the state name.
pub(crate) fn state_tensors<T: Scalar>(network: &mut Network<T>, prefix: &str) -> Vec<(String, Bytes)> {
    let mut tensors = Vec::new();
    network.visit_state(&mut |t| {
        let bytes = match t.values {
            StateValues::Learned(v) | StateValues::Buffer(v) => {
                Bytes::f32(t.shape, v.iter().map(|x| x.to_f64_lossy() as f32))
            }
            StateValues::Count(c) => Bytes::i64(t.shape, [*c]),
        };
        tensors.push((format!("{prefix}{}", t.name), bytes));
    });
    tensors
}

/// A safetensors file of `tensors` with `header` as its metadata.
pub(crate) fn serialize(tensors: &[(String, Bytes)], header: Vec<(String, String)>) -> Result<Vec<u8>, WeightsError> {
    safetensors::serialize(
        tensors.iter().map(|(name, bytes)| (name.as_str(), bytes)),
        Some(header.into_iter().collect()),
    )
    .map_err(|e| WeightsError::Write(e.to_string()))
}
