//! Looking inside the current model, always on a copy (so looking never changes training): a layer's
//! formulas, shapes and tensor statistics on the current batch, the gradient check of the whole model, the
//! first layer's weights as images, and the model diagram.
use ndarray::ArrayView2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::protocol::{LayerDetails, LayerRow, Response, TensorStats};
use super::{Session, SessionError};
use crate::data::{IMAGE_SIZE, PIXELS};
use crate::formulas;
use crate::gradcheck::{self, Criterion, Sampling};
use crate::layers::Mode;
use crate::model::{CnnConfig, ModelConfig, Network};
use crate::train::TrainConfig;

/// Histogram bins of the layer view.
const BINS: usize = 40;
/// Filters shown at most.
const MAX_FILTERS: usize = 64;
/// The criterion of whole-model checks: PyTorch's `gradcheck` (as the suite's end-to-end checks).
const NETWORK_CRITERION: Criterion = Criterion::AllClose { atol: 1e-5, rtol: 1e-3 };

impl TensorStats {
    /// Statistics of `values` with a `bins`-bin histogram over their range.
    pub fn of(
        label: impl Into<String>,
        shape: &[usize],
        values: impl Iterator<Item = f64> + Clone,
        bins: usize,
    ) -> Self {
        let (mut n, mut sum, mut sum_sq, mut min, mut max, mut zeros) =
            (0usize, 0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY, 0);
        for v in values.clone() {
            n += 1;
            sum += v;
            sum_sq += v * v;
            min = min.min(v);
            max = max.max(v);
            zeros += usize::from(v == 0.0);
        }
        let count = n.max(1) as f64;
        let mean = sum / count;
        let std = (sum_sq / count - mean * mean).max(0.0).sqrt();
        if n == 0 {
            (min, max) = (0.0, 0.0);
        }
        let (lo, hi) = if max > min { (min, max) } else { (min - 0.5, min + 0.5) };
        let mut counts = vec![0u32; bins.max(1)];
        let width = (hi - lo) / counts.len() as f64;
        for v in values {
            if v.is_finite() {
                let bin = (((v - lo) / width) as usize).min(counts.len() - 1);
                counts[bin] += 1;
            }
        }
        Self {
            label: label.into(),
            shape: shape.to_vec(),
            mean,
            std,
            min,
            max,
            zeros: zeros as f64 / count,
            lo,
            hi,
            counts,
        }
    }
}

impl Session {
    /// The current batch for the views: the latest training batch (the first one before any step), at most
    /// `limit` images, preprocessed into `self.inputs` / `self.labels`.
    fn fill_current_batch(&mut self, limit: usize) -> Result<(), SessionError> {
        let (trainer, dataset, inputs, labels) = self.with_scratch()?;
        let mut indices: Vec<usize> = trainer.last_batch().to_vec();
        if indices.is_empty() {
            indices = (0..trainer.config().batch_size.min(dataset.train.len())).collect();
        }
        indices.truncate(limit);
        trainer
            .preprocessor()
            .fill_batch(&dataset.train, &indices, inputs, labels);
        Ok(())
    }

    /// A copy of the current model (so looking inside never changes training, BatchNorm statistics included).
    fn model_copy<T: crate::Scalar>(&mut self) -> Result<Network<T>, SessionError> {
        let trainer = self.ensure_trainer()?;
        let mut copy = trainer.config().model.build::<T>(trainer.config().seed)?;
        copy.copy_state_from(trainer.network_mut());
        Ok(copy)
    }

    /// Checks every parameter of the current model (an f64 copy) on a few images of the current batch: all
    /// entries of small tensors, a random sample of large ones, sized so the check takes seconds.
    pub(super) fn check_gradients(&mut self) -> Result<Response, SessionError> {
        let mut network = self.model_copy::<f64>()?;
        let model = self.ensure_trainer()?.config().model.clone();
        let macs = model.forward_multiply_adds()?;
        let samples = if matches!(model, ModelConfig::Mlp(_)) { 4 } else { 2 };
        let mut tensors = 1;
        network.visit_params(&mut |_, _| tensors += 1);
        // About 4·10⁹ multiply-adds of forward passes in all: seconds in wasm.
        let budget = 4e9 / (2.0 * samples as f64 * macs.max(1) as f64 * tensors as f64);
        let entries = (budget as usize).clamp(2, 32);
        self.fill_current_batch(samples)?;
        let x = self.inputs.mapv(f64::from);
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        let rows = gradcheck::check_network(
            &mut network,
            &x,
            &self.labels,
            Mode::Train,
            gradcheck::STEP,
            &|_| NETWORK_CRITERION,
            Sampling::AtMost { entries, rng: &mut rng },
        );
        Ok(Response::Gradients {
            rows,
            samples: x.nrows(),
            entries,
        })
    }

    /// Formulas, shapes and statistics of one layer on the current batch.
    pub(super) fn layer(&mut self, index: usize) -> Result<Response, SessionError> {
        let mut network = self.model_copy::<f32>()?;
        let count = network.layers().len();
        if index >= count {
            return Err(SessionError::request("layer", format!("an index below {count}"), index));
        }
        let config = self.ensure_trainer()?.config().clone();
        let rows = layer_rows(&config, &mut network);
        self.fill_current_batch(usize::MAX)?;
        network.forward(self.inputs.view(), Mode::Train);
        network.loss(&self.labels);
        network.backward(self.inputs.view(), &self.labels, index == 0);
        let batch = self.inputs.nrows();
        let mut tensors = Vec::new();
        let input_view = if index == 0 {
            self.inputs.view()
        } else {
            network.activation(index - 1)
        };
        tensors.push(stats_of_view("input X", input_view));
        tensors.push(stats_of_view("output Y", network.activation(index)));
        if index + 1 < count {
            tensors.push(stats_of_view("∂L/∂Y", network.grad_input(index + 1)));
        }
        tensors.push(stats_of_view("∂L/∂X", network.grad_input(index)));
        network.visit_params(&mut |layer, p| {
            if layer == index {
                let value = p.value.iter().map(|&v| f64::from(v));
                tensors.push(TensorStats::of(p.name, &p.shape, value, BINS));
                let grad = p.grad.iter().map(|&v| f64::from(v));
                tensors.push(TensorStats::of(format!("∂L/∂{}", p.name), &p.shape, grad, BINS));
            }
        });
        let layer = &network.layers()[index];
        let input = if index == 0 {
            input_shape(&config)
        } else {
            rows[index - 1].output.clone()
        };
        Ok(Response::Layer(LayerDetails {
            index,
            name: layer.name(),
            formulas: formulas::for_kind(&layer.kind()),
            loss_formulas: (index + 1 == count).then(|| formulas::for_loss(network.loss_kind())),
            input,
            output: rows[index].output.clone(),
            batch,
            tensors,
        }))
    }

    /// The first layer's weights as RGBA tiles: each row of a Linear(3072→H) as a 32×32 image, each kernel of a
    /// first convolution as a k×k image; values scaled symmetrically about grey.
    pub(super) fn filters(&mut self, pixels: &mut Vec<u8>) -> Result<Response, SessionError> {
        let network = self.ensure_trainer()?.network_mut();
        let mut found = None;
        let layer = network.layers().first().map(|l| l.name()).unwrap_or_default();
        network.visit_params(&mut |index, p| {
            if index == 0 && p.name == "weight" && found.is_none() {
                found = Some((p.shape.clone(), p.value.to_vec()));
            }
        });
        let Some((shape, values)) = found else {
            return Err(SessionError::request(
                "first-layer weights",
                "a first layer with weights",
                format!("{layer}, which has none"),
            ));
        };
        let (count, channels, side) = match shape.as_slice() {
            [out, features] if *features == PIXELS => (*out, 3, IMAGE_SIZE),
            [out, 3, k, k2] if k == k2 => (*out, 3, *k),
            other => {
                return Err(SessionError::request(
                    "first-layer weights",
                    "RGB filters",
                    format!("shape {other:?}"),
                ))
            }
        };
        let count = count.min(MAX_FILTERS);
        let plane = side * side;
        for filter in values.chunks_exact(channels * plane).take(count) {
            let scale = filter.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
            for position in 0..plane {
                for channel in 0..3 {
                    let v = filter[channel * plane + position] / scale;
                    pixels.push((127.5 + 127.5 * v).round().clamp(0.0, 255.0) as u8);
                }
                pixels.push(255);
            }
        }
        Ok(Response::Filters {
            width: side,
            height: side,
            count,
            layer,
        })
    }
}

fn stats_of_view(label: &str, view: ArrayView2<'_, f32>) -> TensorStats {
    TensorStats::of(label, view.shape(), view.iter().map(|&v| f64::from(v)), BINS)
}

fn input_shape(config: &TrainConfig) -> String {
    match &config.model {
        ModelConfig::Mlp(mlp) => mlp.input_features.to_string(),
        ModelConfig::Cnn(cnn) => format!("{}×{}×{}", cnn.input.0, cnn.input.1, cnn.input.2),
    }
}

/// The model diagram: each layer with its output shape and parameter count.
pub(super) fn layer_rows(config: &TrainConfig, network: &mut Network<f32>) -> Vec<LayerRow> {
    let mut parameters = vec![0; network.layers().len()];
    network.visit_params(&mut |layer, p| parameters[layer] += p.value.len());
    let shapes: Option<Vec<String>> = match &config.model {
        ModelConfig::Cnn(cnn) => summary_shapes(cnn).filter(|s| s.len() == parameters.len()),
        ModelConfig::Mlp(_) => None,
    };
    let mut features = network.input_features();
    network
        .layers()
        .iter()
        .enumerate()
        .map(|(index, layer)| {
            features = layer.output_features(features);
            LayerRow {
                index,
                name: layer.name(),
                output: shapes
                    .as_ref()
                    .map_or_else(|| features.to_string(), |s| s[index].clone()),
                parameters: parameters[index],
            }
        })
        .collect()
}

fn summary_shapes(cnn: &CnnConfig) -> Option<Vec<String>> {
    let summary = cnn.summary().ok()?;
    Some(
        summary
            .iter()
            .map(|s| match s.output {
                (c, 1, 1) => c.to_string(),
                (c, h, w) => format!("{c}×{h}×{w}"),
            })
            .collect(),
    )
}
