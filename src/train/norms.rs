//! Per-layer gradient and weight norms over the steps: the report's vanishing-gradient discussion (Tanh against
//! ELU) and BatchNorm against LayerNorm at small batches become curves. Each layer's norm is the Euclidean norm
//! of all its parameters (weights and biases, γ and β) taken together.
use crate::kernels::sum_of_squares;
use crate::model::Network;

/// The norms after one step, one entry per layer with parameters (in [`parameter_layers`] order).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerNorms {
    pub step: usize,
    /// `‖∂L/∂θ‖₂` of the step's batch gradient.
    pub gradient: Vec<f64>,
    /// `‖θ‖₂` after the step's update.
    pub weight: Vec<f64>,
}

/// The layers that have parameters, as (index in the network, display name).
pub fn parameter_layers(network: &mut Network<f32>) -> Vec<(usize, String)> {
    let mut indices: Vec<usize> = Vec::new();
    network.visit_params(&mut |layer, _| {
        if indices.last() != Some(&layer) {
            indices.push(layer);
        }
    });
    indices
        .into_iter()
        .map(|index| (index, network.layers()[index].name()))
        .collect()
}

impl LayerNorms {
    /// The norms of `network`'s gradients and parameters as they are now (summed in f64).
    pub fn measure(network: &mut Network<f32>, step: usize) -> Self {
        let mut norms = Self {
            step,
            gradient: Vec::new(),
            weight: Vec::new(),
        };
        let mut current = None;
        network.visit_params(&mut |layer, p| {
            if current != Some(layer) {
                current = Some(layer);
                norms.gradient.push(0.0);
                norms.weight.push(0.0);
            }
            if let (Some(gradient), Some(weight)) = (norms.gradient.last_mut(), norms.weight.last_mut()) {
                *gradient += sum_of_squares(p.grad);
                *weight += sum_of_squares(p.value);
            }
        });
        for value in norms.gradient.iter_mut().chain(norms.weight.iter_mut()) {
            *value = value.sqrt();
        }
        norms
    }
}
