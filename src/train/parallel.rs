//! Data-parallel training: every worker (a Web Worker of the page, a thread of `lab train --threads`) draws
//! the same batch, computes the gradients of its slice ([`Trainer::partial_step`]), and all apply the summed
//! shares in part order ([`Trainer::apply_partial_steps`]), so their parameters stay identical.
use super::{CurvePoint, Evaluation, StepOutcome, Trainer};
use crate::data::Dataset;
use crate::error::{ConfigError, TrainError};

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
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TrainError> {
        let bad = |found: String| TrainError::share("data-parallel share", "the bytes of a training share", found);
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

impl Trainer {
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
                return Err(TrainError::share(
                    "data-parallel shares",
                    format!("shares of step {} of one batch", self.step + 1),
                    format!("a share of step {} (batch {})", part.step, part.batch),
                ));
            }
            if part.gradient.len() != lengths.0 || part.buffers.len() != lengths.1 {
                return Err(TrainError::share(
                    "data-parallel shares",
                    format!("{} gradients and {} statistics per share", lengths.0, lengths.1),
                    format!("{} and {}", part.gradient.len(), part.buffers.len()),
                ));
            }
        }
        if parts.is_empty() || rows != batch {
            return Err(TrainError::share(
                "data-parallel shares",
                format!("shares covering the batch of {batch} rows"),
                format!("{rows} rows in {} shares", parts.len()),
            ));
        }
        let loss = parts.iter().map(|p| p.loss_sum).sum::<f64>() / batch as f64;
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
        let correct: usize = parts.iter().map(|p| p.correct).sum();
        self.finish_step(loss, correct, batch)
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
    on_step: impl FnMut(&StepOutcome, Option<&CurvePoint>),
) -> Result<(), TrainError> {
    run_data_parallel_until(trainers, usize::MAX, dataset, on_step)
}

/// [`run_data_parallel`] until `stop_at` steps are done (or the run's end). Every trainer then holds the same
/// run (parameters, running statistics, optimizer state, batch order, augmentation generator; the first also
/// the curves), so the first one's saved run resumes on any number of threads.
pub fn run_data_parallel_until(
    trainers: &mut [Trainer],
    stop_at: usize,
    dataset: &Dataset,
    mut on_step: impl FnMut(&StepOutcome, Option<&CurvePoint>),
) -> Result<(), TrainError> {
    let parts = trainers.len();
    if parts == 0 {
        return Err(ConfigError::new("threads", "at least one trainer", 0).into());
    }
    while !trainers[0].is_finished() && trainers[0].steps_done() < stop_at {
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
            results.push(handle.join().map_err(|_| TrainError::ThreadStopped)?);
        }
        Ok(results)
    })
}
