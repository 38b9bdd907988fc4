//! Save run / Resume run: a training run in one safetensors file, so a resumed run continues bit for bit as
//! the uninterrupted one would have.
//!
//! The file holds the model's state dict (`model.<name>`, PyTorch's names), the optimizer's slots
//! (`optimizer.<slot>.<parameter index>`, e.g. Adam's `exp_avg`), the sampler's order (`sampler.order`), and in
//! the metadata (`backprop_lab.run`, JSON) the configuration, the step, the curves, the partial sums of the next
//! curve point and the positions of the shuffling and augmentation generators. The data themselves are not in
//! it: the run resumes on the same data set (the number of training images is checked).
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{CurvePoint, TrainConfig, Trainer};
use crate::data::{BatchSampler, Dataset, SamplerPosition};
use crate::optim::OptimizerState;
use crate::weights::{self, Bytes, StateDict, StoredValues, WeightsError};

/// The metadata key of the run's JSON.
pub const RUN_KEY: &str = "backprop_lab.run";

/// A ChaCha8 generator's exact position: seed, stream and word position.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct GeneratorPosition {
    seed: [u8; 32],
    stream: u64,
    /// A `u128`, as text (JSON numbers stop at 2⁶⁴).
    word_pos: String,
}

impl GeneratorPosition {
    fn of(rng: &ChaCha8Rng) -> Self {
        Self {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    fn generator(&self) -> Result<ChaCha8Rng, WeightsError> {
        let word_pos = self
            .word_pos
            .parse::<u128>()
            .map_err(|_| WeightsError::Run(format!("expected a generator position, found `{}`", self.word_pos)))?;
        let mut rng = ChaCha8Rng::from_seed(self.seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word_pos);
        Ok(rng)
    }
}

/// Everything of a run that is not a tensor.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct RunState {
    config: TrainConfig,
    step: usize,
    /// Loss sum, correct and images of the batches since the last curve point.
    since_eval: (f64, usize, usize),
    curves: Vec<CurvePoint>,
    optimizer_step: i64,
    optimizer_slots: Vec<String>,
    train_images: usize,
    index_in_epoch: usize,
    epochs_completed: usize,
    sampler_rng: GeneratorPosition,
    augmentation_rng: GeneratorPosition,
}

impl Trainer {
    /// The run as a safetensors file (see the module documentation).
    pub fn save_run(&mut self) -> Result<Vec<u8>, WeightsError> {
        let mut tensors = weights::state_tensors(&mut self.network, "model.");
        let optimizer = self.optimizer.state();
        let mut slot_names = Vec::new();
        for (slot, per_parameter) in &optimizer.slots {
            slot_names.push(slot.to_string());
            for (i, values) in per_parameter.iter().enumerate() {
                tensors.push((
                    format!("optimizer.{slot}.{i}"),
                    Bytes::f32(vec![values.len()], values.iter().copied()),
                ));
            }
        }
        let position = self.sampler.position();
        tensors.push((
            "sampler.order".to_string(),
            Bytes::i64(vec![position.order.len()], position.order.iter().map(|&i| i as i64)),
        ));
        let run = RunState {
            config: self.config.clone(),
            step: self.step,
            since_eval: self.since_eval,
            curves: self.curves.clone(),
            optimizer_step: optimizer.step,
            optimizer_slots: slot_names,
            train_images: position.order.len(),
            index_in_epoch: position.index_in_epoch,
            epochs_completed: position.epochs_completed,
            sampler_rng: GeneratorPosition::of(&position.rng),
            augmentation_rng: GeneratorPosition::of(&self.augmentation_rng),
        };
        let json = serde_json::to_string(&run).map_err(|e| WeightsError::Write(e.to_string()))?;
        weights::serialize(
            &tensors,
            vec![("format".into(), "backprop-lab-run".into()), (RUN_KEY.into(), json)],
        )
    }

    /// The run saved in `bytes`, ready to continue on `dataset` (the data set it was saved with).
    pub fn resume_run(bytes: &[u8], dataset: &Dataset) -> Result<Trainer, WeightsError> {
        let file = StateDict::from_bytes(bytes)?;
        let json = file.metadata.get(RUN_KEY).ok_or_else(|| WeightsError::NoConfig {
            key: RUN_KEY,
            found: "no such key (a weights file, not a saved run?)".to_string(),
        })?;
        let run: RunState = serde_json::from_str(json).map_err(|e| WeightsError::NoConfig {
            key: RUN_KEY,
            found: format!("text that is not a saved run ({e})"),
        })?;
        if run.train_images != dataset.train.len() {
            return Err(WeightsError::Run(format!(
                "it was saved with {} training images, found {} loaded: load the same data first",
                run.train_images,
                dataset.train.len()
            )));
        }
        let mut trainer = Trainer::new(run.config.clone(), dataset).map_err(|e| WeightsError::Run(e.to_string()))?;
        weights::load_into(&mut trainer.network, &file.within("model."), None)?;

        let mut lengths = Vec::new();
        trainer
            .network
            .visit_trainable_params(&mut |_, p| lengths.push(p.value.len()));
        let mut slots = Vec::new();
        for slot in &run.optimizer_slots {
            let name: &'static str = trainer
                .optimizer
                .state()
                .slots
                .iter()
                .map(|(n, _)| *n)
                .find(|n| n == slot)
                .ok_or_else(|| WeightsError::Run(format!("the optimizer has no `{slot}` state")))?;
            let mut per_parameter = Vec::new();
            for (i, &len) in lengths.iter().enumerate() {
                match file.tensors.get(&format!("optimizer.{slot}.{i}")).map(|t| &t.values) {
                    None => break,
                    Some(StoredValues::F32(values)) if values.len() == len => per_parameter.push(values.clone()),
                    Some(other) => {
                        return Err(WeightsError::Run(format!(
                            "optimizer.{slot}.{i}: expected {len} F32 values, found {} {}",
                            match other {
                                StoredValues::F32(v) => v.len(),
                                StoredValues::I64(v) => v.len(),
                            },
                            other.dtype_name()
                        )))
                    }
                }
            }
            if !per_parameter.is_empty() && per_parameter.len() != lengths.len() {
                return Err(WeightsError::Run(format!(
                    "expected the optimizer's `{slot}` for all {} parameters, found {}",
                    lengths.len(),
                    per_parameter.len()
                )));
            }
            slots.push((name, per_parameter));
        }
        trainer
            .optimizer
            .restore(OptimizerState {
                step: run.optimizer_step,
                slots,
            })
            .map_err(|e| WeightsError::Run(e.to_string()))?;

        let order = match file.tensors.get("sampler.order").map(|t| &t.values) {
            Some(StoredValues::I64(order)) => order
                .iter()
                .map(|&i| usize::try_from(i).unwrap_or(usize::MAX))
                .collect(),
            _ => {
                return Err(WeightsError::Run(
                    "expected the sampler's order (I64 `sampler.order`)".to_string(),
                ))
            }
        };
        trainer.sampler = BatchSampler::at(SamplerPosition {
            order,
            index_in_epoch: run.index_in_epoch,
            epochs_completed: run.epochs_completed,
            rng: run.sampler_rng.generator()?,
        })
        .ok_or_else(|| WeightsError::Run("the sampler's order is not a permutation of the training images".into()))?;
        trainer.augmentation_rng = run.augmentation_rng.generator()?;
        trainer.step = run.step;
        trainer.since_eval = run.since_eval;
        trainer.curves = run.curves;
        Ok(trainer)
    }
}
