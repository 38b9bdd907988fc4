//! Hyperparameters changed while a run trains: the learning rate, SGD's momentum and the weight decay take new
//! values from a given step on, without starting over. The changes are part of the run's configuration, so a
//! run with changes replays exactly (the page's shared link and the CSV carry them).
use super::TrainConfig;
use crate::error::ConfigError;
use crate::optim::{OptimizerConfig, OptimizerKind};

/// The optimizer settings that can change while a run trains.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hyperparameters {
    pub learning_rate: f64,
    /// SGD's momentum (Adam's counterpart, β₁, is fixed).
    pub momentum: f64,
    pub weight_decay: f64,
}

/// From step `step + 1` on (after `step` steps are done), train with `hyperparameters`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HyperparameterChange {
    pub step: usize,
    #[serde(flatten)]
    pub hyperparameters: Hyperparameters,
}

impl Hyperparameters {
    /// The settings an optimizer configuration starts with.
    pub fn of(optimizer: &OptimizerConfig) -> Self {
        match *optimizer {
            OptimizerConfig::Sgd {
                learning_rate,
                momentum,
                weight_decay,
                ..
            } => Self {
                learning_rate,
                momentum,
                weight_decay,
            },
            OptimizerConfig::Adam {
                learning_rate,
                weight_decay,
                ..
            } => Self {
                learning_rate,
                momentum: 0.0,
                weight_decay,
            },
        }
    }

    /// Checks the values for `optimizer` by putting them into its configuration (momentum is SGD's only).
    pub fn validate(&self, optimizer: &OptimizerConfig) -> Result<(), ConfigError> {
        if optimizer.kind() == OptimizerKind::Adam && self.momentum != 0.0 {
            return Err(ConfigError::new(
                "momentum",
                "0 with Adam (its momentum is β₁, fixed at 0.9); choose SGD for momentum",
                self.momentum,
            ));
        }
        self.applied_to(optimizer).validate()
    }

    /// `optimizer` with these settings.
    pub fn applied_to(&self, optimizer: &OptimizerConfig) -> OptimizerConfig {
        let mut optimizer = optimizer.clone();
        match &mut optimizer {
            OptimizerConfig::Sgd {
                learning_rate,
                momentum,
                weight_decay,
                ..
            } => {
                *learning_rate = self.learning_rate;
                *momentum = self.momentum;
                *weight_decay = self.weight_decay;
            }
            OptimizerConfig::Adam {
                learning_rate,
                weight_decay,
                ..
            } => {
                *learning_rate = self.learning_rate;
                *weight_decay = self.weight_decay;
            }
        }
        optimizer
    }
}

impl TrainConfig {
    /// The settings of the step after `steps_done` steps: the latest change at or before `steps_done` (or the
    /// optimizer's own), with the learning rate scaled by the schedule.
    pub fn hyperparameters_at(&self, steps_done: usize) -> Hyperparameters {
        let mut settings = self
            .changes
            .iter()
            .rev()
            .find(|change| change.step <= steps_done)
            .map_or_else(|| Hyperparameters::of(&self.optimizer), |change| change.hyperparameters);
        settings.learning_rate *= self.schedule.factor(steps_done, self.steps);
        settings
    }

    /// Records a change after `steps_done` steps: replaces one at the same step and drops later ones (a new
    /// change overrides what a replayed link planned for later).
    pub fn change_hyperparameters(
        &mut self,
        steps_done: usize,
        hyperparameters: Hyperparameters,
    ) -> Result<(), ConfigError> {
        if steps_done >= self.steps {
            return Err(ConfigError::new(
                "hyperparameter change",
                format!("a run with steps left (it has done all {})", self.steps),
                steps_done,
            ));
        }
        hyperparameters.validate(&self.optimizer)?;
        self.changes.retain(|change| change.step < steps_done);
        self.changes.push(HyperparameterChange {
            step: steps_done,
            hyperparameters,
        });
        Ok(())
    }

    /// The changes are in increasing step order, within the run, and valid for its optimizer.
    pub(super) fn validate_changes(&self) -> Result<(), ConfigError> {
        for pair in self.changes.windows(2) {
            if pair[1].step <= pair[0].step {
                return Err(ConfigError::new(
                    "hyperparameter changes",
                    "steps in increasing order",
                    format!("step {} after step {}", pair[1].step, pair[0].step),
                ));
            }
        }
        for change in &self.changes {
            if change.step >= self.steps {
                return Err(ConfigError::new(
                    "hyperparameter change",
                    format!("a step before the last ({})", self.steps),
                    change.step,
                ));
            }
            change.hyperparameters.validate(&self.optimizer)?;
        }
        Ok(())
    }
}

/// One label per change, naming what it changed from the settings before it (`lr 0.01`, `momentum 0.9`,
/// `wd 0.0005`; `unchanged` if nothing did): the page's markers on the curves.
pub fn change_labels(base: &Hyperparameters, changes: &[HyperparameterChange]) -> Vec<(usize, String)> {
    let mut before = *base;
    changes
        .iter()
        .map(|change| {
            let now = change.hyperparameters;
            let mut parts = Vec::new();
            for (name, old, new) in [
                ("lr", before.learning_rate, now.learning_rate),
                ("momentum", before.momentum, now.momentum),
                ("wd", before.weight_decay, now.weight_decay),
            ] {
                if old != new {
                    parts.push(format!("{name} {new}"));
                }
            }
            before = now;
            if parts.is_empty() {
                parts.push("unchanged".into());
            }
            (change.step, parts.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(learning_rate: f64, momentum: f64) -> Hyperparameters {
        Hyperparameters {
            learning_rate,
            momentum,
            weight_decay: 0.0,
        }
    }

    #[test]
    fn change_labels_name_only_what_each_change_changed() {
        let change = |step, hyperparameters| HyperparameterChange { step, hyperparameters };
        let changes = [
            change(10, settings(0.01, 0.0)),
            change(20, settings(0.01, 0.9)),
            change(30, settings(0.01, 0.9)),
        ];
        let labels = change_labels(&settings(0.001, 0.0), &changes);
        let expected = [(10, "lr 0.01"), (20, "momentum 0.9"), (30, "unchanged")];
        assert_eq!(labels, expected.map(|(step, label)| (step, label.to_string())));
    }
}
