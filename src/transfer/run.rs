//! The transfer experiment in progress, one training step at a time: the CLI drives it to the end in a loop,
//! the page's worker a few steps per message. Time comes from the caller's millisecond clock (`now`), so the
//! same code runs natively and in a browser worker.
use super::{class_names, train_config, DownstreamRun, RunResult, Start, TransferConfig, TransferResult};
use crate::data::{Dataset, Preprocessor};
use crate::error::{ConfigError, TrainError};
use crate::model::FineTune;
use crate::train::{CurvePoint, Trainer};
use crate::weights::{self, StateDict, WeightsMetadata};

/// One of the experiment's runs, planned: the pretraining, then three downstream runs per labelled count.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlannedRun {
    /// `pretrain`, or e.g. `100 images, full fine-tuning`.
    pub label: String,
    /// How a downstream run starts; `None` for the pretraining.
    pub start: Option<Start>,
    /// Labelled training images of a downstream run (all target classes together); the pretraining's images.
    pub images: usize,
    pub steps: usize,
}

/// What one call to [`TransferRun::step`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Advance {
    /// The index (in [`TransferRun::plan`]) of the run that stepped.
    pub run: usize,
    /// The curve point recorded after the step (whole test set), when one was due.
    pub point: Option<CurvePoint>,
}

/// The run training now, with its timing.
struct Current {
    index: usize,
    trainer: Trainer,
    /// The clock when the run's first step was asked for (after its model was built).
    started_ms: f64,
    /// Time inside training steps, evaluations left out.
    stepping_ms: f64,
}

/// The experiment, stepped by the caller (see [`super::run_transfer`] for the loop).
pub struct TransferRun {
    config: TransferConfig,
    source: Dataset,
    /// The target task's data per labelled count (the same test images in each).
    targets: Vec<Dataset>,
    plan: Vec<PlannedRun>,
    parameters: usize,
    current: Option<Current>,
    /// The next run to build once `current` is done.
    next: usize,
    /// The pretrained weights and the input normalisation they expect, once pretraining is done.
    pretrained: Option<(StateDict, Preprocessor)>,
    pretrain: Option<RunResult>,
    downstream: Vec<DownstreamRun>,
}

impl TransferRun {
    /// Splits `dataset` into the source task and the target tasks and builds the pretraining's model. Every
    /// run's configuration is checked here, so a mismatch (a batch larger than the labelled images, a class
    /// without test images) is said before any training.
    pub fn new(config: TransferConfig, dataset: &Dataset) -> Result<Self, TrainError> {
        let source = Dataset {
            train: dataset.train.classes(&config.source_classes, None),
            test: dataset.test.classes(&config.source_classes, None),
            name: format!("{} source classes", dataset.name),
            class_names: class_names(dataset, &config.source_classes),
        };
        let target_test = dataset.test.classes(&config.target_classes, None);
        let targets: Vec<Dataset> = config
            .labelled_per_class
            .iter()
            .map(|&per_class| Dataset {
                train: dataset.train.classes(&config.target_classes, Some(per_class)),
                test: target_test.clone(),
                name: format!("{} target classes", dataset.name),
                class_names: class_names(dataset, &config.target_classes),
            })
            .collect();
        if targets.is_empty() {
            return Err(ConfigError::new("labelled images per class", "at least one count", "none").into());
        }
        let classes = config.target_classes.len();
        let downstream = train_config(&config, &config.downstream, classes, FineTune::Full);
        downstream.validate()?;
        for target in &targets {
            if target.train.len() < config.downstream.batch_size {
                return Err(ConfigError::new(
                    "downstream batch size",
                    format!("at most the {} labelled target images", target.train.len()),
                    config.downstream.batch_size,
                )
                .into());
            }
        }
        if target_test.is_empty() {
            return Err(ConfigError::new("target test set", "at least one test image of its classes", 0).into());
        }
        let pretrain = train_config(&config, &config.pretrain, config.source_classes.len(), FineTune::Full);
        let mut trainer = Trainer::new(pretrain, &source)?;
        let parameters = trainer.network_mut().parameter_count();
        let mut plan = vec![PlannedRun {
            label: "pretrain".into(),
            start: None,
            images: source.train.len(),
            steps: config.pretrain.steps,
        }];
        for target in &targets {
            for start in Start::ALL {
                plan.push(PlannedRun {
                    label: format!("{} images, {}", target.train.len(), start.label()),
                    start: Some(start),
                    images: target.train.len(),
                    steps: config.downstream.steps,
                });
            }
        }
        Ok(Self {
            current: Some(Current {
                index: 0,
                trainer,
                started_ms: f64::NAN,
                stepping_ms: 0.0,
            }),
            next: 1,
            config,
            source,
            targets,
            plan,
            parameters,
            pretrained: None,
            pretrain: None,
            downstream: Vec::new(),
        })
    }

    pub fn config(&self) -> &TransferConfig {
        &self.config
    }

    /// Every run, in the order they train.
    pub fn plan(&self) -> &[PlannedRun] {
        &self.plan
    }

    /// Parameters of the pretraining's network.
    pub fn parameters(&self) -> usize {
        self.parameters
    }

    pub fn source_train_images(&self) -> usize {
        self.source.train.len()
    }

    pub fn target_test_images(&self) -> usize {
        self.targets.first().map_or(0, |target| target.test.len())
    }

    /// The run training now (an index into [`TransferRun::plan`]); `None` once every run is done.
    pub fn current_run(&self) -> Option<usize> {
        match &self.current {
            Some(current) => Some(current.index),
            None => (self.next < self.plan.len()).then_some(self.next),
        }
    }

    /// Steps taken over all runs, and the steps of all runs together.
    pub fn steps(&self) -> (usize, usize) {
        let total = self.plan.iter().map(|run| run.steps).sum();
        let finished: usize = self.plan[..self.finished_runs()].iter().map(|run| run.steps).sum();
        let current = self.current.as_ref().map_or(0, |c| c.trainer.steps_done());
        (finished + current, total)
    }

    /// How many runs are done (their results are in [`TransferRun::results`]).
    pub fn finished_runs(&self) -> usize {
        usize::from(self.pretrain.is_some()) + self.downstream.len()
    }

    pub fn is_finished(&self) -> bool {
        self.finished_runs() == self.plan.len()
    }

    /// The results so far: the pretraining's once done, and the downstream runs done.
    pub fn results(&self) -> (Option<&RunResult>, &[DownstreamRun]) {
        (self.pretrain.as_ref(), &self.downstream)
    }

    /// Takes one training step of the current run (building the next run's model first when the last one
    /// finished), evaluates when due, and closes the run after its last step. `now` is a millisecond clock.
    pub fn step(&mut self, now: &dyn Fn() -> f64) -> Result<Advance, TrainError> {
        if self.current.is_none() {
            self.start_next()?;
        }
        let Self {
            current: Some(current),
            source,
            targets,
            ..
        } = self
        else {
            return Err(ConfigError::new("transfer experiment", "a run left to train", "every run done").into());
        };
        let dataset = if current.index == 0 {
            &*source
        } else {
            &targets[(current.index - 1) / Start::ALL.len()]
        };
        if current.started_ms.is_nan() {
            current.started_ms = now();
        }
        let before = now();
        current.trainer.step(dataset)?;
        current.stepping_ms += now() - before;
        let point = current
            .trainer
            .evaluation_due()
            .then(|| current.trainer.record_point(dataset));
        let advance = Advance {
            run: current.index,
            point,
        };
        if current.trainer.is_finished() {
            self.close_current(now)?;
        }
        Ok(advance)
    }

    /// Builds the next downstream run: fresh weights, or the pretrained backbone with a new head on inputs
    /// normalised as in pretraining.
    fn start_next(&mut self) -> Result<(), TrainError> {
        let index = self.next;
        let Some(start) = self.plan.get(index).and_then(|run| run.start) else {
            return Err(ConfigError::new("transfer experiment", "a run left to train", "every run done").into());
        };
        let target = &self.targets[(index - 1) / Start::ALL.len()];
        let fine_tune = match start {
            Start::FrozenFeatures => FineTune::FeatureExtraction,
            Start::Scratch | Start::FineTune => FineTune::Full,
        };
        let classes = self.config.target_classes.len();
        let config = train_config(&self.config, &self.config.downstream, classes, fine_tune);
        let mut trainer = Trainer::new(config, target)?;
        if let (Start::FrozenFeatures | Start::FineTune, Some((pretrained, preprocessor))) = (start, &self.pretrained) {
            weights::load_into(trainer.network_mut(), pretrained, Some("fc"))?;
            trainer.set_preprocessor(preprocessor.clone());
        }
        self.current = Some(Current {
            index,
            trainer,
            started_ms: f64::NAN,
            stepping_ms: 0.0,
        });
        self.next = index + 1;
        Ok(())
    }

    /// Records the finished current run; the pretraining's weights become the downstream runs' start.
    fn close_current(&mut self, now: &dyn Fn() -> f64) -> Result<(), TrainError> {
        let Some(mut current) = self.current.take() else {
            return Ok(());
        };
        let trainer = &mut current.trainer;
        let curves = trainer.curves().to_vec();
        let result = RunResult {
            config: trainer.config().clone(),
            final_test_accuracy: curves.last().map_or(0.0, |p| p.test_accuracy),
            curves,
            wall_seconds: (now() - current.started_ms) / 1000.0,
            step_milliseconds: current.stepping_ms / trainer.steps_done().max(1) as f64,
        };
        match self.plan[current.index].start {
            None => {
                let bytes = weights::save(trainer.network_mut(), &WeightsMetadata::default())?;
                self.pretrained = Some((StateDict::from_bytes(&bytes)?, trainer.preprocessor().clone()));
                self.pretrain = Some(result);
            }
            Some(start) => self.downstream.push(DownstreamRun {
                labelled_images: self.plan[current.index].images,
                start,
                result,
            }),
        }
        Ok(())
    }

    /// The whole experiment's results, once every run is done.
    pub fn into_result(self) -> Result<TransferResult, TrainError> {
        let done = self.finished_runs();
        let (Some(pretrain), true) = (self.pretrain, done == self.plan.len()) else {
            return Err(ConfigError::new(
                "transfer experiment",
                "every run done",
                format!("{done} of {} runs done", self.plan.len()),
            )
            .into());
        };
        Ok(TransferResult {
            pretrain,
            source_train_images: self.source.train.len(),
            target_test_images: self.targets.first().map_or(0, |target| target.test.len()),
            parameters: self.parameters,
            downstream: self.downstream,
        })
    }
}
