//! One test image through every layer of the current model: the CNN Explainer view. The image goes through
//! the trainer's own network in evaluation mode (running statistics, nothing updated), and every layer's
//! output comes back as grey tiles — a CNN's feature maps one tile per channel, an MLP's hidden units as one
//! square-ish tile — with the range the grey scale spans.
use ndarray::Array2;

use super::{Session, SessionError};
use crate::data::push_rgba;
use crate::layers::Mode;
use crate::model::ModelConfig;

/// Feature maps sent at most per layer (the first channels).
pub const MAX_MAPS: usize = 16;

/// One test image's path through the model.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageActivations {
    /// Index of the image in the test set.
    pub image: usize,
    pub label: usize,
    /// The class the model predicts for it now.
    pub predicted: usize,
    pub steps_done: usize,
    /// Every layer's output, in order (the image itself comes first in the pixels, a 32×32 RGB tile).
    pub layers: Vec<LayerMaps>,
}

/// One layer's output for the image, as `maps` grey tiles of `width × height` in the reply's pixels.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerMaps {
    pub index: usize,
    pub name: String,
    /// `[channels, height, width]` for feature maps, `[features]` for a vector.
    pub shape: Vec<usize>,
    pub maps: usize,
    pub width: usize,
    pub height: usize,
    /// The values drawn black and white (the layer's smallest and largest output).
    pub min: f64,
    pub max: f64,
}

impl LayerMaps {
    /// Bytes of this layer's tiles in the reply's pixels.
    pub fn pixel_bytes(&self) -> usize {
        self.maps * self.width * self.height * 4
    }
}

impl Session {
    /// Every layer's output for test image `image`, one row per layer (values as the network computed them).
    pub fn image_activations(&mut self, image: usize) -> Result<(ImageActivations, Vec<Array2<f32>>), SessionError> {
        let (trainer, dataset, inputs, labels) = self.with_scratch()?;
        let test = &dataset.test;
        if image >= test.len() {
            return Err(SessionError::request(
                "image",
                format!("a test image index below {}", test.len()),
                image,
            ));
        }
        let shapes = output_shapes(&trainer.config().model.clone(), trainer.network_mut());
        let steps_done = trainer.steps_done();
        trainer
            .preprocessor()
            .clone()
            .fill_batch(test, &[image], inputs, labels);
        let network = trainer.network_mut();
        network.forward(inputs.view(), Mode::Eval);
        let predicted = *network.predictions().first().unwrap_or(&0);
        let mut outputs = Vec::new();
        let mut layers = Vec::new();
        for (index, shape) in shapes.into_iter().enumerate() {
            let values = network.activation(index).to_owned();
            let (min, max) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(f64::from(v)), hi.max(f64::from(v)))
            });
            let (maps, width, height) = match shape.as_slice() {
                [channels, height, width] => ((*channels).min(MAX_MAPS), *width, *height),
                _ => {
                    let features = values.len();
                    let width = (features as f64).sqrt().ceil().max(1.0) as usize;
                    (1, width, features.div_ceil(width))
                }
            };
            layers.push(LayerMaps {
                index,
                name: network.layers()[index].name(),
                shape,
                maps,
                width,
                height,
                min: if min.is_finite() { min } else { 0.0 },
                max: if max.is_finite() { max } else { 0.0 },
            });
            outputs.push(values);
        }
        let label = labels.first().copied().unwrap_or(0);
        Ok((
            ImageActivations {
                image,
                label,
                predicted,
                steps_done,
                layers,
            },
            outputs,
        ))
    }

    /// [`Session::image_activations`] as the page gets it: the image's RGB tile, then each layer's grey tiles.
    pub(super) fn activations_reply(
        &mut self,
        image: usize,
        pixels: &mut Vec<u8>,
    ) -> Result<ImageActivations, SessionError> {
        let (activations, outputs) = self.image_activations(image)?;
        push_rgba(pixels, self.dataset.test.image(image));
        for (layer, values) in activations.layers.iter().zip(&outputs) {
            let plane = layer.width * layer.height;
            let span = (layer.max - layer.min).max(1e-12);
            let grey = |v: f32| ((f64::from(v) - layer.min) / span * 255.0).round().clamp(0.0, 255.0) as u8;
            let values = values.as_slice().unwrap_or(&[]);
            for map in 0..layer.maps {
                for position in 0..plane {
                    match values.get(map * plane + position) {
                        Some(&v) => pixels.extend([grey(v); 3].into_iter().chain([255])),
                        None => pixels.extend([0, 0, 0, 0]), // beyond the last unit: transparent
                    }
                }
            }
        }
        Ok(activations)
    }
}

/// Each layer's output shape for one image: `[channels, height, width]` for a CNN's layers (from its
/// summary), `[features]` otherwise.
pub(super) fn output_shapes(model: &ModelConfig, network: &mut crate::model::Network<f32>) -> Vec<Vec<usize>> {
    let count = network.layers().len();
    if let ModelConfig::Cnn(cnn) = model {
        if let Ok(summary) = cnn.summary() {
            if summary.len() == count {
                return summary
                    .iter()
                    .map(|s| match s.output {
                        (c, 1, 1) => vec![c],
                        (c, h, w) => vec![c, h, w],
                    })
                    .collect();
            }
        }
    }
    let mut features = network.input_features();
    network
        .layers()
        .iter()
        .map(|layer| {
            features = layer.output_features(features);
            vec![features]
        })
        .collect()
}
