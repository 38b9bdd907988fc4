//! The rollback point of a run training on the GPU. Reading the GPU's state back costs read-backs that the
//! steps wait for, so [`super::BackendSession`] syncs the CPU copy of the run only every [`SYNC_MS`] (and
//! whenever a request needs the current model); in between, the CPU trainer's step count and curves run ahead
//! of its weights. Each sync therefore also saves the run as it stands (weights, running statistics, the
//! optimizer's moments and step count, the step, the curves, the sampler's position: a saved run, see
//! [`crate::train::checkpoint`]), and a GPU that fails rolls the whole run back to that point, so training goes
//! on on the CPU from one consistent step, its curves cut there.
use super::protocol::Request;
use crate::data::Dataset;
use crate::train::Trainer;
use crate::weights::WeightsError;

/// Milliseconds between two syncs of a GPU run's state to the CPU copy, at the end of a step request (the
/// page asks for a snapshot of the run as often, `src/web/recovery.rs`, which syncs too when it is due).
pub const SYNC_MS: f64 = 5000.0;

/// The run as it stood at its last sync.
pub struct RollbackPoint {
    step: usize,
    run: Vec<u8>,
}

impl RollbackPoint {
    /// The run `trainer` holds now (its weights and optimizer state must be the GPU's, or the GPU's must be
    /// uploaded from it).
    pub fn of(trainer: &mut Trainer) -> Result<Self, WeightsError> {
        Ok(Self {
            step: trainer.steps_done(),
            run: trainer.save_run()?,
        })
    }

    /// The step it was taken at.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The run at that step, to continue on the CPU.
    pub fn restore(&self, dataset: &Dataset) -> Result<Trainer, WeightsError> {
        Trainer::resume_run(&self.run, dataset)
    }
}

/// Whether `request` reads or changes the model or its optimizer, so that a GPU run must be synced to the CPU
/// copy first. Only requests that touch neither (the curves, which the CPU copy keeps current, lessons, the
/// transfer experiment beside the model, the backend's own requests) go without.
pub fn needs_current_model(request: &Request) -> bool {
    match request {
        Request::Step { .. }
        | Request::CurvesCsv
        | Request::Lessons
        | Request::ActivationCurves
        | Request::Suite { .. }
        | Request::Trap { .. }
        | Request::StartTransfer { .. }
        | Request::TransferStep { .. }
        | Request::StopTransfer
        | Request::Backends
        | Request::LoseDevice => false,
        Request::State
        | Request::AddFiles
        | Request::UseSynthetic
        | Request::Configure { .. }
        | Request::PartialStep { .. }
        | Request::ApplyStep { .. }
        | Request::Reset
        | Request::Evaluate
        | Request::CheckGradients
        | Request::Layer { .. }
        | Request::Filters
        | Request::Results { .. }
        | Request::Classify { .. }
        | Request::SetHyperparameters(_)
        | Request::SaveRun
        | Request::ResumeRun
        | Request::ImageActivations { .. }
        | Request::Kernels { .. }
        | Request::SaveWeights
        | Request::LoadWeights { .. }
        | Request::SetBackend { .. } => true,
    }
}
