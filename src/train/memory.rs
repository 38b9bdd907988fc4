//! The memory a training run needs, estimated from its config before anything is allocated, and the check
//! against the budget ([`crate::budget`]) that [`TrainConfig::validate`] (the page's session, the trainer)
//! and `lab train --threads N` run first. A WebGPU run in the page's worker also keeps a rollback copy of the
//! run ([`crate::session::BackendSession`], `session/rollback.rs`), which [`TrainConfig::check_gpu_memory`]
//! counts before the run goes to the GPU.

use super::TrainConfig;
use crate::budget::{format_bytes, MemoryBudget};
use crate::data::PIXELS;
use crate::error::ConfigError;
use crate::optim::OptimizerConfig;

/// Bytes of one f32.
const SCALAR_BYTES: u64 = 4;

/// Bytes of one index of the sampler's order in a saved run (an i64).
const INDEX_BYTES: u64 = 8;

/// An estimate of a training run's memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Parameters, their gradients, the optimizer's state and the work buffers, once per thread (each holds a
    /// model).
    pub model_state_bytes: u64,
    /// The input batch and the activations of every layer and their gradients; threads share the batch.
    pub activation_bytes: u64,
    /// A WebGPU run's rollback copy in the worker (0 on the CPU): the run saved at every sync (weights,
    /// running statistics, the optimizer's moments, the sampler's order), twice while a new one is written
    /// (the tensors and the file; the previous copy is dropped first).
    pub rollback_bytes: u64,
    pub threads: usize,
}

impl MemoryEstimate {
    pub fn total(&self) -> u64 {
        self.model_state_bytes
            .saturating_add(self.activation_bytes)
            .saturating_add(self.rollback_bytes)
    }
}

impl TrainConfig {
    /// What training this config on `threads` threads (or page workers) will take, from the config alone.
    pub fn memory_estimate(&self, threads: usize) -> Result<MemoryEstimate, ConfigError> {
        let footprint = self.model.footprint()?;
        let copies = (2 + self.optimizer_states()) * threads.max(1) as u64; // value + gradient + states
        let per_image = footprint.activations_per_image.saturating_add(PIXELS as u64);
        Ok(MemoryEstimate {
            model_state_bytes: (footprint.parameters.saturating_mul(copies))
                .saturating_add(footprint.work_buffers.saturating_mul(threads.max(1) as u64))
                .saturating_mul(SCALAR_BYTES),
            activation_bytes: per_image.saturating_mul(self.batch_size as u64 * SCALAR_BYTES),
            rollback_bytes: 0,
            threads: threads.max(1),
        })
    }

    /// Copies of the parameters the optimizer keeps: SGD's momentum buffer (when the run starts with momentum
    /// or a planned change switches it on), Adam's two moments.
    fn optimizer_states(&self) -> u64 {
        match self.optimizer {
            OptimizerConfig::Sgd { momentum, .. } => {
                let any_momentum = momentum != 0.0 || self.changes.iter().any(|c| c.hyperparameters.momentum != 0.0);
                u64::from(any_momentum)
            }
            OptimizerConfig::Adam { .. } => 2,
        }
    }

    /// What training this config on the GPU from the page's worker takes there: the CPU copy of the run (one
    /// thread's estimate: the GPU run continues on it if the GPU fails) and its rollback copy, a run saved with
    /// `train_images` indices in its sampler's order.
    pub fn gpu_memory_estimate(&self, train_images: usize) -> Result<MemoryEstimate, ConfigError> {
        let footprint = self.model.footprint()?;
        let saved = footprint
            .parameters
            .saturating_mul((1 + self.optimizer_states()) * SCALAR_BYTES)
            .saturating_add((train_images as u64).saturating_mul(INDEX_BYTES));
        Ok(MemoryEstimate {
            rollback_bytes: saved.saturating_mul(2),
            ..self.memory_estimate(1)?
        })
    }

    /// Refuses a run whose estimate exceeds `budget`, with the estimate, its parts and the budget.
    pub fn check_memory(&self, threads: usize, budget: &MemoryBudget) -> Result<(), ConfigError> {
        self.check_estimate(&self.memory_estimate(threads)?, budget)
    }

    /// [`TrainConfig::check_memory`] for a run on the GPU from the page's worker, its rollback copy counted
    /// ([`TrainConfig::gpu_memory_estimate`]).
    pub fn check_gpu_memory(&self, train_images: usize, budget: &MemoryBudget) -> Result<(), ConfigError> {
        self.check_estimate(&self.gpu_memory_estimate(train_images)?, budget)
    }

    fn check_estimate(&self, estimate: &MemoryEstimate, budget: &MemoryBudget) -> Result<(), ConfigError> {
        if estimate.total() <= budget.training_bytes {
            return Ok(());
        }
        let (rollback, advice) = if estimate.rollback_bytes == 0 {
            (String::new(), "")
        } else {
            (
                format!(
                    " + {} for the WebGPU run's rollback copy (the run saved at every sync)",
                    format_bytes(estimate.rollback_bytes)
                ),
                ", or train on the CPU",
            )
        };
        Err(ConfigError::new(
            "memory",
            format!(
                "at most {} for training {} (lower the batch size or the layer sizes{advice})",
                format_bytes(budget.training_bytes),
                budget.place
            ),
            format!(
                "an estimated {}: {} of parameters, gradients and optimizer state on {} thread(s) + {} of \
                 activations for a batch of {}{rollback}",
                format_bytes(estimate.total()),
                format_bytes(estimate.model_state_bytes),
                estimate.threads,
                format_bytes(estimate.activation_bytes),
                self.batch_size
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{synthetic, SyntheticConfig};
    use crate::model::{MlpConfig, ModelConfig, Normalization, ResnetConfig};
    use crate::train::Trainer;

    fn adam(model: ModelConfig) -> TrainConfig {
        TrainConfig {
            model,
            optimizer: OptimizerConfig::adam(1e-3),
            batch_size: 8,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn the_rollback_copy_is_the_size_of_the_saved_run_twice() {
        let data = synthetic(&SyntheticConfig {
            seed: 3,
            train_size: 64,
            test_size: 8,
        });
        let config = adam(ModelConfig::Mlp(MlpConfig {
            hidden: vec![40],
            normalization: Normalization::BatchNorm,
            ..MlpConfig::default()
        }));
        let mut trainer = Trainer::new(config.clone(), &data).unwrap();
        trainer.step(&data).unwrap(); // Adam's moments exist from the first step
        let saved = trainer.save_run().unwrap().len() as f64;
        let estimate = config.gpu_memory_estimate(data.train.len()).unwrap();
        // the file adds its header and the run's JSON (a few KB) to the tensors
        let per_copy = estimate.rollback_bytes as f64 / 2.0;
        assert!(
            (per_copy - saved).abs() <= 0.02 * saved,
            "estimated {per_copy} bytes a copy, saved {saved}"
        );
        assert_eq!(config.memory_estimate(1).unwrap().rollback_bytes, 0, "none on the CPU");
        println!("MLP 40 + BatchNorm + Adam: saved run {saved} bytes, estimated {per_copy} a copy");
    }

    #[test]
    fn a_resnet18_with_adam_keeps_about_130_mb_beside_its_gpu_run() {
        let config = adam(ModelConfig::Cnn(ResnetConfig::resnet18(10).cnn()));
        let copy = config.gpu_memory_estimate(50_000).unwrap().rollback_bytes / 2;
        assert!((130_000_000..140_000_000).contains(&copy), "{copy} bytes");
        println!(
            "ResNet-18 + Adam, 50,000 training images: {} a copy",
            format_bytes(copy)
        );
    }

    #[test]
    fn a_gpu_run_that_cannot_afford_its_rollback_copy_is_refused_with_the_estimate() {
        let config = adam(ModelConfig::Cnn(ResnetConfig::resnet18(10).cnn()));
        let cpu = config.memory_estimate(1).unwrap().total();
        let budget = MemoryBudget {
            training_bytes: cpu + 1_000_000,
            data_bytes: 0,
            place: "in the browser",
        };
        config.check_memory(1, &budget).expect("the CPU run fits");
        let message = config.check_gpu_memory(50_000, &budget).unwrap_err().to_string();
        for part in [
            "rollback copy",
            "or train on the CPU",
            &format_bytes(budget.training_bytes),
        ] {
            assert!(message.contains(part), "`{part}` in: {message}");
        }
        let roomy = MemoryBudget {
            training_bytes: cpu + 300_000_000,
            ..budget
        };
        config.check_gpu_memory(50_000, &roomy).expect("room for the copy");
    }
}
