//! Every convolution's kernels, not only the first layer's: for one convolution weight `[out, in, k, k]`, each
//! output channel's kernel slices (one per input channel) as small grey tiles, scaled per output channel so
//! that grey is 0 and the channel's largest |weight| is black or white.
use super::{Session, SessionError};

/// Output channels (rows) and input channels (columns) shown at most.
pub const MAX_OUTPUTS: usize = 32;
pub const MAX_INPUTS: usize = 16;

/// One convolution weight of the model.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KernelTensor {
    /// The layer holding it and the layer's name.
    pub layer: usize,
    pub name: String,
    /// The parameter's name within the layer (`weight`, or `conv1.weight` in a residual block).
    pub parameter: String,
    /// `[out, in, k, k]`.
    pub shape: Vec<usize>,
}

/// The kernels of one convolution weight: `outputs × inputs` tiles of `size × size` in the reply's pixels,
/// row by row (output channel by output channel).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Kernels {
    /// Every convolution weight of the model, in layer order.
    pub tensors: Vec<KernelTensor>,
    /// Which of `tensors` is shown.
    pub shown: usize,
    pub outputs: usize,
    pub inputs: usize,
    pub size: usize,
}

impl Session {
    /// The kernels of convolution weight `tensor` (an index into [`Kernels::tensors`]; the first if `None`).
    pub(super) fn kernels(&mut self, tensor: Option<usize>, pixels: &mut Vec<u8>) -> Result<Kernels, SessionError> {
        let network = self.ensure_trainer()?.network_mut();
        let mut tensors = Vec::new();
        let mut values = Vec::new();
        let wanted = tensor.unwrap_or(0);
        network.visit_params(&mut |layer, p| {
            if p.shape.len() == 4 && p.shape[2] == p.shape[3] {
                if tensors.len() == wanted {
                    values = p.value.to_vec();
                }
                tensors.push(KernelTensor {
                    layer,
                    name: String::new(),
                    parameter: p.name.to_string(),
                    shape: p.shape.clone(),
                });
            }
        });
        for tensor in &mut tensors {
            tensor.name = network.layers()[tensor.layer].name();
        }
        let Some(chosen) = tensors.get(wanted) else {
            return Err(match tensors.len() {
                0 => SessionError::request("kernels", "a model with convolutions", "a model without any"),
                count => SessionError::request("kernels", format!("a convolution index below {count}"), wanted),
            });
        };
        let [out_channels, in_channels, size, _] = chosen.shape[..] else {
            unreachable!("only 4-dimensional weights are listed")
        };
        let (outputs, inputs) = (out_channels.min(MAX_OUTPUTS), in_channels.min(MAX_INPUTS));
        let plane = size * size;
        for kernel in values.chunks_exact(in_channels * plane).take(outputs) {
            let scale = kernel.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
            for slice in kernel.chunks_exact(plane).take(inputs) {
                for &v in slice {
                    let grey = (127.5 + 127.5 * v / scale).round().clamp(0.0, 255.0) as u8;
                    pixels.extend([grey, grey, grey, 255]);
                }
            }
        }
        Ok(Kernels {
            tensors,
            shown: wanted,
            outputs,
            inputs,
            size,
        })
    }
}
