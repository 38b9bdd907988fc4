//! The lab session: everything the page can ask for, as plain Rust over the core.
//!
//! The page's Web Worker owns one [`Session`] and forwards each message to [`Session::dispatch`]; the reply
//! is a [`Response`] plus, for views that show images, raw RGBA pixels. Nothing here knows about the
//! browser, so the native tests drive exactly what the page drives. By concern:
//!
//! - [`protocol`]: the request and response types, shared with the page;
//! - [`page_config`]: the page's form and its query string; [`presets`]: Table 1 and the CNN recipes;
//! - `loading`: dropped files and the data summary; `training`: steps, data-parallel shares;
//! - `inspect`: the layer view, tensor statistics, the gradient check of the current model, filters;
//! - `activations`: one test image through every layer; `kernels`: every convolution's kernels;
//!   `activation_curves`: each activation function and its derivative;
//! - `results`: predictions, confusion matrix, gallery, classifying a picture;
//! - `transfer`: the transfer experiment, stepped like training, beside the page's model;
//! - `recovery`: snapshots of the run and resuming from one (the page's recovery from a dead worker);
//! - `rollback`: a WebGPU run's last sync, where a failing GPU rolls the run back to;
//! - [`error`]: why a request failed.
pub mod activation_curves;
mod activations;
mod backend;
mod error;
mod inspect;
mod kernels;
mod loading;
pub mod page_config;
pub mod presets;
pub mod protocol;
mod recovery;
mod results;
mod rollback;
mod training;
mod transfer;
mod weights;

use ndarray::Array2;

pub use crate::data::resize_to_cifar;
use crate::data::{self, Dataset, DatasetBuilder, SyntheticConfig, CLASS_NAMES, NUM_CLASSES, SYNTHETIC_CLASS_NAMES};
pub use crate::model::ModelKind;
pub use crate::optim::OptimizerKind;
use crate::train::Trainer;
pub use backend::{webgpu_status, BackendSession};
pub use error::SessionError;
pub use page_config::{PageConfig, MAX_BATCH, MAX_STEPS};
pub use presets::{presets, Preset};
pub use protocol::*;
pub use recovery::{trap, trap_message, TrapKind};
pub use rollback::SYNC_MS;
pub use weights::WEIGHTS_FILE;

/// What the views work with: the trainer, the data, and a scratch batch (inputs and labels).
type Scratch<'a> = (&'a mut Trainer, &'a Dataset, &'a mut Array2<f32>, &'a mut Vec<usize>);

/// The page's state: the data, the configuration and the training run.
pub struct Session {
    dataset: Dataset,
    /// Files read since the last complete data set, waiting for the missing part.
    pending: Option<(DatasetBuilder, Vec<String>)>,
    config: PageConfig,
    trainer: Option<Trainer>,
    /// The run's configuration when a loaded file brought one the form cannot describe (until the next
    /// `configure`).
    from_file: Option<crate::train::TrainConfig>,
    /// Scratch input of the views (predictions, layer statistics).
    inputs: Array2<f32>,
    labels: Vec<usize>,
    /// The transfer experiment in progress, beside the page's model.
    transfer: Option<crate::transfer::TransferRun>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new(data::synthetic(&SyntheticConfig::default()), PageConfig::default())
    }
}

impl Session {
    pub fn new(dataset: Dataset, config: PageConfig) -> Self {
        Self {
            dataset,
            pending: None,
            config,
            trainer: None,
            from_file: None,
            inputs: Array2::zeros((0, 0)),
            labels: Vec::new(),
            transfer: None,
        }
    }

    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    pub fn config(&self) -> &PageConfig {
        &self.config
    }

    pub fn trainer(&self) -> Option<&Trainer> {
        self.trainer.as_ref()
    }

    /// Carries out one request. `files` are the (name, bytes) sent with `add-files` (or the shares of an
    /// `apply-step`), `pixels` the RGBA picture sent with `classify`; `now` is a millisecond clock (the
    /// worker's `performance.now()`).
    pub fn dispatch(
        &mut self,
        request: Request,
        files: &[(String, Vec<u8>)],
        pixels: &[u8],
        now: &dyn Fn() -> f64,
    ) -> Reply {
        let mut out = Vec::new();
        let response = match request {
            Request::State => Ok(Response::State(self.state(&mut out))),
            Request::AddFiles => self.add_files(files, &mut out),
            Request::UseSynthetic => {
                self.replace_dataset(data::synthetic(&SyntheticConfig::default()));
                self.pending = None;
                Ok(Response::State(self.state(&mut out)))
            }
            Request::Configure { query } => PageConfig::from_query(&query)
                .map(|config| {
                    self.config = config;
                    self.from_file = None;
                    self.trainer = None;
                    Response::State(self.state(&mut out))
                })
                .map_err(SessionError::from),
            Request::Step { steps, budget_ms } => Ok(Response::Progress(self.step(steps, budget_ms, now))),
            Request::PartialStep { part, parts } => self.partial_step(part, parts).map(|share| {
                out = share.to_bytes();
                Response::Partial {
                    step: share.step,
                    rows: share.rows,
                }
            }),
            Request::ApplyStep { evaluate, next } => Ok(Response::Progress(
                self.apply_step(files, evaluate, next, &mut out, now),
            )),
            Request::Reset => {
                self.trainer = None;
                Ok(Response::State(self.state(&mut out)))
            }
            Request::Evaluate => self.trainer_and_data().map(|(trainer, dataset)| {
                let evaluation = trainer.evaluate(&dataset.test, None);
                Response::Evaluation {
                    loss: evaluation.loss,
                    accuracy: evaluation.accuracy,
                    images: evaluation.images,
                }
            }),
            Request::CheckGradients => self.check_gradients(),
            Request::Suite { seed } => Ok(Response::Gradients {
                rows: crate::gradcheck::standard_suite(seed),
                samples: 0,
                entries: 0,
            }),
            Request::Layer { index } => self.layer(index),
            Request::Filters => self.filters(&mut out),
            Request::Results { gallery } => self.results(gallery, &mut out),
            Request::Classify { width, height } => self.classify(pixels, width, height, &mut out),
            Request::SetHyperparameters(settings) => self.set_hyperparameters(settings),
            Request::SaveRun => self.save_run(&mut out),
            Request::ResumeRun => self.resume_run(files, &mut out),
            Request::Backends | Request::SetBackend { .. } | Request::LoseDevice => Ok(Response::error(
                "backends: expected the worker's backend session to answer this, found the CPU session",
            )),
            Request::Trap { kind } => trap(kind),
            Request::Lessons => Ok(Response::Lessons {
                lessons: crate::lessons::lessons(),
            }),
            Request::ActivationCurves => Ok(Response::ActivationCurves {
                curves: activation_curves::activation_curves(),
            }),
            Request::ImageActivations { image } => {
                self.activations_reply(image, &mut out).map(Response::ImageActivations)
            }
            Request::Kernels { tensor } => self.kernels(tensor, &mut out).map(Response::Kernels),
            Request::SaveWeights => self.save_weights(&mut out),
            Request::LoadWeights { into_current } => self.load_weights(files, into_current, &mut out),
            Request::StartTransfer {
                labelled_per_class,
                pretrain_steps,
                steps,
            } => self
                .start_transfer(labelled_per_class, pretrain_steps, steps)
                .map(Response::Transfer),
            Request::TransferStep { budget_ms } => self.transfer_step(budget_ms, now).map(Response::Transfer),
            Request::StopTransfer => {
                self.stop_transfer();
                Ok(Response::Transfer(TransferProgress::default()))
            }
            Request::CurvesCsv => Ok(Response::Csv {
                csv: match self.trainer.as_ref() {
                    Some(trainer) => crate::train::curves_csv(trainer.curves(), trainer.config()),
                    None => crate::train::curves_csv(&[], &crate::train::TrainConfig::default()),
                },
            }),
        };
        Reply {
            response: response.unwrap_or_else(Response::error),
            pixels: out,
        }
    }

    /// The class names of the loaded data.
    pub fn class_names(&self) -> Vec<String> {
        if self.dataset.class_names.len() == NUM_CLASSES {
            return self.dataset.class_names.clone(); // validated when the file was read
        }
        let names: &[&str] = if self.dataset.name.starts_with("synthetic") {
            &SYNTHETIC_CLASS_NAMES
        } else {
            &CLASS_NAMES
        };
        names.iter().map(|name| name.to_string()).collect()
    }

    /// Takes the trainer (built on first use) out of the session, e.g. to train it on the GPU; give it back
    /// with [`Session::restore_trainer`].
    pub fn take_trainer(&mut self) -> Result<Trainer, SessionError> {
        self.ensure_trainer()?;
        Ok(self.trainer.take().expect("built above"))
    }

    pub fn restore_trainer(&mut self, trainer: Trainer) {
        self.trainer = Some(trainer);
    }

    /// The trainer, built from the configuration on first use.
    fn ensure_trainer(&mut self) -> Result<&mut Trainer, SessionError> {
        if self.trainer.is_none() {
            let config = self.train_config()?;
            self.trainer = Some(Trainer::new(config, &self.dataset)?);
        }
        Ok(self.trainer.as_mut().expect("just built"))
    }

    /// The trainer (built on first use) beside the data it trains on.
    fn trainer_and_data(&mut self) -> Result<(&mut Trainer, &Dataset), SessionError> {
        self.ensure_trainer()?;
        let trainer = self.trainer.as_mut().expect("built above");
        Ok((trainer, &self.dataset))
    }

    /// The trainer (built on first use), the data, and the views' scratch batch, borrowed at once.
    fn with_scratch(&mut self) -> Result<Scratch<'_>, SessionError> {
        self.ensure_trainer()?;
        let trainer = self.trainer.as_mut().expect("built above");
        Ok((trainer, &self.dataset, &mut self.inputs, &mut self.labels))
    }

    fn replace_dataset(&mut self, dataset: Dataset) {
        self.dataset = dataset;
        self.trainer = None;
    }
}
