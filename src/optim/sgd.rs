//! Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay (as PyTorch).
//! GPU twin: `gpu/shaders/optimizer.wgsl` (`sgd`).
use super::{state_for, Optimizer, OptimizerState};
use crate::error::ConfigError;
use crate::model::Network;
use crate::Scalar;

/// `d = ∇θ + λθ`; with momentum `μ`: `b ← μb + d` (`b = d` on the first step) and `d = b`
/// (Nesterov: `d = ∇θ + λθ + μb`); then `θ ← θ − η d`.
pub struct Sgd<T: Scalar> {
    learning_rate: f64,
    momentum: T,
    weight_decay: T,
    nesterov: bool,
    velocity: Vec<Vec<T>>,
    started: bool,
}

impl<T: Scalar> Sgd<T> {
    pub fn new(learning_rate: f64, momentum: f64, weight_decay: f64, nesterov: bool) -> Self {
        Self {
            learning_rate,
            momentum: T::of(momentum),
            weight_decay: T::of(weight_decay),
            nesterov,
            velocity: Vec::new(),
            started: false,
        }
    }
}

impl<T: Scalar> Optimizer<T> for Sgd<T> {
    fn step(&mut self, network: &mut Network<T>) {
        let lr = T::of(self.learning_rate);
        let (mu, wd, nesterov, first) = (self.momentum, self.weight_decay, self.nesterov, !self.started);
        let velocity = &mut self.velocity;
        let mut index = 0;
        network.visit_trainable_params(&mut |rate_factor, p| {
            let lr = lr * T::of(rate_factor);
            if mu == T::zero() {
                for (theta, &g) in p.value.iter_mut().zip(p.grad.iter()) {
                    let d = g + wd * *theta;
                    *theta -= lr * d;
                }
            } else {
                let buffer = state_for(velocity, index, p.value.len());
                for ((theta, &g), b) in p.value.iter_mut().zip(p.grad.iter()).zip(buffer.iter_mut()) {
                    let d = g + wd * *theta;
                    *b = if first { d } else { mu * *b + d };
                    let step = if nesterov { d + mu * *b } else { *b };
                    *theta -= lr * step;
                }
            }
            index += 1;
        });
        self.started = true;
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// A momentum switched on mid-run starts its buffers at zero (`b ← μ·0 + d`).
    fn set_momentum(&mut self, momentum: f64) {
        self.momentum = T::of(momentum);
    }

    fn set_weight_decay(&mut self, weight_decay: f64) {
        self.weight_decay = T::of(weight_decay);
    }

    /// `step` is 1 once the momentum buffers exist (PyTorch creates them on the first step).
    fn state(&self) -> OptimizerState<T> {
        OptimizerState {
            step: i64::from(self.started),
            slots: vec![("momentum_buffer", self.velocity.clone())],
        }
    }

    fn restore(&mut self, mut state: OptimizerState<T>) -> Result<(), ConfigError> {
        self.velocity = state.take_slot("momentum_buffer")?;
        self.started = state.step > 0;
        Ok(())
    }
}
