//! The page's per-layer norm curves on the GPU ([`crate::train::LayerNorms`]: `‖∂L/∂θ‖₂` of a step's batch
//! gradient and `‖θ‖₂` after its update, each layer's tensors together): one dispatch sums the squares of every
//! parameter tensor (`shaders/norms.wgsl`), recorded after the optimizer in the steps whose metrics are read
//! back, and copied back with them, so no step waits for it. The per-layer sums and square roots are taken on
//! the CPU in f64, as `LayerNorms::measure` does.
use std::ops::Range;

use super::buffers::Tensor;
use super::kernel::{workgroup_grid, Dispatch, Library};
use super::shaders::NORMS;
use super::{GpuContext, GpuError};
use crate::train::LayerNorms;

/// The squares kernel of one network and how its tensors group into layers.
pub struct GpuNorms {
    pub(crate) dispatch: Dispatch,
    /// Per tensor: Σ (∂L/∂θ)², Σ θ².
    pub(crate) squares: Tensor,
    _ranges: Tensor,
    /// How many tensors each layer with parameters has, in layer order.
    tensors_per_layer: Vec<usize>,
}

impl GpuNorms {
    /// The kernel over `values` and `grads`, whose layers' tensors lie at `layers` (one list of ranges per
    /// layer, in `visit_params` order); `None` for a network without parameters.
    pub fn new(
        context: &GpuContext,
        library: &mut Library,
        (values, grads): (&Tensor, &Tensor),
        layers: &[Vec<Range<usize>>],
    ) -> Result<Option<Self>, GpuError> {
        let ranges: Vec<u32> = layers
            .iter()
            .flatten()
            .flat_map(|range| [range.start as u32, range.len() as u32])
            .collect();
        let tensors = ranges.len() / 2;
        if tensors == 0 {
            return Ok(None);
        }
        let ranges = Tensor::from_u32(context, &ranges, "parameter ranges");
        let squares = Tensor::zeros(context, 2 * tensors, "squares per tensor");
        let dispatch = library.dispatch(
            context,
            "norms",
            NORMS,
            "squares_per_tensor",
            &[tensors as u32],
            &[
                (1, values.binding()),
                (2, grads.binding()),
                (3, ranges.binding()),
                (4, squares.binding()),
            ],
            workgroup_grid(tensors),
        )?;
        Ok(Some(Self {
            dispatch,
            squares,
            _ranges: ranges,
            tensors_per_layer: layers.iter().map(Vec::len).filter(|&n| n > 0).collect(),
        }))
    }

    /// The norms of step `step` from a copy of [`GpuNorms::squares`] (as `u32` words).
    pub fn layer_norms(&self, words: &[u32], step: usize) -> LayerNorms {
        let mut squares = words.iter().map(|&w| f64::from(f32::from_bits(w)));
        let mut norms = LayerNorms {
            step,
            gradient: Vec::new(),
            weight: Vec::new(),
        };
        for &tensors in &self.tensors_per_layer {
            let (mut gradient, mut weight) = (0.0, 0.0);
            for _ in 0..tensors {
                gradient += squares.next().unwrap_or(0.0);
                weight += squares.next().unwrap_or(0.0);
            }
            norms.gradient.push(gradient.sqrt());
            norms.weight.push(weight.sqrt());
        }
        norms
    }
}
