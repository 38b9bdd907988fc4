//! GPU-resident training with the CPU [`Trainer`]'s bookkeeping: the same batch order (so the same seed
//! gives the same run), curves and non-finite-loss handling, while parameters, gradients and optimizer state
//! stay on the GPU. The CPU trainer's network holds the last weights synced back, where training continues
//! on the CPU if the GPU fails.
use super::buffers::{Readback, Signal};
use super::network::{parse_training_metrics, METRICS_RING};
use super::{GpuContext, GpuError, GpuNetwork, GpuOptimizer};
use crate::data::{Dataset, Split};
use crate::error::TrainError;
use crate::train::{CurvePoint, Evaluation, LayerNorms, StepOutcome, TrainConfig, Trainer};

/// Steps between two readbacks of the metrics ring (well inside its [`METRICS_RING`] steps).
pub const READBACK_EVERY: usize = 8;

/// Why GPU training stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuTrainError {
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// Steps submitted but not yet read back, at most, in [`GpuTrainer::step_async`].
pub const MAX_IN_FLIGHT: usize = 2 * READBACK_EVERY;

/// The GPU half of a run, parked beside its CPU trainer between requests: the network, the optimizer's
/// state and the steps submitted.
pub struct GpuState {
    network: GpuNetwork,
    optimizer: GpuOptimizer,
    submitted: usize,
    metrics: MetricsReader,
}

impl GpuState {
    /// The step its GPU network is at.
    pub fn submitted(&self) -> usize {
        self.submitted
    }

    /// The device, e.g. to simulate its loss in a test (`device.destroy()`).
    pub fn device(&self) -> &wgpu::Device {
        &self.network.context.device
    }
}

/// A training run on the GPU.
pub struct GpuTrainer {
    trainer: Trainer,
    network: GpuNetwork,
    optimizer: GpuOptimizer,
    /// Steps submitted to the GPU (ahead of the trainer's count by those whose metrics are not back yet).
    submitted: usize,
    metrics: MetricsReader,
}

/// The asynchronous readback of the metrics ring: a copy is requested every [`READBACK_EVERY`] steps and
/// collected when the GPU has made it, so no step waits for a `mapAsync`.
struct MetricsReader {
    staging: Readback,
    pending: Option<Signal>,
    /// The step whose layer norms the pending copy holds (a flush's copy holds none).
    norms_step: Option<usize>,
    /// Layer norms read back and not yet taken ([`GpuTrainer::take_norms`]).
    norms: Vec<LayerNorms>,
}

impl GpuTrainer {
    /// Builds the model on the CPU (the seed's initial weights) and its twin on `context`'s device.
    pub fn new(config: TrainConfig, dataset: &Dataset, context: GpuContext) -> Result<Self, GpuTrainError> {
        Self::from_trainer(Trainer::new(config, dataset)?, context)
    }

    /// Continues a CPU trainer's run on the GPU from its current weights (e.g. loaded with `--init-from`) and
    /// its optimizer's state (a resumed run's moments).
    pub fn from_trainer(mut trainer: Trainer, context: GpuContext) -> Result<Self, GpuTrainError> {
        let state = Self::prepare(&mut trainer, context)?;
        Ok(Self::resume(trainer, state, false))
    }

    /// The GPU half of a run continuing `trainer` (its weights and its optimizer's state uploaded); the
    /// trainer stays the caller's whatever happens.
    pub fn prepare(trainer: &mut Trainer, context: GpuContext) -> Result<GpuState, GpuTrainError> {
        let mut network = GpuNetwork::new(context, trainer.network_mut())?;
        let mut optimizer = network.optimizer(&trainer.config().optimizer)?;
        optimizer.write_state(&network.context, &trainer.optimizer_state())?;
        // the GPU's step counter continues the trainer's, so its metrics ring lines up with its steps
        network
            .train_metrics
            .write_u32(&network.context, &[trainer.steps_done() as u32]);
        let staging = Readback::new(&network.context, network.readback_len());
        network.context.check()?;
        Ok(GpuState {
            submitted: trainer.steps_done(),
            network,
            optimizer,
            metrics: MetricsReader {
                staging,
                pending: None,
                norms_step: None,
                norms: Vec::new(),
            },
        })
    }

    /// Joins `trainer` and the GPU half parked with it by [`GpuTrainer::park`] (`reupload`: the trainer's
    /// weights changed meanwhile, e.g. loaded or probed, and go up again; the optimizer's state stays).
    pub fn resume(trainer: Trainer, state: GpuState, reupload: bool) -> Self {
        let GpuState {
            mut network,
            optimizer,
            submitted,
            metrics,
        } = state;
        let mut trainer = trainer;
        if reupload {
            network.write_state_from(trainer.network_mut());
        }
        Self {
            trainer,
            network,
            optimizer,
            submitted,
            metrics,
        }
    }

    /// Parts the CPU trainer from the GPU half, to use the trainer alone and [`GpuTrainer::resume`] later;
    /// flush and sync first, so that both hold the same step and weights.
    pub fn park(self) -> (Trainer, GpuState) {
        let state = GpuState {
            network: self.network,
            optimizer: self.optimizer,
            submitted: self.submitted,
            metrics: self.metrics,
        };
        (self.trainer, state)
    }

    /// [`GpuTrainer::step`], and when more than [`MAX_IN_FLIGHT`] steps are on their way, waits (without
    /// blocking the thread) for the pending readback: the GPU never runs far ahead of what the page shows.
    pub async fn step_async(&mut self, dataset: &Dataset) -> Result<Vec<StepOutcome>, GpuTrainError> {
        let mut outcomes = self.step(dataset)?;
        if self.submitted - self.trainer.steps_done() > MAX_IN_FLIGHT {
            outcomes.extend(self.collect_waiting().await?);
        }
        Ok(outcomes)
    }

    pub fn adapter(&self) -> &super::AdapterSummary {
        &self.network.context.adapter
    }

    /// The CPU trainer: configuration, steps recorded, curves, and the last synced weights.
    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    pub fn is_finished(&self) -> bool {
        self.submitted >= self.trainer.config().steps
    }

    /// Submits one step (draws the batch, uploads it, forward, loss, backward and update in one submission)
    /// and returns the outcomes of earlier steps whose metrics came back meanwhile. A non-finite loss is
    /// reported when its metrics arrive, as [`TrainError::NonFiniteLoss`] with its step.
    pub fn step(&mut self, dataset: &Dataset) -> Result<Vec<StepOutcome>, GpuTrainError> {
        // the schedule's learning rate and the live changes' learning rate, momentum and weight decay, from the
        // same step as on the CPU
        let settings = self.trainer.config().hyperparameters_at(self.submitted);
        self.optimizer.set_hyperparameters(settings);
        self.trainer.prepare_batch(dataset);
        let (inputs, labels) = self.trainer.batch();
        let inputs = inputs
            .as_slice()
            .ok_or_else(|| GpuError::Device("a non-contiguous batch".into()))?;
        let update = self.optimizer.prepare_step(&self.network.context).to_vec();
        self.submitted += 1;
        let read = self.metrics.pending.is_none() && self.submitted % READBACK_EVERY == 0;
        self.network
            .train_step(inputs, labels, &update, read.then_some(&self.metrics.staging))?;
        if read {
            self.request_metrics(Some(self.submitted));
        }
        self.collect()
    }

    fn request_metrics(&mut self, norms_step: Option<usize>) {
        self.metrics.pending = Some(self.metrics.staging.map_signal());
        self.metrics.norms_step = norms_step;
    }

    /// The layer norms read back since the last call (every [`READBACK_EVERY`] steps, with the losses).
    pub fn take_norms(&mut self) -> Vec<LayerNorms> {
        std::mem::take(&mut self.metrics.norms)
    }

    /// Records the steps of a finished readback, if one has arrived (never waits).
    fn collect(&mut self) -> Result<Vec<StepOutcome>, GpuTrainError> {
        let Some(signal) = &self.metrics.pending else {
            return Ok(Vec::new());
        };
        self.network
            .context
            .device
            .poll(wgpu::PollType::Poll)
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let Some(ready) = signal.try_take() else {
            return Ok(Vec::new());
        };
        self.metrics.pending = None;
        self.record_metrics(ready)
    }

    /// Records the steps of the pending readback once it arrives.
    async fn collect_waiting(&mut self) -> Result<Vec<StepOutcome>, GpuTrainError> {
        let Some(signal) = self.metrics.pending.take() else {
            return Ok(Vec::new());
        };
        self.network.context.wait()?;
        let ready = signal.await;
        self.record_metrics(ready)
    }

    fn record_metrics(&mut self, ready: Result<(), wgpu::BufferAsyncError>) -> Result<Vec<StepOutcome>, GpuTrainError> {
        ready.map_err(|e| GpuError::Device(format!("reading the losses back: {e}")))?;
        let words = self.metrics.staging.take_mapped()?;
        self.network.context.check()?;
        let (words, squares) = words.split_at(self.network.train_metrics.len.min(words.len()));
        if let (Some(step), Some(norms)) = (self.metrics.norms_step.take(), &self.network.norms) {
            self.metrics.norms.push(norms.layer_norms(squares, step));
        }
        let batch = self.trainer.config().batch_size;
        let mut outcomes = Vec::new();
        for (_, loss, correct) in parse_training_metrics(words, self.trainer.steps_done()) {
            let loss = loss as f64;
            self.trainer.check_loss(loss, self.optimizer.learning_rate())?;
            outcomes.push(self.trainer.record_step(loss, correct as usize, batch));
        }
        Ok(outcomes)
    }

    /// Waits (without blocking the thread) for every submitted step and records them.
    pub async fn flush_async(&mut self) -> Result<Vec<StepOutcome>, GpuTrainError> {
        let mut outcomes = self.collect_waiting().await?;
        if self.trainer.steps_done() < self.submitted {
            let mut encoder = self.network.context.device.create_command_encoder(&Default::default());
            self.metrics
                .staging
                .copy_into(&mut encoder, &self.network.train_metrics, 0);
            self.network.context.queue.submit([encoder.finish()]);
            self.request_metrics(None);
            outcomes.extend(self.collect_waiting().await?);
        }
        Ok(outcomes)
    }

    /// Steps submitted so far (recorded or not).
    pub fn submitted(&self) -> usize {
        self.submitted
    }

    /// Loss and accuracy on `split` (or its first `limit` images) in evaluation mode, on the GPU, in the
    /// CPU trainer's chunks; one readback at the end.
    pub async fn evaluate_async(&mut self, split: &Split, limit: Option<usize>) -> Result<Evaluation, GpuTrainError> {
        let count = limit.unwrap_or(split.len()).min(split.len());
        let chunk = self.trainer.evaluation_chunk();
        self.network.reset_evaluation();
        let (mut inputs, mut labels) = (ndarray::Array2::zeros((0, 0)), Vec::new());
        let mut indices = Vec::with_capacity(chunk);
        for start in (0..count).step_by(chunk.max(1)) {
            indices.clear();
            indices.extend(start..(start + chunk).min(count));
            self.trainer
                .preprocessor()
                .fill_batch(split, &indices, &mut inputs, &mut labels);
            let inputs = inputs
                .as_slice()
                .ok_or_else(|| GpuError::Device("a non-contiguous batch".into()))?;
            self.network.evaluate_batch(inputs, &labels)?;
        }
        let (loss_sum, correct) = self.network.read_evaluation_async().await?;
        let images = count.max(1) as f64;
        Ok(Evaluation {
            loss: loss_sum / images,
            accuracy: correct / images,
            images: count,
        })
    }

    /// Finishes the submitted steps, evaluates on the whole test set, records a curve point and syncs the
    /// weights back to the CPU trainer.
    pub async fn record_point_async(&mut self, dataset: &Dataset) -> Result<CurvePoint, GpuTrainError> {
        let point = self.evaluate_point_async(dataset).await?;
        self.sync_weights_async().await?;
        Ok(point)
    }

    /// [`GpuTrainer::record_point_async`] without the weight sync: the page's worker syncs the whole run on
    /// its own schedule ([`GpuTrainer::sync_run_async`]).
    pub async fn evaluate_point_async(&mut self, dataset: &Dataset) -> Result<CurvePoint, GpuTrainError> {
        self.flush_async().await?;
        let test = self.evaluate_async(&dataset.test, None).await?;
        Ok(self.trainer.record_point_with(test))
    }

    /// Copies the GPU's parameters and running statistics into the CPU trainer's network.
    pub async fn sync_weights_async(&mut self) -> Result<(), GpuTrainError> {
        self.network.read_state_into_async(self.trainer.network_mut()).await?;
        Ok(())
    }

    /// Copies the optimizer's moments and step count into the CPU trainer's optimizer (before saving the run,
    /// or continuing it on the CPU).
    pub async fn sync_optimizer_async(&mut self) -> Result<(), GpuTrainError> {
        let state = self.optimizer.read_state_async(&self.network.context).await?;
        self.trainer
            .restore_optimizer(state)
            .map_err(|e| GpuError::Unsupported(e.to_string()))?;
        Ok(())
    }

    /// Copies the whole GPU half (parameters, running statistics, the optimizer's moments and step count) into
    /// the CPU trainer, after a flush: the trainer then holds the run exactly as it stands on the GPU, ready to
    /// be saved or continued on the CPU.
    pub async fn sync_run_async(&mut self) -> Result<(), GpuTrainError> {
        self.sync_weights_async().await?;
        self.sync_optimizer_async().await
    }

    /// The CPU trainer, to continue without the GPU from the last synced weights (and the optimizer's state
    /// of the last [`GpuTrainer::sync_optimizer_async`]).
    pub fn into_cpu(self) -> Trainer {
        self.trainer
    }
}

/// Blocking forms for native front ends (`lab train --backend gpu`) and tests.
#[cfg(not(target_arch = "wasm32"))]
impl GpuTrainer {
    /// [`GpuTrainer::flush_async`], blocking.
    pub fn flush(&mut self) -> Result<Vec<StepOutcome>, GpuTrainError> {
        pollster::block_on(self.flush_async())
    }

    /// [`GpuTrainer::evaluate_async`], blocking.
    pub fn evaluate(&mut self, split: &Split, limit: Option<usize>) -> Result<Evaluation, GpuTrainError> {
        pollster::block_on(self.evaluate_async(split, limit))
    }

    /// [`GpuTrainer::record_point_async`], blocking.
    pub fn record_point(&mut self, dataset: &Dataset) -> Result<CurvePoint, GpuTrainError> {
        pollster::block_on(self.record_point_async(dataset))
    }

    /// [`GpuTrainer::sync_weights_async`], blocking.
    pub fn sync_weights(&mut self) -> Result<(), GpuTrainError> {
        pollster::block_on(self.sync_weights_async())
    }

    /// [`GpuTrainer::sync_optimizer_async`], blocking.
    pub fn sync_optimizer(&mut self) -> Result<(), GpuTrainError> {
        pollster::block_on(self.sync_optimizer_async())
    }

    /// Trains to the configured number of steps, recording a curve point every `eval_every` steps (as
    /// [`Trainer::run`]); `on_step` sees each step's outcome when its metrics come back.
    pub fn run(
        &mut self,
        dataset: &Dataset,
        on_step: impl FnMut(&StepOutcome, Option<&CurvePoint>),
    ) -> Result<(), GpuTrainError> {
        self.run_until(self.trainer.config().steps, dataset, on_step)
    }

    /// [`GpuTrainer::run`] up to step `last_step` (or the end), every step recorded when it returns: the run
    /// can be synced, saved and continued later (as [`Trainer::run_until`]).
    pub fn run_until(
        &mut self,
        last_step: usize,
        dataset: &Dataset,
        mut on_step: impl FnMut(&StepOutcome, Option<&CurvePoint>),
    ) -> Result<(), GpuTrainError> {
        let every = self.trainer.config().eval_every.max(1);
        while !self.is_finished() && self.submitted < last_step {
            for outcome in self.step(dataset)? {
                on_step(&outcome, None);
            }
            if self.submitted % every == 0 || self.is_finished() {
                let outcomes = self.flush()?;
                let point = self.record_point(dataset)?;
                for (i, outcome) in outcomes.iter().enumerate() {
                    on_step(outcome, (i + 1 == outcomes.len()).then_some(&point));
                }
            }
        }
        for outcome in self.flush()? {
            on_step(&outcome, None);
        }
        Ok(())
    }
}

/// Steps a readback of the metrics ring can cover.
const _: () = assert!(MAX_IN_FLIGHT + READBACK_EVERY < METRICS_RING);
