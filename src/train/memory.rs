//! The memory a training run needs, estimated from its config before anything is allocated, and the check
//! against the budget ([`crate::budget`]) that [`TrainConfig::validate`] (the page's session, the trainer)
//! and `lab train --threads N` run first.

use super::TrainConfig;
use crate::budget::{format_bytes, MemoryBudget};
use crate::data::PIXELS;
use crate::error::ConfigError;
use crate::optim::OptimizerConfig;

/// Bytes of one f32.
const SCALAR_BYTES: u64 = 4;

/// An estimate of a training run's memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Parameters, their gradients, the optimizer's state and the work buffers, once per thread (each holds a
    /// model).
    pub model_state_bytes: u64,
    /// The input batch and the activations of every layer and their gradients; threads share the batch.
    pub activation_bytes: u64,
    pub threads: usize,
}

impl MemoryEstimate {
    pub fn total(&self) -> u64 {
        self.model_state_bytes.saturating_add(self.activation_bytes)
    }
}

impl TrainConfig {
    /// What training this config on `threads` threads (or page workers) will take, from the config alone.
    pub fn memory_estimate(&self, threads: usize) -> Result<MemoryEstimate, ConfigError> {
        let footprint = self.model.footprint()?;
        let optimizer_states = match self.optimizer {
            OptimizerConfig::Sgd { momentum: 0.0, .. } => 0,
            OptimizerConfig::Sgd { .. } => 1,
            OptimizerConfig::Adam { .. } => 2,
        };
        let copies = (2 + optimizer_states) * threads.max(1) as u64; // value + gradient + states
        let per_image = footprint.activations_per_image.saturating_add(PIXELS as u64);
        Ok(MemoryEstimate {
            model_state_bytes: (footprint.parameters.saturating_mul(copies))
                .saturating_add(footprint.work_buffers.saturating_mul(threads.max(1) as u64))
                .saturating_mul(SCALAR_BYTES),
            activation_bytes: per_image.saturating_mul(self.batch_size as u64 * SCALAR_BYTES),
            threads: threads.max(1),
        })
    }

    /// Refuses a run whose estimate exceeds `budget`, with the estimate, its parts and the budget.
    pub fn check_memory(&self, threads: usize, budget: &MemoryBudget) -> Result<(), ConfigError> {
        let estimate = self.memory_estimate(threads)?;
        if estimate.total() <= budget.training_bytes {
            return Ok(());
        }
        Err(ConfigError::new(
            "memory",
            format!(
                "at most {} for training {} (lower the batch size or the layer sizes)",
                format_bytes(budget.training_bytes),
                budget.place
            ),
            format!(
                "an estimated {}: {} of parameters, gradients and optimizer state on {} thread(s) + {} of \
                 activations for a batch of {}",
                format_bytes(estimate.total()),
                format_bytes(estimate.model_state_bytes),
                estimate.threads,
                format_bytes(estimate.activation_bytes),
                self.batch_size
            ),
        ))
    }
}
