//! Training and evaluation, shared by the `lab` CLI and the page: the course's `train()` loop with its
//! batch order, evaluation on the whole test set every `eval_every` steps, and recorded curves.
use ndarray::Array2;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::{Augmentation, BatchSampler, Dataset, Preprocessor, Split};
use crate::error::{ConfigError, TrainError};
use crate::layers::Mode;
use crate::model::{CnnConfig, MlpConfig, ModelConfig, Network};
use crate::optim::{Optimizer, OptimizerConfig};

/// A training run as data (serialisable, comparable, URL-encodable). `Default` is the course's PyTorch MLP
/// script: 3072-100-10 ELU, SGD, lr 1e-3, batch 200, 1400 steps, evaluation every 100, seed 42.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    pub model: ModelConfig,
    pub optimizer: OptimizerConfig,
    pub batch_size: usize,
    pub steps: usize,
    pub eval_every: usize,
    pub seed: u64,
    /// Training-time augmentation (none by default, as the course).
    #[serde(default)]
    pub augmentation: Augmentation,
    /// How the learning rate changes over the steps (constant by default, as the course).
    #[serde(default)]
    pub schedule: Schedule,
}

/// A learning-rate schedule: the factor applied to the optimizer's learning rate at each step.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "schedule", rename_all = "kebab-case")]
pub enum Schedule {
    #[default]
    Constant,
    /// Multiply by `factor` every `every` steps (the report's ResNet fine-tuning: ÷10 every 1500).
    Step { every: usize, factor: f64 },
    /// One cycle: linear warm-up from 0.1× to 1× over the first `warmup` fraction of the steps, then a
    /// linear decay to 0 at the last step.
    OneCycle { warmup: f64 },
}

impl Schedule {
    /// The factor for step `step` (0-based) of `total`.
    pub fn factor(&self, step: usize, total: usize) -> f64 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Step { every, factor } => factor.powi((step / every.max(1)) as i32),
            Schedule::OneCycle { warmup } => {
                let t = step as f64 / total.max(1) as f64;
                if t < warmup {
                    0.1 + 0.9 * t / warmup
                } else {
                    ((1.0 - t) / (1.0 - warmup).max(1e-12)).max(0.0)
                }
            }
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step { every, factor } => {
                if every == 0 {
                    Err(ConfigError::new("schedule step", "at least 1 step", every))
                } else if !(factor.is_finite() && factor > 0.0 && factor <= 1.0) {
                    Err(ConfigError::new("schedule factor", "a number in (0, 1]", factor))
                } else {
                    Ok(())
                }
            }
            Schedule::OneCycle { warmup } => {
                if (0.0..1.0).contains(&warmup) {
                    Ok(())
                } else {
                    Err(ConfigError::new("warm-up fraction", "a number in [0, 1)", warmup))
                }
            }
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: ModelConfig::Mlp(MlpConfig::default()),
            optimizer: OptimizerConfig::sgd(1e-3),
            batch_size: 200,
            steps: 1400,
            eval_every: 100,
            seed: 42,
            augmentation: Augmentation::default(),
            schedule: Schedule::Constant,
        }
    }
}

impl TrainConfig {
    /// The course's ConvNet script: Adam, lr 1e-4, batch 32, 5000 steps, evaluation every 500, no augmentation.
    pub fn convnet() -> Self {
        Self {
            model: ModelConfig::Cnn(CnnConfig::convnet()),
            optimizer: OptimizerConfig::adam(1e-4),
            batch_size: 32,
            steps: 5000,
            eval_every: 500,
            ..Self::default()
        }
    }

    /// The small CNN's recipe, sized to at most 15 TFLOP of training compute (1.49e13): Adam with a one-cycle
    /// schedule peaking at lr 2e-3 (15 % warm-up, linear decay to 0), batch 64, 4500 steps (5.8 epochs),
    /// random crops and flips.
    pub fn small_cnn() -> Self {
        Self {
            model: ModelConfig::Cnn(CnnConfig::small_cnn()),
            optimizer: OptimizerConfig::adam(2e-3),
            batch_size: 64,
            steps: 4500,
            eval_every: 500,
            augmentation: Augmentation::standard(),
            schedule: Schedule::OneCycle { warmup: 0.15 },
            ..Self::default()
        }
    }

    /// Training FLOPs of the whole run: multiply-adds × 2 × 3 (forward + backward) per image, for every image
    /// of every step.
    pub fn training_flops(&self) -> Result<u64, ConfigError> {
        Ok(self.model.training_flops_per_image()? * (self.steps * self.batch_size) as u64)
    }
}

/// Largest batch accepted.
pub const MAX_BATCH_SIZE: usize = 50_000;
/// Largest number of steps accepted.
pub const MAX_STEPS: usize = 10_000_000;
/// At most this many test images per forward pass.
const MAX_EVAL_CHUNK: usize = 1000;

impl TrainConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            return Err(ConfigError::new(
                "batch size",
                format!("a number between 1 and {MAX_BATCH_SIZE}"),
                self.batch_size,
            ));
        }
        if self.steps == 0 || self.steps > MAX_STEPS {
            return Err(ConfigError::new(
                "steps",
                format!("a number between 1 and {MAX_STEPS}"),
                self.steps,
            ));
        }
        if self.eval_every == 0 {
            return Err(ConfigError::new("eval every", "at least 1 step", self.eval_every));
        }
        self.optimizer.validate()?;
        self.schedule.validate()?;
        self.model.validate()
    }
}

/// Loss and accuracy over a set of images.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub images: usize,
}

impl Evaluation {
    /// The evaluation of `count` images from the summed loss and the number correct of each chunk, added in
    /// chunk order (so the result does not depend on which thread evaluated which chunk).
    pub fn from_chunks(sums: &[(f64, usize)], count: usize) -> Self {
        let (loss_sum, correct) = sums
            .iter()
            .fold((0.0, 0), |(l, c), &(loss, right)| (l + loss, c + right));
        let images = count.max(1);
        Self {
            loss: loss_sum / images as f64,
            accuracy: correct as f64 / images as f64,
            images: count,
        }
    }
}

/// One point of the curves: the training batches since the previous point, and the whole test set.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    pub step: usize,
    /// Mean loss of the training batches since the previous point.
    pub train_loss: f64,
    /// Accuracy on those training batches.
    pub train_accuracy: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
}

/// The loss and accuracy of one training step (on its batch, before the update).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutcome {
    pub step: usize,
    pub loss: f64,
    pub accuracy: f64,
}

/// One worker's share of a data-parallel step (see [`Trainer::partial_step`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PartialStep {
    /// The step it belongs to (1-based).
    pub step: usize,
    /// Rows of the batch this share covers, and the batch size.
    pub rows: usize,
    pub batch: usize,
    /// The slice's mean loss × `rows`.
    pub loss_sum: f64,
    pub correct: usize,
    /// Every parameter gradient, flattened in `visit_params` order, scaled by `rows / batch`.
    pub gradient: Vec<f32>,
    /// Every running statistic after the slice's forward pass, in `visit_buffers` order.
    pub buffers: Vec<f32>,
}

impl PartialStep {
    /// Little-endian bytes: step, rows, batch, correct, gradient and buffer lengths (u64), loss_sum (f64),
    /// then the f32 values. For passing shares between Web Workers.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(56 + 4 * (self.gradient.len() + self.buffers.len()));
        let header = [
            self.step,
            self.rows,
            self.batch,
            self.correct,
            self.gradient.len(),
            self.buffers.len(),
        ];
        for value in header {
            bytes.extend_from_slice(&(value as u64).to_le_bytes());
        }
        bytes.extend_from_slice(&self.loss_sum.to_le_bytes());
        for value in self.gradient.iter().chain(&self.buffers) {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        bytes
    }

    /// Reads [`PartialStep::to_bytes`]; a message saying what was expected if the bytes are not such a share.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfigError> {
        let bad = |found: String| ConfigError::new("data-parallel share", "the bytes of a training share", found);
        if bytes.len() < 56 {
            return Err(bad(format!("{} bytes", bytes.len())));
        }
        let word = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes")) as usize;
        let (gradient_len, buffer_len) = (word(4), word(5));
        let values = gradient_len.checked_add(buffer_len).and_then(|n| n.checked_mul(4));
        if values != Some(bytes.len() - 56) {
            return Err(bad(format!(
                "{} bytes for {gradient_len} + {buffer_len} values",
                bytes.len()
            )));
        }
        let floats: Vec<f32> = bytes[56..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        Ok(PartialStep {
            step: word(0),
            rows: word(1),
            batch: word(2),
            correct: word(3),
            loss_sum: f64::from_le_bytes(bytes[48..56].try_into().expect("8 bytes")),
            gradient: floats[..gradient_len].to_vec(),
            buffers: floats[gradient_len..].to_vec(),
        })
    }
}

/// A training run in progress.
pub struct Trainer {
    config: TrainConfig,
    network: Network<f32>,
    optimizer: Box<dyn Optimizer<f32>>,
    preprocessor: Preprocessor,
    sampler: BatchSampler,
    inputs: Array2<f32>,
    labels: Vec<usize>,
    step: usize,
    since_eval: (f64, usize, usize),
    curves: Vec<CurvePoint>,
    augmentation_rng: ChaCha8Rng,
    augmentation_scratch: Vec<f32>,
    /// Training-set indices of the latest step's batch.
    last_batch: Vec<usize>,
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
        let network = config.model.build::<f32>(config.seed)?;
        let optimizer = config.optimizer.build::<f32>()?;
        Ok(Self {
            preprocessor: Preprocessor::new(&dataset.train),
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

    pub fn network(&self) -> &Network<f32> {
        &self.network
    }

    pub fn network_mut(&mut self) -> &mut Network<f32> {
        &mut self.network
    }

    /// Training-set indices of the latest step's batch (empty before the first step).
    pub fn last_batch(&self) -> &[usize] {
        &self.last_batch
    }

    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    /// One step of mini-batch training: the next batch in the course's order, forward, backward, update.
    /// A non-finite loss stops with an error before the parameters are touched.
    pub fn step(&mut self, dataset: &Dataset) -> Result<StepOutcome, TrainError> {
        self.prepare_batch(dataset);
        let (loss, correct) = self.network.forward_backward(self.inputs.view(), &self.labels);
        let loss = loss as f64;
        if !loss.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                step: self.step + 1,
                loss,
                learning_rate: self.optimizer.learning_rate(),
            });
        }
        self.optimizer.step(&mut self.network);
        self.step += 1;
        let batch = self.labels.len();
        self.since_eval.0 += loss * batch as f64;
        self.since_eval.1 += correct;
        self.since_eval.2 += batch;
        Ok(StepOutcome {
            step: self.step,
            loss,
            accuracy: correct as f64 / batch as f64,
        })
    }

    /// Draws the next batch in the course's order into `inputs`/`labels`, augments it, and sets the
    /// learning rate of the coming step.
    fn prepare_batch(&mut self, dataset: &Dataset) {
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
        let base_rate = self.config.optimizer.learning_rate();
        self.optimizer
            .set_learning_rate(base_rate * self.config.schedule.factor(self.step, self.config.steps));
    }

    /// Data-parallel training, first half: this worker's share of the next step. Every worker (each with its
    /// own trainer, same configuration and seed, so the same batch order and augmentation) draws the whole next
    /// batch, then runs forward and backward on rows `part` of `parts` equal slices of it. The gradients come
    /// back scaled by `rows / batch`, so the shares of all workers add up to the whole batch's mean gradient.
    ///
    /// Differences from [`Trainer::step`]: BatchNorm normalises each slice with the slice's own statistics
    /// (running statistics are averaged over the slices in [`Trainer::apply_partial_steps`]), and the
    /// gradient is summed in another order (f32 rounding). Without BatchNorm and with one part the result is
    /// the same, bit for bit.
    pub fn partial_step(&mut self, dataset: &Dataset, part: usize, parts: usize) -> Result<PartialStep, TrainError> {
        let batch = self.config.batch_size.min(dataset.train.len());
        if parts == 0 || parts > batch || part >= parts {
            return Err(ConfigError::new(
                "data-parallel part",
                format!("a part below the number of parts, at most {batch} parts"),
                format!("part {part} of {parts}"),
            )
            .into());
        }
        self.prepare_batch(dataset);
        let batch = self.labels.len();
        let (start, end) = (part * batch / parts, (part + 1) * batch / parts);
        let rows = end - start;
        let slice = self.inputs.slice(ndarray::s![start..end, ..]);
        let (loss, correct) = self.network.forward_backward(slice, &self.labels[start..end]);
        let scale = rows as f32 / batch as f32;
        let mut gradient = Vec::new();
        self.network
            .visit_params(&mut |_, p| gradient.extend(p.grad.iter().map(|&g| g * scale)));
        let mut buffers = Vec::new();
        self.network.visit_buffers(&mut |_, _, b| buffers.extend_from_slice(b));
        Ok(PartialStep {
            step: self.step + 1,
            rows,
            batch,
            loss_sum: f64::from(loss) * rows as f64,
            correct,
            gradient,
            buffers,
        })
    }

    /// Data-parallel training, second half: adds up the shares of every worker (in part order, so every
    /// worker gets the same sum), averages the running statistics, and takes the optimizer step. Each worker
    /// calls it with all shares, after its own [`Trainer::partial_step`] for the same step.
    pub fn apply_partial_steps(&mut self, parts: &[PartialStep]) -> Result<StepOutcome, TrainError> {
        let mut lengths = (0, 0);
        self.network.visit_params(&mut |_, p| lengths.0 += p.grad.len());
        self.network.visit_buffers(&mut |_, _, b| lengths.1 += b.len());
        let batch = parts.first().map_or(0, |p| p.batch);
        let rows: usize = parts.iter().map(|p| p.rows).sum();
        for part in parts {
            if part.step != self.step + 1 || part.batch != batch {
                return Err(ConfigError::new(
                    "data-parallel shares",
                    format!("shares of step {} of one batch", self.step + 1),
                    format!("a share of step {} (batch {})", part.step, part.batch),
                )
                .into());
            }
            if part.gradient.len() != lengths.0 || part.buffers.len() != lengths.1 {
                return Err(ConfigError::new(
                    "data-parallel shares",
                    format!("{} gradients and {} statistics per share", lengths.0, lengths.1),
                    format!("{} and {}", part.gradient.len(), part.buffers.len()),
                )
                .into());
            }
        }
        if parts.is_empty() || rows != batch {
            return Err(ConfigError::new(
                "data-parallel shares",
                format!("shares covering the batch of {batch} rows"),
                format!("{rows} rows in {} shares", parts.len()),
            )
            .into());
        }
        let loss = parts.iter().map(|p| p.loss_sum).sum::<f64>() / batch as f64;
        if !loss.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                step: self.step + 1,
                loss,
                learning_rate: self.optimizer.learning_rate(),
            });
        }
        let mut offset = 0;
        self.network.visit_params(&mut |_, p| {
            for (j, g) in p.grad.iter_mut().enumerate() {
                *g = parts.iter().fold(0.0, |sum, part| sum + part.gradient[offset + j]);
            }
            offset += p.grad.len();
        });
        let mut offset = 0;
        self.network.visit_buffers(&mut |_, _, b| {
            for (j, v) in b.iter_mut().enumerate() {
                *v = parts.iter().fold(0.0, |sum, part| {
                    sum + part.buffers[offset + j] * (part.rows as f32 / batch as f32)
                });
            }
            offset += b.len();
        });
        self.optimizer.step(&mut self.network);
        self.step += 1;
        let correct: usize = parts.iter().map(|p| p.correct).sum();
        self.since_eval.0 += loss * batch as f64;
        self.since_eval.1 += correct;
        self.since_eval.2 += batch;
        Ok(StepOutcome {
            step: self.step,
            loss,
            accuracy: correct as f64 / batch as f64,
        })
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
        count.div_ceil(self.config.batch_size.clamp(1, MAX_EVAL_CHUNK))
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
        let chunk = self.config.batch_size.clamp(1, MAX_EVAL_CHUNK);
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
        mut on_step: impl FnMut(&StepOutcome, Option<&CurvePoint>),
    ) -> Result<(), TrainError> {
        while !self.is_finished() {
            let outcome = self.step(dataset)?;
            let point = self.evaluation_due().then(|| self.record_point(dataset));
            on_step(&outcome, point.as_ref());
        }
        Ok(())
    }
}

/// Trains on every core: `trainers` (built from the same configuration, so with the same seed) each compute
/// their slice of every batch on a thread of their own, then all apply the summed shares (see
/// [`Trainer::partial_step`]). When an evaluation is due, every trainer evaluates a share of the test set's
/// chunks on its thread and the first records the curves; `on_step` sees its steps and points. The threads
/// change nothing in the arithmetic: the result is the same as taking the shares one after the other.
pub fn run_data_parallel(
    trainers: &mut [Trainer],
    dataset: &Dataset,
    mut on_step: impl FnMut(&StepOutcome, Option<&CurvePoint>),
) -> Result<(), TrainError> {
    let parts = trainers.len();
    if parts == 0 {
        return Err(ConfigError::new("threads", "at least one trainer", 0).into());
    }
    while !trainers[0].is_finished() {
        let shares = on_every_trainer(trainers, |part, trainer| trainer.partial_step(dataset, part, parts))?
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let mut outcomes = on_every_trainer(trainers, |_, trainer| trainer.apply_partial_steps(&shares))?;
        let outcome = outcomes.remove(0);
        for helper in outcomes {
            helper?;
        }
        let outcome = outcome?;
        let point = if trainers[0].evaluation_due() {
            // every trainer holds the same parameters: each evaluates a share of the test set's chunks
            let count = dataset.test.len();
            let chunks = trainers[0].evaluation_chunks(count);
            let range = |part: usize| part * chunks / parts..(part + 1) * chunks / parts;
            let sums = on_every_trainer(trainers, |part, trainer| {
                trainer.evaluate_chunks(&dataset.test, count, range(part))
            })?
            .concat();
            Some(trainers[0].record_point_with(Evaluation::from_chunks(&sums, count)))
        } else {
            None
        };
        on_step(&outcome, point.as_ref());
    }
    Ok(())
}

/// Runs `work(part, trainer)` on every trainer at once, the first on this thread and the others on threads of
/// their own, and returns the results in part order.
fn on_every_trainer<R: Send>(
    trainers: &mut [Trainer],
    work: impl Fn(usize, &mut Trainer) -> R + Sync,
) -> Result<Vec<R>, TrainError> {
    let Some((main, helpers)) = trainers.split_first_mut() else {
        return Ok(Vec::new());
    };
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = helpers
            .iter_mut()
            .enumerate()
            .map(|(i, trainer)| scope.spawn(move || work(i + 1, trainer)))
            .collect();
        let mut results = vec![work(0, main)];
        for handle in handles {
            let lost = ConfigError::new("training thread", "to finish its share", "a thread that stopped");
            results.push(handle.join().map_err(|_| TrainError::from(lost))?);
        }
        Ok(results)
    })
}

/// The curves as CSV: `step,train_loss,train_accuracy,test_loss,test_accuracy`.
pub fn curves_csv(points: &[CurvePoint]) -> String {
    let mut csv = String::from("step,train_loss,train_accuracy,test_loss,test_accuracy\n");
    for p in points {
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            p.step, p.train_loss, p.train_accuracy, p.test_loss, p.test_accuracy
        ));
    }
    csv
}
