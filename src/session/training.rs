//! Training in the session: steps within a time budget, and the two halves of a data-parallel step. Both
//! paths fill the page's [`Progress`] the same way.
use super::protocol::{BatchPoint, NextShare, Progress, Response};
use super::{Session, SessionError};
use crate::data::Dataset;
use crate::error::TrainError;
use crate::train::{Hyperparameters, PartialStep, StepOutcome, Trainer};

impl Progress {
    /// Adds one step's outcome and the time it took (`images` training images in `train_ms`); evaluates on
    /// the test set when the course's loop would (and `evaluate`), counting that time in `eval_ms`.
    fn add_step(
        &mut self,
        step: Result<StepOutcome, TrainError>,
        started: f64,
        (trainer, dataset): (&mut Trainer, &Dataset),
        evaluate: bool,
        now: &dyn Fn() -> f64,
    ) {
        match step {
            Ok(outcome) => {
                self.train_ms += now() - started;
                self.images += trainer.config().batch_size;
                self.batches.push(BatchPoint {
                    step: outcome.step,
                    loss: outcome.loss,
                    accuracy: outcome.accuracy,
                });
                self.norms.extend(trainer.layer_norms().cloned());
                if evaluate && trainer.evaluation_due() {
                    let before = now();
                    self.points.push(trainer.record_point(dataset));
                    self.eval_ms += now() - before;
                }
            }
            Err(error) => self.stopped = Some(error.to_string()),
        }
    }

    /// Where the run stands after these steps.
    pub(super) fn close(mut self, trainer: &Trainer) -> Self {
        self.steps_done = trainer.steps_done();
        self.total_steps = trainer.config().steps;
        self.finished = trainer.is_finished();
        self
    }
}

impl Session {
    /// Trains up to `steps` steps or until `budget_ms` is spent, whichever comes first.
    pub fn step(&mut self, steps: usize, budget_ms: f64, now: &dyn Fn() -> f64) -> Progress {
        let mut progress = Progress::default();
        let (trainer, dataset) = match self.trainer_and_data() {
            Ok(both) => both,
            Err(error) => {
                progress.stopped = Some(error.to_string());
                return progress;
            }
        };
        let start = now();
        for _ in 0..steps {
            if trainer.is_finished() || progress.stopped.is_some() {
                break;
            }
            let before = now();
            let step = trainer.step(dataset);
            progress.add_step(step, before, (trainer, dataset), true, now);
            if now() - start >= budget_ms {
                break;
            }
        }
        progress.close(trainer)
    }

    pub(super) fn partial_step(&mut self, part: usize, parts: usize) -> Result<PartialStep, SessionError> {
        let (trainer, dataset) = self.trainer_and_data()?;
        Ok(trainer.partial_step(dataset, part, parts)?)
    }

    /// Takes a data-parallel step from the shares in `attachments` (bytes of [`PartialStep`], in part order);
    /// with `next`, computes this worker's share of the following step into `share`.
    pub(super) fn apply_step(
        &mut self,
        attachments: &[(String, Vec<u8>)],
        evaluate: bool,
        next: Option<NextShare>,
        share: &mut Vec<u8>,
        now: &dyn Fn() -> f64,
    ) -> Progress {
        let mut progress = Progress::default();
        let shares: Result<Vec<PartialStep>, TrainError> = attachments
            .iter()
            .map(|(_, bytes)| PartialStep::from_bytes(bytes))
            .collect();
        let dataset = &self.dataset;
        let Some(trainer) = self.trainer.as_mut() else {
            progress.stopped = Some("data-parallel step: expected a model that took its share first".into());
            return progress;
        };
        let started = now();
        let step = shares.and_then(|shares| trainer.apply_partial_steps(&shares));
        progress.add_step(step, started, (trainer, dataset), evaluate, now);
        let mut progress = progress.close(trainer);
        if let (Some(next), None, false) = (next, &progress.stopped, progress.finished) {
            match trainer.partial_step(dataset, next.part, next.parts) {
                Ok(next_share) => {
                    *share = next_share.to_bytes();
                    progress.next_share = Some(next_share.step);
                }
                Err(error) => progress.stopped = Some(error.to_string()),
            }
        }
        progress
    }

    /// Changes the learning rate, momentum and weight decay: from the next step on if the run has started (the
    /// change is recorded), else in the configuration itself (nothing to keep).
    pub(super) fn set_hyperparameters(&mut self, settings: Hyperparameters) -> Result<Response, SessionError> {
        match self.trainer.as_mut().filter(|trainer| trainer.steps_done() > 0) {
            Some(trainer) => {
                trainer.change_hyperparameters(settings)?;
                self.config.changes.clone_from(&trainer.config().changes);
            }
            None => {
                let mut config = self.config.clone();
                config.learning_rate = settings.learning_rate;
                config.momentum = settings.momentum;
                config.weight_decay = settings.weight_decay;
                config.to_train_config()?;
                self.config = config;
                self.trainer = None;
            }
        }
        Ok(Response::Hyperparameters {
            query: self.config.to_query(),
            steps_done: self.trainer.as_ref().map_or(0, Trainer::steps_done),
            changes: self.config.changes.clone(),
        })
    }
}
