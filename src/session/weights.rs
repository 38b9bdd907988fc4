//! Weights in the session: `Download weights` and `Load weights` (a model's state dict as safetensors,
//! PyTorch's names, the configuration in the metadata), and the run a loaded file brings (see also `recovery`,
//! whose saved runs are `Save run` / `Resume run`). A file that cannot be used changes nothing: the new trainer
//! is built and filled aside, and replaces the current one only when everything fitted.
use super::page_config::PageConfig;
use super::protocol::Response;
use super::{Session, SessionError};
use crate::model::{ModelConfig, ModelKind};
use crate::train::{Hyperparameters, TrainConfig, Trainer};
use crate::weights::{self, LoadReport, StateDict, WeightsError, WeightsMetadata};

/// The name of a downloaded weights file.
pub const WEIGHTS_FILE: &str = "weights.safetensors";

impl Session {
    /// The current model's state dict as safetensors, its configuration and input normalisation in the
    /// metadata; the bytes go to `out`.
    pub(super) fn save_weights(&mut self, out: &mut Vec<u8>) -> Result<Response, SessionError> {
        let trainer = self.ensure_trainer()?;
        let metadata = WeightsMetadata {
            model: Some(trainer.config().model.clone()),
            input: trainer.config().input,
        };
        *out = weights::save(trainer.network_mut(), &metadata).map_err(crate::error::TrainError::from)?;
        Ok(Response::File {
            name: WEIGHTS_FILE.to_string(),
        })
    }

    /// Loads the weights file in `files`: into a model built from the file's metadata, or (with
    /// `into_current`, or when the file has no lab configuration, as PyTorch's files) into a fresh copy of the
    /// current model after checking every tensor. Training starts from the loaded weights at step 0 with a
    /// fresh optimizer; the file's input normalisation is applied.
    pub(super) fn load_weights(
        &mut self,
        files: &[(String, Vec<u8>)],
        into_current: bool,
        out: &mut Vec<u8>,
    ) -> Result<Response, SessionError> {
        let (name, bytes) = one_file(files)?;
        let fail = |error: WeightsError| SessionError::weights(name, error);
        let state = StateDict::from_bytes(bytes).map_err(fail)?;
        let metadata = state.lab_metadata().map_err(fail)?;
        let mut config = self.train_config()?;
        config.input = metadata.input;
        let rebuild = match &metadata.model {
            Some(model) if !into_current => {
                config = config_for_model(&self.config, model, &config)?;
                config.input = metadata.input;
                true
            }
            _ => false,
        };
        let mut trainer = Trainer::new(config.clone(), &self.dataset).map_err(|e| {
            SessionError::request(
                "the file's model",
                "one that trains on the loaded data",
                format!("{name}: {e}"),
            )
        })?;
        let network = trainer.network_mut();
        let head = if rebuild {
            None
        } else {
            network
                .head_layer()
                .and_then(|i| network.module_names().get(i).cloned())
        };
        let report = weights::load_into(network, &state, head.as_deref()).map_err(fail)?;
        let what = if rebuild {
            "the model its metadata describes"
        } else {
            "the current model"
        };
        let message = format!(
            "Loaded {name} into {what}: {} ({}); input normalisation: {}. Training starts from these weights at \
             step 0 (Reset goes back to fresh weights).{}",
            counted(report.tensors, "tensor"),
            counted(report.values, "value"),
            metadata.input.key(),
            head_note(&report),
        );
        self.adopt(trainer);
        Ok(Response::Loaded {
            message,
            state: Box::new(self.state(out)),
        })
    }

    /// Makes `trainer` the session's run; the form shows its configuration where the form can hold it,
    /// otherwise the run's configuration is kept beside the form until the next `configure`.
    pub(super) fn adopt(&mut self, trainer: Trainer) {
        let config = trainer.config().clone();
        match page_config_of(&config) {
            Some(page) => {
                self.config = page;
                self.from_file = None;
            }
            None => self.from_file = Some(config),
        }
        self.trainer = Some(trainer);
    }

    /// The run the session trains: the form's, or the configuration a loaded file brought.
    pub(super) fn train_config(&self) -> Result<TrainConfig, SessionError> {
        match &self.from_file {
            Some(config) => Ok(config.clone()),
            None => Ok(self.config.to_train_config()?),
        }
    }
}

/// The one file sent beside a load request.
fn one_file(files: &[(String, Vec<u8>)]) -> Result<(&str, &[u8]), SessionError> {
    match files {
        [(name, bytes)] => Ok((name.as_str(), bytes.as_slice())),
        other => Err(SessionError::request(
            "weights file",
            "one .safetensors file",
            format!("{} files", other.len()),
        )),
    }
}

/// The run for a file's `model`: the form's model of that kind with its defaults (as choosing it in the form
/// would), or, for a model the form cannot describe, `current` with the file's model.
fn config_for_model(
    page: &PageConfig,
    model: &ModelConfig,
    current: &TrainConfig,
) -> Result<TrainConfig, SessionError> {
    if let Some(page) = page_config_for_model(page, model) {
        return Ok(page.to_train_config()?);
    }
    Ok(TrainConfig {
        model: model.clone(),
        ..current.clone()
    })
}

/// The form with `model`, if the form can describe it (the kind's defaults when the kind changes).
fn page_config_for_model(page: &PageConfig, model: &ModelConfig) -> Option<PageConfig> {
    [
        ModelKind::Mlp,
        ModelKind::SmallCnn,
        ModelKind::Convnet,
        ModelKind::Resnet18,
        ModelKind::Resnet34,
    ]
    .into_iter()
    .map(|kind| {
        let mut candidate = if kind == page.model {
            page.clone()
        } else {
            PageConfig {
                seed: page.seed,
                ..PageConfig::for_model(kind)
            }
        };
        candidate.changes.clear();
        if let ModelConfig::Mlp(mlp) = model {
            candidate.hidden.clone_from(&mlp.hidden);
            candidate.activation = mlp.activation;
            candidate.normalization = mlp.normalization;
            candidate.init = mlp.init;
        }
        candidate
    })
    .find(|candidate| candidate.to_train_config().is_ok_and(|c| &c.model == model))
}

/// The form that describes `config` exactly, if there is one.
fn page_config_of(config: &TrainConfig) -> Option<PageConfig> {
    let model = page_config_for_model(&PageConfig::default(), &config.model)?;
    let settings = Hyperparameters::of(&config.optimizer);
    let page = PageConfig {
        optimizer: config.optimizer.kind(),
        learning_rate: settings.learning_rate,
        momentum: settings.momentum,
        weight_decay: settings.weight_decay,
        batch_size: config.batch_size,
        steps: config.steps,
        eval_every: config.eval_every,
        seed: config.seed,
        augment: !config.augmentation.is_none(),
        changes: config.changes.clone(),
        input: config.input,
        ..model
    };
    (page.to_train_config().as_ref() == Ok(config)).then_some(page)
}

fn counted(count: usize, what: &str) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {what}{plural}")
}

fn head_note(report: &LoadReport) -> String {
    report
        .new_head
        .as_ref()
        .map(|note| {
            let mut note = note.clone();
            if let Some(first) = note.get(..1) {
                note.replace_range(..1, &first.to_uppercase());
            }
            format!(" {note}.")
        })
        .unwrap_or_default()
}
