//! Gradient checking: every hand-written backward pass against central finite differences in f64.
//!
//! For a layer `Y = f(X; θ)` the scalar objective is `L = Σ G ∘ Y` with a fixed random upstream gradient
//! `G`, so `∂L/∂X` is exactly what `backward(G)` must return. Numeric gradients are
//! `(L(v + h) − L(v − h)) / 2h` for every element `v` of the input and of each parameter.
//! Agreement is measured as in the assignment's unit tests:
//! `rel_error(a, n) = max over elements of |a − n| / max(1e-8, |a| + |n|)`.
use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::layers::{Layer, Mode};
use crate::loss::Loss;
use crate::model::Network;

mod suite;

pub use suite::{standard_suite, suite, SuiteOptions};

/// The assignment's finite-difference step.
pub const STEP: f64 = 1e-5;

/// When an analytic gradient counts as matching the numeric one.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Criterion {
    /// `rel_error < max` (the assignment's NumPy tests).
    RelError { max: f64 },
    /// Every element `|a − n| ≤ atol + rtol·|n|` (PyTorch's `gradcheck`, used for LayerNorm).
    AllClose { atol: f64, rtol: f64 },
}

impl Criterion {
    fn passes(&self, analytic: &[f64], numeric: &[f64], max_rel_error: f64) -> bool {
        match *self {
            Criterion::RelError { max } => max_rel_error < max,
            Criterion::AllClose { atol, rtol } => analytic
                .iter()
                .zip(numeric)
                .all(|(a, n)| (a - n).abs() <= atol + rtol * n.abs()),
        }
    }

    /// The worst error as a fraction of what the criterion allows (below 1 passes).
    pub fn margin(&self, analytic: &[f64], numeric: &[f64], max_rel_error: f64) -> f64 {
        match *self {
            Criterion::RelError { max } => max_rel_error / max,
            Criterion::AllClose { atol, rtol } => analytic
                .iter()
                .zip(numeric)
                .map(|(a, n)| (a - n).abs() / (atol + rtol * n.abs()))
                .fold(0.0, f64::max),
        }
    }

    /// The number shown in the tolerance column.
    pub fn tolerance(&self) -> f64 {
        match *self {
            Criterion::RelError { max } => max,
            Criterion::AllClose { atol, .. } => atol,
        }
    }

    /// The upstream gradient `G` of a layer check. For `RelError`, dense standard-normal. For `AllClose`
    /// (PyTorch's gradcheck, which compares Jacobians entry by entry), a single 1 at a random column of
    /// each row: each compared number is then one Jacobian entry `∂yₛⱼ/∂x` rather than a sum over the
    /// row, so rounding in large outputs (β = 100·arange) is not summed up before the comparison.
    pub fn probe(&self, rng: &mut impl Rng, rows: usize, cols: usize) -> Array2<f64> {
        match self {
            Criterion::RelError { .. } => random_normal(rng, rows, cols),
            Criterion::AllClose { .. } => {
                let mut probe = Array2::zeros((rows, cols));
                for mut row in probe.rows_mut() {
                    row[rng.random_range(0..cols.max(1))] = 1.0;
                }
                probe
            }
        }
    }

    pub fn describe(&self) -> String {
        match *self {
            Criterion::RelError { max } => format!("rel_error < {max:e}"),
            Criterion::AllClose { atol, rtol } => format!("|a−n| ≤ {atol:e} + {rtol:e}·|n|"),
        }
    }
}

/// One row of a gradient-check table.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckResult {
    pub layer: String,
    pub parameter: String,
    pub shape: Vec<usize>,
    pub max_rel_error: f64,
    pub max_abs_error: f64,
    pub tolerance: f64,
    pub criterion: String,
    /// How close the check came to failing: the worst error divided by what the criterion allows
    /// (`max_rel_error / max`, or the largest `|a − n| / (atol + rtol·|n|)`); it passes below 1.
    pub margin: f64,
    pub passed: bool,
}

/// The assignment's relative error: the largest element-wise `|x − y| / max(1e-8, |x| + |y|)`.
pub fn rel_error(x: &[f64], y: &[f64]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b).abs() / (a.abs() + b.abs()).max(1e-8))
        .fold(0.0, f64::max)
}

/// Compares an analytic gradient with a numeric one.
pub fn compare(
    layer: &str,
    parameter: &str,
    shape: &[usize],
    analytic: &[f64],
    numeric: &[f64],
    criterion: Criterion,
) -> CheckResult {
    let max_rel_error = rel_error(analytic, numeric);
    let max_abs_error = analytic
        .iter()
        .zip(numeric)
        .map(|(a, n)| (a - n).abs())
        .fold(0.0, f64::max);
    let finite = analytic.iter().chain(numeric).all(|v| v.is_finite()) && analytic.len() == numeric.len();
    let margin = criterion.margin(analytic, numeric, max_rel_error);
    CheckResult {
        layer: layer.to_string(),
        parameter: parameter.to_string(),
        shape: shape.to_vec(),
        max_rel_error,
        max_abs_error,
        tolerance: criterion.tolerance(),
        criterion: criterion.describe(),
        margin,
        passed: finite && criterion.passes(analytic, numeric, max_rel_error),
    }
}

/// Central differences `(f(v + h) − f(v − h)) / 2h` for each of `len` coordinates; `objective(i, delta)`
/// must evaluate the objective with coordinate `i` moved by `delta` and put it back.
pub fn central_differences(len: usize, h: f64, mut objective: impl FnMut(usize, f64) -> f64) -> Vec<f64> {
    (0..len)
        .map(|i| (objective(i, h) - objective(i, -h)) / (2.0 * h))
        .collect()
}

/// A matrix of standard-normal samples.
pub fn random_normal(rng: &mut impl Rng, rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || StandardNormal.sample(rng))
}

/// Replaces element `element` of the `index`-th parameter of a layer by `update(old)`; returns `old`.
fn nudge_layer_param(layer: &mut dyn Layer<f64>, index: usize, element: usize, update: &dyn Fn(f64) -> f64) -> f64 {
    let (mut k, mut old) = (0, 0.0);
    layer.visit_params(&mut |p| {
        if k == index {
            old = p.value[element];
            p.value[element] = update(old);
        }
        k += 1;
    });
    old
}

/// Replaces element `element` of the `index`-th parameter of a network by `update(old)`; returns `old`.
fn nudge_network_param(network: &mut Network<f64>, index: usize, element: usize, update: &dyn Fn(f64) -> f64) -> f64 {
    let (mut k, mut old) = (0, 0.0);
    network.visit_params(&mut |_, p| {
        if k == index {
            old = p.value[element];
            p.value[element] = update(old);
        }
        k += 1;
    });
    old
}

/// Checks a layer's `∂L/∂X` and every parameter gradient with `L = Σ G ∘ Y` for a random `G`.
pub fn check_layer(
    layer: &mut dyn Layer<f64>,
    input: &Array2<f64>,
    mode: Mode,
    criterion: Criterion,
    h: f64,
    rng: &mut impl Rng,
) -> Vec<CheckResult> {
    let name = layer.name();
    let mut output = Array2::zeros((0, 0));
    layer.forward(input.view(), &mut output, mode);
    let upstream = criterion.probe(rng, output.nrows(), output.ncols());
    let mut grad_input = Array2::zeros((0, 0));
    layer.backward(input.view(), output.view(), upstream.view(), Some(&mut grad_input));
    let mut analytic: Vec<(&'static str, Vec<usize>, Vec<f64>)> = Vec::new();
    layer.visit_params(&mut |p| analytic.push((p.name, p.shape.clone(), p.grad.to_vec())));

    // L(x + δ) − L(x − δ) = Σ G ∘ (Y(x + δ) − Y(x − δ)): differencing the outputs before the weighted sum,
    // as PyTorch's gradcheck does, keeps large constant outputs (β = 100·arange) from drowning the difference.
    let (mut plus, mut minus) = (Array2::zeros((0, 0)), Array2::zeros((0, 0)));
    let mut difference = |layer: &mut dyn Layer<f64>, x_plus: &Array2<f64>, x_minus: &Array2<f64>| -> f64 {
        layer.forward(x_plus.view(), &mut plus, mode);
        layer.forward(x_minus.view(), &mut minus, mode);
        plus.iter()
            .zip(minus.iter())
            .zip(upstream.iter())
            .map(|((p, m), g)| (p - m) * g)
            .sum::<f64>()
            / (2.0 * h)
    };

    let mut rows = Vec::new();
    let (mut x_plus, mut x_minus) = (input.clone(), input.clone());
    let numeric_input: Vec<f64> = (0..input.len())
        .map(|i| {
            let original = input.as_slice().expect("contiguous input")[i];
            x_plus.as_slice_mut().expect("contiguous")[i] = original + h;
            x_minus.as_slice_mut().expect("contiguous")[i] = original - h;
            let value = difference(layer, &x_plus, &x_minus);
            x_plus.as_slice_mut().expect("contiguous")[i] = original;
            x_minus.as_slice_mut().expect("contiguous")[i] = original;
            value
        })
        .collect();
    rows.push(compare(
        &name,
        "input",
        input.shape(),
        grad_input.as_slice().expect("contiguous"),
        &numeric_input,
        criterion,
    ));

    for (index, (param_name, shape, grads)) in analytic.iter().enumerate() {
        let numeric: Vec<f64> = (0..grads.len())
            .map(|i| {
                let old = nudge_layer_param(layer, index, i, &|v| v + h);
                layer.forward(input.view(), &mut plus, mode);
                nudge_layer_param(layer, index, i, &|_| old - h);
                layer.forward(input.view(), &mut minus, mode);
                nudge_layer_param(layer, index, i, &|_| old);
                plus.iter()
                    .zip(minus.iter())
                    .zip(upstream.iter())
                    .map(|((p, m), g)| (p - m) * g)
                    .sum::<f64>()
                    / (2.0 * h)
            })
            .collect();
        rows.push(compare(&name, param_name, shape, grads, &numeric, criterion));
    }
    rows
}

/// Checks a loss's `∂L/∂X` for inputs `x` and labels `targets`.
pub fn check_loss(
    loss: &mut dyn Loss<f64>,
    x: &Array2<f64>,
    targets: &[usize],
    criterion: Criterion,
    h: f64,
) -> CheckResult {
    loss.forward(x.view(), targets);
    let mut grad = Array2::zeros((0, 0));
    loss.backward(x.view(), targets, &mut grad);
    let mut x_moved = x.clone();
    let numeric = central_differences(x.len(), h, |i, delta| {
        let flat = x_moved.as_slice_mut().expect("contiguous");
        let original = flat[i];
        flat[i] = original + delta;
        let value = loss.forward(x_moved.view(), targets);
        x_moved.as_slice_mut().expect("contiguous")[i] = original;
        value
    });
    compare(
        loss.name(),
        "input",
        x.shape(),
        grad.as_slice().expect("contiguous"),
        &numeric,
        criterion,
    )
}

/// Which elements of each tensor a network check compares.
pub enum Sampling<'a> {
    /// Every element of the input and of every parameter.
    All,
    /// At most `entries` randomly chosen elements of the input and of each parameter (all of them when a
    /// tensor is smaller). Each numeric derivative costs two forward passes, so this is what makes a check of
    /// a full-size model (the course's MLP has 307,000 weights in its first layer) fit in seconds. The
    /// `parameter` column says how many elements were compared.
    AtMost {
        entries: usize,
        rng: &'a mut dyn rand::RngCore,
    },
}

/// Checks a whole network end to end: `∂L/∂x` of its input and every parameter of every layer, with `L` the
/// network's own loss on `targets`, on the elements `sampling` picks. `criterion_for` picks the tolerance
/// from the layer name.
pub fn check_network(
    network: &mut Network<f64>,
    x: &Array2<f64>,
    targets: &[usize],
    mode: Mode,
    h: f64,
    criterion_for: &dyn Fn(&str) -> Criterion,
    sampling: Sampling<'_>,
) -> Vec<CheckResult> {
    let objective = |network: &mut Network<f64>, x: &Array2<f64>| -> f64 {
        network.forward(x.view(), mode);
        network.loss(targets)
    };
    objective(network, x);
    network.backward(x.view(), targets, true);
    let grad_input = network.grad_input(0).to_owned();
    let mut analytic: Vec<(usize, &'static str, Vec<usize>, Vec<f64>)> = Vec::new();
    network.visit_params(&mut |layer, p| analytic.push((layer, p.name, p.shape.clone(), p.grad.to_vec())));
    let names: Vec<String> = network
        .layers()
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{i}: {}", l.name()))
        .collect();
    let mut sampling = sampling;
    let mut pick = |len: usize| -> Vec<usize> {
        match &mut sampling {
            Sampling::AtMost { entries, rng } if len > *entries => {
                let mut chosen = rand::seq::index::sample(rng, len, *entries).into_vec();
                chosen.sort_unstable();
                chosen
            }
            _ => (0..len).collect(),
        }
    };
    let label = |name: &str, chosen: usize, len: usize| {
        if chosen == len {
            name.to_string()
        } else {
            format!("{name} ({chosen} of {len} entries)")
        }
    };

    let mut rows = Vec::new();
    let chosen = pick(x.len());
    let mut x_moved = x.clone();
    let numeric_input: Vec<f64> = chosen
        .iter()
        .map(|&i| {
            let mut at = |delta: f64| {
                let flat = x_moved.as_slice_mut().expect("contiguous");
                let original = flat[i];
                flat[i] = original + delta;
                let value = objective(network, &x_moved);
                x_moved.as_slice_mut().expect("contiguous")[i] = original;
                value
            };
            (at(h) - at(-h)) / (2.0 * h)
        })
        .collect();
    let flat_input = grad_input.as_slice().expect("contiguous");
    let analytic_input: Vec<f64> = chosen.iter().map(|&i| flat_input[i]).collect();
    let first = names.first().map(String::as_str).unwrap_or("network");
    rows.push(compare(
        first,
        &label("input", chosen.len(), x.len()),
        x.shape(),
        &analytic_input,
        &numeric_input,
        criterion_for(first),
    ));

    for (index, (layer, param_name, shape, grads)) in analytic.iter().enumerate() {
        let chosen = pick(grads.len());
        let numeric: Vec<f64> = chosen
            .iter()
            .map(|&i| {
                let mut at = |delta: f64| {
                    let old = nudge_network_param(network, index, i, &|v| v + delta);
                    let value = objective(network, x);
                    nudge_network_param(network, index, i, &|_| old);
                    value
                };
                (at(h) - at(-h)) / (2.0 * h)
            })
            .collect();
        let analytic_subset: Vec<f64> = chosen.iter().map(|&i| grads[i]).collect();
        rows.push(compare(
            &names[*layer],
            &label(param_name, chosen.len(), grads.len()),
            shape,
            &analytic_subset,
            &numeric,
            criterion_for(&names[*layer]),
        ));
    }
    rows
}
