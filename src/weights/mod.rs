//! Model weights in and out as `.safetensors`, with tensor names and layouts of PyTorch's `state_dict`.
//!
//! A file the lab writes loads in PyTorch with `model.load_state_dict(safetensors.torch.load_file(path))` on the
//! module of `docs/pytorch_models.py` that matches its configuration, and a state dict PyTorch saved with
//! `safetensors.torch.save_file(model.state_dict(), path)` loads here. The lab's model configuration travels in
//! the file's metadata (key [`MODEL_KEY`], JSON), so a file alone rebuilds its model ([`load`]); a file without
//! it loads into a model built by hand ([`load_into`]), which checks every tensor first and lists every
//! mismatch (name, expected shape, found shape) before touching the model.
//!
//! The bytes are parsed by the `safetensors` crate; the lab adds what a model needs on top: `F32` parameters
//! and buffers, an `I64` `num_batches_tracked`, shapes a layer can have.
mod error;
mod inspect;
mod load;
mod read;
mod save;

pub use error::{TensorMismatch, WeightsError};
pub use inspect::{inspect, Inspection, TensorEntry};
pub use load::{load, load_into, LoadReport};
pub use read::{StateDict, StoredTensor, StoredValues};
pub use save::{save, InputNormalization, WeightsMetadata};
pub(crate) use save::{serialize, state_tensors, Bytes};

/// The metadata key holding the lab's [`crate::model::ModelConfig`] as JSON.
pub const MODEL_KEY: &str = "backprop_lab.model";
/// The metadata key naming the input normalisation the weights expect.
pub const INPUT_KEY: &str = "backprop_lab.input";
/// The largest number of dimensions a layer's tensor has (a convolution's weight has 4).
pub const MAX_RANK: usize = 4;
