//! The transfer experiment in the session: started on the loaded data (animals → vehicles), stepped a time
//! budget at a time like training, its curve points and finished runs sent back as they come. It runs beside
//! the page's own model and leaves it untouched.
use serde::{Deserialize, Serialize};

use super::page_config::MAX_STEPS;
use super::{Session, SessionError};
use crate::train::CurvePoint;
use crate::transfer::{PlannedRun, TransferConfig, TransferRun};

/// The most labelled images per vehicle class the page asks for (CIFAR-10 has 5,000).
pub const MAX_LABELLED_PER_CLASS: usize = 5000;

/// One curve point of one of the experiment's runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunPoint {
    /// The run's index in [`TransferProgress::plan`].
    pub run: usize,
    pub point: CurvePoint,
}

/// A finished run's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub run: usize,
    pub final_test_accuracy: f64,
    pub wall_seconds: f64,
    /// Mean wall time of a training step (evaluations left out).
    pub step_milliseconds: f64,
}

/// Where the experiment stands: its runs, the points since the previous reply, every finished run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TransferProgress {
    pub plan: Vec<PlannedRun>,
    /// The run training now (`None` when every run is done).
    pub current: Option<usize>,
    pub steps_done: usize,
    pub total_steps: usize,
    /// Curve points recorded since the previous reply.
    pub points: Vec<RunPoint>,
    /// Every run finished so far.
    pub finished_runs: Vec<RunOutcome>,
    pub parameters: usize,
    pub source_train_images: usize,
    pub target_test_images: usize,
    pub finished: bool,
    /// Why the experiment stopped before its end (a non-finite loss).
    pub stopped: Option<String>,
}

impl Session {
    /// Starts the page's experiment ([`TransferConfig::classroom`]) on the loaded data.
    pub(super) fn start_transfer(
        &mut self,
        labelled_per_class: usize,
        pretrain_steps: usize,
        steps: usize,
    ) -> Result<TransferProgress, SessionError> {
        let check = |what: &'static str, value: usize, most: usize| {
            if (1..=most).contains(&value) {
                Ok(())
            } else {
                Err(SessionError::request(what, format!("1 to {most}"), value))
            }
        };
        check("labelled images per class", labelled_per_class, MAX_LABELLED_PER_CLASS)?;
        check("pretraining steps", pretrain_steps, MAX_STEPS)?;
        check("steps per run", steps, MAX_STEPS)?;
        let config = TransferConfig::classroom(labelled_per_class, pretrain_steps, steps);
        let run = TransferRun::new(config, &self.dataset)?;
        let progress = progress(&run, Vec::new(), None);
        self.transfer = Some(run);
        Ok(progress)
    }

    /// Steps the experiment until `budget_ms` is spent (at least one step) or it ends.
    pub(super) fn transfer_step(
        &mut self,
        budget_ms: f64,
        now: &dyn Fn() -> f64,
    ) -> Result<TransferProgress, SessionError> {
        let Some(run) = self.transfer.as_mut() else {
            return Err(SessionError::request(
                "transfer experiment",
                "one started",
                "none (start it first)",
            ));
        };
        let start = now();
        let mut points = Vec::new();
        let mut stopped = None;
        while !run.is_finished() {
            match run.step(now) {
                Ok(advance) => points.extend(advance.point.map(|point| RunPoint {
                    run: advance.run,
                    point,
                })),
                Err(error) => {
                    stopped = Some(error.to_string());
                    break;
                }
            }
            if now() - start >= budget_ms {
                break;
            }
        }
        let progress = progress(run, points, stopped);
        if progress.finished || progress.stopped.is_some() {
            self.transfer = None; // its numbers are in the reply; the memory goes back
        }
        Ok(progress)
    }

    /// Drops the experiment in progress, if any.
    pub(super) fn stop_transfer(&mut self) {
        self.transfer = None;
    }
}

fn progress(run: &TransferRun, points: Vec<RunPoint>, stopped: Option<String>) -> TransferProgress {
    let (pretrain, downstream) = run.results();
    let finished_runs = pretrain
        .into_iter()
        .chain(downstream.iter().map(|d| &d.result))
        .enumerate()
        .map(|(index, result)| RunOutcome {
            run: index,
            final_test_accuracy: result.final_test_accuracy,
            wall_seconds: result.wall_seconds,
            step_milliseconds: result.step_milliseconds,
        })
        .collect();
    let (steps_done, total_steps) = run.steps();
    TransferProgress {
        plan: run.plan().to_vec(),
        current: run.current_run(),
        steps_done,
        total_steps,
        points,
        finished_runs,
        parameters: run.parameters(),
        source_train_images: run.source_train_images(),
        target_test_images: run.target_test_images(),
        finished: run.is_finished(),
        stopped,
    }
}
