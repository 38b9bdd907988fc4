//! Each activation function and its derivative on a grid, computed by the layers themselves: the forward
//! pass gives `h(x)`, the backward pass with `∂L/∂Y = 1` gives `h′(x)` (the page only draws them).
use ndarray::Array2;

use crate::layers::Mode;
use crate::model::Activation;

/// The grid: `POINTS` values of `x` evenly from `-RANGE` to `RANGE`.
pub const RANGE: f64 = 4.0;
pub const POINTS: usize = 161;

/// One activation function sampled on the grid.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActivationCurve {
    pub name: String,
    pub x: Vec<f64>,
    /// `h(x)`.
    pub value: Vec<f64>,
    /// `h′(x)`, from the layer's backward pass.
    pub derivative: Vec<f64>,
}

/// Every activation the models use, in the form's order.
pub fn activation_curves() -> Vec<ActivationCurve> {
    [Activation::Elu, Activation::Relu, Activation::Tanh]
        .into_iter()
        .map(activation_curve)
        .collect()
}

/// `activation` sampled on the grid through its layer's forward and backward (in f64).
pub fn activation_curve(activation: Activation) -> ActivationCurve {
    let mut layer = activation.layer::<f64>();
    let x: Vec<f64> = (0..POINTS)
        .map(|i| -RANGE + 2.0 * RANGE * i as f64 / (POINTS - 1) as f64)
        .collect();
    let input = Array2::from_shape_vec((1, POINTS), x.clone()).expect("one row of POINTS values");
    let mut output = Array2::zeros((0, 0));
    layer.forward(input.view(), &mut output, Mode::Eval);
    let ones = Array2::ones((1, POINTS));
    let mut grad_input = Array2::zeros((0, 0));
    layer.backward(input.view(), output.view(), ones.view(), Some(&mut grad_input));
    ActivationCurve {
        name: layer.name(),
        x,
        value: output.iter().copied().collect(),
        derivative: grad_input.iter().copied().collect(),
    }
}
