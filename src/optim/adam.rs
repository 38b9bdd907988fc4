//! Adam (Kingma & Ba), in PyTorch's formulation and defaults.
//! GPU twin: `gpu/shaders/optimizer.wgsl` (`adam`).
use super::{state_for, Optimizer, OptimizerState};
use crate::error::ConfigError;
use crate::model::Network;
use crate::Scalar;

/// With `g = ∇θ + λθ`, at step `t`:
/// `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
/// `θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)`.
pub struct Adam<T: Scalar> {
    learning_rate: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: T,
    step: i32,
    first_moment: Vec<Vec<T>>,
    second_moment: Vec<Vec<T>>,
}

impl<T: Scalar> Adam<T> {
    pub fn new(learning_rate: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Self {
        Self {
            learning_rate,
            beta1,
            beta2,
            eps,
            weight_decay: T::of(weight_decay),
            step: 0,
            first_moment: Vec::new(),
            second_moment: Vec::new(),
        }
    }
}

impl<T: Scalar> Optimizer<T> for Adam<T> {
    fn step(&mut self, network: &mut Network<T>) {
        self.step = self.step.saturating_add(1);
        let bias_correction1 = 1.0 - self.beta1.powi(self.step);
        let bias_correction2 = 1.0 - self.beta2.powi(self.step);
        let step_size = self.learning_rate / bias_correction1;
        let inv_sqrt_bc2 = T::of(1.0 / bias_correction2.sqrt());
        let (b1, b2, eps, wd) = (T::of(self.beta1), T::of(self.beta2), T::of(self.eps), self.weight_decay);
        let (first, second) = (&mut self.first_moment, &mut self.second_moment);
        let mut index = 0;
        network.visit_trainable_params(&mut |rate_factor, p| {
            let step_size = T::of(step_size * rate_factor);
            let m = state_for(first, index, p.value.len());
            let v = state_for(second, index, p.value.len());
            for (((theta, &grad), m), v) in p
                .value
                .iter_mut()
                .zip(p.grad.iter())
                .zip(m.iter_mut())
                .zip(v.iter_mut())
            {
                let g = grad + wd * *theta;
                *m = b1 * *m + (T::one() - b1) * g;
                *v = b2 * *v + (T::one() - b2) * g * g;
                *theta -= step_size * *m / (v.sqrt() * inv_sqrt_bc2 + eps);
            }
            index += 1;
        });
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// Adam's momentum is β₁, fixed when it is built ([`crate::train::Hyperparameters::validate`] keeps this 0).
    fn set_momentum(&mut self, _momentum: f64) {}

    fn set_weight_decay(&mut self, weight_decay: f64) {
        self.weight_decay = T::of(weight_decay);
    }

    fn state(&self) -> OptimizerState<T> {
        OptimizerState {
            step: i64::from(self.step),
            slots: vec![
                ("exp_avg", self.first_moment.clone()),
                ("exp_avg_sq", self.second_moment.clone()),
            ],
        }
    }

    fn restore(&mut self, mut state: OptimizerState<T>) -> Result<(), ConfigError> {
        let step =
            i32::try_from(state.step).map_err(|_| ConfigError::new("Adam step", "a count below 2³¹", state.step))?;
        let (first, second) = (state.take_slot("exp_avg")?, state.take_slot("exp_avg_sq")?);
        (self.step, self.first_moment, self.second_moment) = (step, first, second);
        Ok(())
    }
}
