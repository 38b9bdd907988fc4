//! What the current model makes of images: the confusion matrix, per-class accuracy and a gallery of the
//! test set, and the class probabilities of a picture of any size.
use ndarray::Array2;

use super::protocol::{GalleryItem, Response, Results};
use super::{Session, SessionError};
use crate::data::{push_rgba, resize_to_cifar, Split, NUM_CLASSES};
use crate::kernels::argmax;
use crate::layers::Mode;

/// Test images per forward pass of the results view.
const CHUNK: usize = 500;

impl Session {
    /// Runs the current model over the whole test set in evaluation mode, calling
    /// `visit(index, probabilities)` for every image.
    fn predict_test_set(&mut self, mut visit: impl FnMut(usize, &[f32])) -> Result<(), SessionError> {
        let (trainer, dataset, inputs, labels) = self.with_scratch()?;
        let preprocessor = trainer.preprocessor().clone();
        let chunk = trainer.config().batch_size.clamp(1, CHUNK);
        let split = &dataset.test;
        let network = trainer.network_mut();
        let mut indices = Vec::with_capacity(chunk);
        let mut probabilities = Array2::zeros((0, 0));
        for start in (0..split.len()).step_by(chunk) {
            indices.clear();
            indices.extend(start..(start + chunk).min(split.len()));
            preprocessor.fill_batch(split, &indices, inputs, labels);
            network.forward(inputs.view(), Mode::Eval);
            network.class_probabilities(&mut probabilities);
            for (row, &index) in probabilities.rows().into_iter().zip(&indices) {
                visit(
                    index,
                    row.as_slice().expect("rows of a standard-layout array are contiguous"),
                );
            }
        }
        Ok(())
    }

    /// Confusion matrix, per-class accuracy and a gallery of test images (misclassified first, most confident
    /// mistakes first).
    pub(super) fn results(&mut self, gallery: usize, pixels: &mut Vec<u8>) -> Result<Response, SessionError> {
        let mut confusion = vec![vec![0u32; NUM_CLASSES]; NUM_CLASSES];
        let mut items = Vec::new();
        let labels = self.dataset.test.labels.clone();
        self.predict_test_set(|index, probabilities| {
            let predicted = argmax(probabilities.iter().copied());
            let confidence = probabilities
                .get(predicted)
                .map_or(f64::NEG_INFINITY, |&p| f64::from(p));
            let label = usize::from(labels[index]);
            if label < NUM_CLASSES && predicted < NUM_CLASSES {
                confusion[label][predicted] += 1;
            }
            items.push(GalleryItem {
                index,
                label,
                predicted,
                confidence,
            });
        })?;
        let per_class_accuracy = confusion
            .iter()
            .enumerate()
            .map(|(class, row)| {
                let total: u32 = row.iter().sum();
                f64::from(row[class]) / f64::from(total.max(1))
            })
            .collect();
        let correct: u32 = (0..NUM_CLASSES).map(|c| confusion[c][c]).sum();
        let images = items.len();
        // Mistakes first, the most confident ones first; then correct ones, least confident first.
        items.sort_by(|a, b| {
            let wrong = |item: &GalleryItem| item.label != item.predicted;
            wrong(b).cmp(&wrong(a)).then_with(|| {
                if wrong(a) {
                    b.confidence.total_cmp(&a.confidence)
                } else {
                    a.confidence.total_cmp(&b.confidence)
                }
            })
        });
        items.truncate(gallery);
        for item in &items {
            push_rgba(pixels, self.dataset.test.image(item.index));
        }
        Ok(Response::Results(Results {
            class_names: self.class_names(),
            confusion,
            per_class_accuracy,
            accuracy: f64::from(correct) / images.max(1) as f64,
            images,
            gallery: items,
        }))
    }

    /// Classifies an RGBA picture of any size: area-averaged down (or up) to 32×32, preprocessed like the
    /// training images, through the current model in evaluation mode. Sends back the 32×32 image it saw.
    pub(super) fn classify(
        &mut self,
        rgba: &[u8],
        width: usize,
        height: usize,
        pixels: &mut Vec<u8>,
    ) -> Result<Response, SessionError> {
        if width == 0 || height == 0 || rgba.len() != width * height * 4 {
            return Err(SessionError::request(
                "picture",
                format!("{width}×{height} RGBA pixels ({} bytes)", width * height * 4),
                format!("{} bytes", rgba.len()),
            ));
        }
        let image = resize_to_cifar(rgba, width, height);
        self.ensure_trainer()?;
        let trainer = self.trainer.as_mut().expect("built above");
        let split = Split {
            images: image.clone(),
            labels: vec![0],
        };
        trainer
            .preprocessor()
            .fill_batch(&split, &[0], &mut self.inputs, &mut self.labels);
        let network = trainer.network_mut();
        network.forward(self.inputs.view(), Mode::Eval);
        let mut probabilities = Array2::zeros((0, 0));
        network.class_probabilities(&mut probabilities);
        push_rgba(pixels, &image);
        Ok(Response::Classified {
            predicted: argmax(probabilities.iter().copied()),
            probabilities: probabilities.iter().map(|&p| f64::from(p)).collect(),
            class_names: self.class_names(),
        })
    }
}
