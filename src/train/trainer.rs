//! One training run in progress: the course's batch order, a step (forward, backward, update), evaluation on
//! a split in chunks, and the curves.
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{CurvePoint, Evaluation, Hyperparameters, LayerNorms, StepOutcome, TrainConfig};
use crate::data::{BatchSampler, Dataset, InputNormalization, Preprocessor, Split};
use crate::error::{ConfigError, TrainError};
use crate::layers::Mode;
use crate::model::Network;
use crate::optim::{Optimizer, OptimizerState};

/// At most this many test images per forward pass.
const MAX_EVAL_CHUNK: usize = 1000;

/// A training run in progress.
pub struct Trainer {
    pub(super) config: TrainConfig,
    pub(super) network: Network<f32>,
    pub(super) optimizer: Box<dyn Optimizer<f32>>,
    pub(super) preprocessor: Preprocessor,
    pub(super) sampler: BatchSampler,
    pub(super) inputs: Array2<f32>,
    pub(super) labels: Vec<usize>,
    pub(super) step: usize,
    pub(super) since_eval: (f64, usize, usize),
    pub(super) curves: Vec<CurvePoint>,
    pub(super) augmentation_rng: ChaCha8Rng,
    pub(super) augmentation_scratch: Vec<f32>,
    /// Training-set indices of the latest step's batch.
    pub(super) last_batch: Vec<usize>,
    /// Per-layer gradient and weight norms after the latest step (the page keeps the history: a long run's
    /// would grow without bound here).
    pub(super) norms: Option<LayerNorms>,
}

impl Trainer {
    /// Builds the model (seeded by `config.seed`) and the batch order for `dataset`.
    pub fn new(config: TrainConfig, dataset: &Dataset) -> Result<Self, TrainError> {
        config.validate()?;
        if dataset.train.len() < config.batch_size {
            return Err(ConfigError::new(
                "batch size",
                format!("at most the {} training images loaded", dataset.train.len()),
                config.batch_size,
            )
            .into());
        }
        if dataset.test.is_empty() {
            return Err(ConfigError::new("test set", "at least one test image", 0).into());
        }
        let mut network = config.model.build::<f32>(config.seed)?;
        network.set_fine_tune(config.fine_tune);
        let optimizer = config.optimizer.build::<f32>()?;
        Ok(Self {
            preprocessor: Preprocessor::for_input(config.input, &dataset.train),
            sampler: BatchSampler::new(dataset.train.len(), config.seed.wrapping_add(1)),
            network,
            optimizer,
            inputs: Array2::zeros((0, 0)),
            labels: Vec::new(),
            step: 0,
            since_eval: (0.0, 0, 0),
            curves: Vec::new(),
            augmentation_rng: ChaCha8Rng::seed_from_u64(config.seed.wrapping_add(2)),
            augmentation_scratch: Vec::new(),
            last_batch: Vec::new(),
            norms: None,
            config,
        })
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Steps taken so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    pub fn is_finished(&self) -> bool {
        self.step >= self.config.steps
    }

    pub fn curves(&self) -> &[CurvePoint] {
        &self.curves
    }

    /// Per-layer gradient and weight norms after the latest step on the CPU (layers as
    /// [`super::parameter_layers`]); `None` before the first.
    pub fn layer_norms(&self) -> Option<&LayerNorms> {
        self.norms.as_ref()
    }

    /// Changes the learning rate, momentum and weight decay from the next step on, without starting over; the
    /// change is recorded in the run's configuration (so the run replays).
    pub fn change_hyperparameters(&mut self, hyperparameters: Hyperparameters) -> Result<(), ConfigError> {
        self.config.change_hyperparameters(self.step, hyperparameters)
    }

    pub fn network(&self) -> &Network<f32> {
        &self.network
    }

    /// The optimizer's state between steps (its moments and step count), as a saved run holds it.
    pub fn optimizer_state(&self) -> OptimizerState<f32> {
        self.optimizer.state()
    }

    /// Puts back the state of an optimizer of the same kind (e.g. the moments of a GPU run).
    pub fn restore_optimizer(&mut self, state: OptimizerState<f32>) -> Result<(), ConfigError> {
        self.optimizer.restore(state)
    }

    pub fn network_mut(&mut self) -> &mut Network<f32> {
        &mut self.network
    }

    /// Training-set indices of the latest step's batch (empty before the first step).
    pub fn last_batch(&self) -> &[usize] {
        &self.last_batch
    }

    /// Preprocesses with `preprocessor` instead of the training set's own mean image (e.g. that of the data a
    /// model was pretrained on, which its weights expect).
    pub fn set_preprocessor(&mut self, preprocessor: Preprocessor) {
        self.preprocessor = preprocessor;
    }

    /// Preprocesses as `input` says (on `train`, the data the run trains on) from now on, and records it in the
    /// run's configuration: weights loaded into the model expect it.
    pub fn use_input(&mut self, input: InputNormalization, train: &Split) {
        self.config.input = input;
        self.preprocessor = Preprocessor::for_input(input, train);
    }

    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    /// One step of mini-batch training: the next batch in the course's order, forward, backward, update.
    /// A non-finite loss stops with an error before the parameters are touched.
    pub fn step(&mut self, dataset: &Dataset) -> Result<StepOutcome, TrainError> {
        self.prepare_batch(dataset);
        let (loss, correct) = self.network.forward_backward(self.inputs.view(), &self.labels);
        let batch = self.labels.len();
        self.finish_step(loss as f64, correct, batch)
    }

    /// The end of every step, one worker's or several's: stops on a non-finite `loss` (the batch's mean) before
    /// the parameters are touched, else takes the optimizer step with the gradients in the network and adds the
    /// batch to the training loss and accuracy of the next curve point.
    pub(super) fn finish_step(&mut self, loss: f64, correct: usize, batch: usize) -> Result<StepOutcome, TrainError> {
        self.check_loss(loss, self.optimizer.learning_rate())?;
        self.optimizer.step(&mut self.network);
        self.norms = Some(LayerNorms::measure(&mut self.network, self.step + 1));
        Ok(self.record_step(loss, correct, batch))
    }

    /// The error that stops training when the coming step's `loss` is not finite.
    pub(crate) fn check_loss(&self, loss: f64, learning_rate: f64) -> Result<(), TrainError> {
        if loss.is_finite() {
            return Ok(());
        }
        Err(TrainError::NonFiniteLoss {
            step: self.step + 1,
            loss,
            learning_rate,
        })
    }

    /// Counts a step whose update is done (here or on the GPU, `crate::gpu::GpuTrainer`) and adds its batch to
    /// the training loss and accuracy of the next curve point.
    pub(crate) fn record_step(&mut self, loss: f64, correct: usize, batch: usize) -> StepOutcome {
        self.step += 1;
        self.since_eval.0 += loss * batch as f64;
        self.since_eval.1 += correct;
        self.since_eval.2 += batch;
        StepOutcome {
            step: self.step,
            loss,
            accuracy: correct as f64 / batch as f64,
        }
    }

    /// The batch [`Trainer::prepare_batch`] drew: inputs `[batch, features]` and labels.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))] // the GPU trainer is native-only for now
    pub(crate) fn batch(&self) -> (&Array2<f32>, &[usize]) {
        (&self.inputs, &self.labels)
    }

    /// Draws the next batch in the course's order into `inputs`/`labels`, augments it, and sets the
    /// learning rate, momentum and weight decay of the coming step (schedule and live changes).
    pub(crate) fn prepare_batch(&mut self, dataset: &Dataset) {
        let indices = self.sampler.next_batch(self.config.batch_size);
        self.last_batch.clear();
        self.last_batch.extend_from_slice(indices);
        self.preprocessor
            .fill_batch(&dataset.train, indices, &mut self.inputs, &mut self.labels);
        self.config.augmentation.apply(
            &mut self.inputs,
            &mut self.augmentation_rng,
            &mut self.augmentation_scratch,
        );
        let settings = self.config.hyperparameters_at(self.step);
        self.optimizer.set_learning_rate(settings.learning_rate);
        self.optimizer.set_momentum(settings.momentum);
        self.optimizer.set_weight_decay(settings.weight_decay);
    }

    /// Loss and accuracy of the current model on `split` (evaluation mode: BatchNorm running statistics),
    /// or on its first `limit` images. Images go through in chunks of the training batch size (at most
    /// 1000), so evaluation reuses the training buffers and needs no more memory than a training step.
    pub fn evaluate(&mut self, split: &Split, limit: Option<usize>) -> Evaluation {
        let count = limit.unwrap_or(split.len()).min(split.len());
        let chunks = self.evaluation_chunks(count);
        let sums = self.evaluate_chunks(split, count, 0..chunks);
        Evaluation::from_chunks(&sums, count)
    }

    /// How many chunks (of the training batch size, at most `MAX_EVAL_CHUNK` images) an evaluation of
    /// `count` images takes.
    pub fn evaluation_chunks(&self, count: usize) -> usize {
        count.div_ceil(self.evaluation_chunk())
    }

    /// Images per evaluation chunk: the training batch size, at most `MAX_EVAL_CHUNK`.
    pub(crate) fn evaluation_chunk(&self) -> usize {
        self.config.batch_size.clamp(1, MAX_EVAL_CHUNK)
    }

    /// Evaluates chunks `chunks` of the first `count` images of `split`: per chunk, the summed loss and the
    /// number correct. Trainers with the same parameters can evaluate disjoint chunk ranges on several threads;
    /// [`Evaluation::from_chunks`] of the concatenation is then bit for bit [`Trainer::evaluate`]'s result.
    pub fn evaluate_chunks(
        &mut self,
        split: &Split,
        count: usize,
        chunks: std::ops::Range<usize>,
    ) -> Vec<(f64, usize)> {
        let chunk = self.evaluation_chunk();
        let mut indices = Vec::with_capacity(chunk);
        chunks
            .map(|c| {
                indices.clear();
                indices.extend(c * chunk..((c + 1) * chunk).min(count));
                self.preprocessor
                    .fill_batch(split, &indices, &mut self.inputs, &mut self.labels);
                self.network.forward(self.inputs.view(), Mode::Eval);
                let loss_sum = self.network.loss(&self.labels) as f64 * indices.len() as f64;
                (loss_sum, self.network.count_correct(&self.labels))
            })
            .collect()
    }

    /// Evaluates on the whole test set and records a curve point with the training batches since the last one.
    pub fn record_point(&mut self, dataset: &Dataset) -> CurvePoint {
        let test = self.evaluate(&dataset.test, None);
        self.record_point_with(test)
    }

    /// Records a curve point with a test evaluation made elsewhere (e.g. on several threads).
    pub fn record_point_with(&mut self, test: Evaluation) -> CurvePoint {
        let (loss_sum, correct, images) = std::mem::take(&mut self.since_eval);
        let images = images.max(1) as f64;
        let point = CurvePoint {
            step: self.step,
            train_loss: loss_sum / images,
            train_accuracy: correct as f64 / images,
            test_loss: test.loss,
            test_accuracy: test.accuracy,
        };
        self.curves.push(point);
        point
    }

    /// Whether the course's loop evaluates after the current step (every `eval_every` steps and at the end).
    pub fn evaluation_due(&self) -> bool {
        self.step > 0 && (self.step % self.config.eval_every == 0 || self.step == self.config.steps)
    }

    /// Runs the remaining steps, evaluating when due; `on_step` sees every step and every new curve point.
    pub fn run(
        &mut self,
        dataset: &Dataset,
        on_step: impl FnMut(&StepOutcome, Option<&CurvePoint>),
    ) -> Result<(), TrainError> {
        self.run_until(self.config.steps, dataset, on_step)
    }

    /// [`Trainer::run`] up to step `last_step` (or the end): the run can be saved and continued later.
    pub fn run_until(
        &mut self,
        last_step: usize,
        dataset: &Dataset,
        mut on_step: impl FnMut(&StepOutcome, Option<&CurvePoint>),
    ) -> Result<(), TrainError> {
        while !self.is_finished() && self.step < last_step {
            let outcome = self.step(dataset)?;
            let point = self.evaluation_due().then(|| self.record_point(dataset));
            on_step(&outcome, point.as_ref());
        }
        Ok(())
    }
}
