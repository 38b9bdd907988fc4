//! The lab session: everything the page can ask for, as plain Rust over the core.
//!
//! The page's Web Worker owns one [`Session`] and forwards each message to [`Session::dispatch`]; the reply is
//! JSON (a [`Response`]) plus, for views that show images, raw RGBA pixels. Nothing here knows about the
//! browser, so the native tests drive exactly what the page drives: loading files, configuring from a shared
//! URL, stepping, checking gradients of the current model, inspecting a layer, the confusion matrix, and
//! classifying an uploaded picture.
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::{
    self, Augmentation, Dataset, DatasetBuilder, Part, Preprocessor, Split, SyntheticConfig, CLASS_NAMES, IMAGE_SIZE,
    NUM_CLASSES, PIXELS, SYNTHETIC_CLASS_NAMES,
};
use crate::error::ConfigError;
use crate::formulas::{self, LayerFormulas};
use crate::gradcheck::{self, CheckResult, Criterion};
use crate::layers::Mode;
pub use crate::model::ModelKind;
use crate::model::{Activation, CnnConfig, MlpConfig, ModelConfig, Network, Normalization};
pub use crate::optim::OptimizerKind;
use crate::train::{CurvePoint, PartialStep, TrainConfig, Trainer};

/// The page's form: every setting a user can change, flat, and encoded in the URL's query string.
///
/// MLP settings (`hidden`, `activation`, `normalization`) only apply to the MLP; the CNNs keep their fixed
/// architectures (and the small CNN its one-cycle learning-rate schedule).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PageConfig {
    pub model: ModelKind,
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub normalization: Normalization,
    pub optimizer: OptimizerKind,
    pub learning_rate: f64,
    pub batch_size: usize,
    pub steps: usize,
    pub eval_every: usize,
    pub seed: u64,
    pub augment: bool,
}

impl Default for PageConfig {
    fn default() -> Self {
        Self::for_model(ModelKind::Mlp)
    }
}

/// Largest step count the form accepts (a guard against typos, ~10 × the longest course run).
pub const MAX_STEPS: usize = 100_000;
/// Largest batch the form accepts.
pub const MAX_BATCH: usize = 4096;

impl PageConfig {
    /// The course's defaults for `model` (the small CNN: its recipe).
    pub fn for_model(model: ModelKind) -> Self {
        let base = TrainConfig::for_model(model);
        let mlp = MlpConfig::default();
        Self {
            model,
            hidden: mlp.hidden,
            activation: mlp.activation,
            normalization: mlp.normalization,
            optimizer: base.optimizer.kind(),
            learning_rate: base.optimizer.learning_rate(),
            batch_size: base.batch_size,
            steps: base.steps,
            eval_every: base.eval_every,
            seed: base.seed,
            augment: !base.augmentation.is_none(),
        }
    }

    /// The training run this form describes (validated).
    pub fn to_train_config(&self) -> Result<TrainConfig, ConfigError> {
        let mut config = TrainConfig::for_model(self.model);
        if let ModelConfig::Mlp(mlp) = &mut config.model {
            mlp.hidden.clone_from(&self.hidden);
            mlp.activation = self.activation;
            mlp.normalization = self.normalization;
        }
        config.optimizer = self.optimizer.with_learning_rate(self.learning_rate);
        if self.batch_size > MAX_BATCH {
            return Err(ConfigError::new(
                "batch size",
                format!("at most {MAX_BATCH}"),
                self.batch_size,
            ));
        }
        if self.steps > MAX_STEPS {
            return Err(ConfigError::new("steps", format!("at most {MAX_STEPS}"), self.steps));
        }
        config.batch_size = self.batch_size;
        config.steps = self.steps;
        config.eval_every = self.eval_every;
        config.seed = self.seed;
        config.augmentation = if self.augment {
            Augmentation::standard()
        } else {
            Augmentation::default()
        };
        config.validate()?;
        Ok(config)
    }

    /// The query string that reproduces this form, e.g. `model=mlp&hidden=100&act=elu&norm=none&opt=sgd&…`.
    pub fn to_query(&self) -> String {
        let hidden: Vec<String> = self.hidden.iter().map(usize::to_string).collect();
        format!(
            "model={}&hidden={}&act={}&norm={}&opt={}&lr={}&batch={}&steps={}&eval={}&seed={}&augment={}",
            kebab(&self.model),
            hidden.join(","),
            kebab(&self.activation),
            kebab(&self.normalization),
            kebab(&self.optimizer),
            self.learning_rate,
            self.batch_size,
            self.steps,
            self.eval_every,
            self.seed,
            u8::from(self.augment)
        )
    }

    /// Reads a query string (with or without the leading `?`). Settings it leaves out take the defaults of
    /// its model; unknown keys are ignored (so links from later versions still open); a bad value is an error
    /// naming the setting, what was expected and what was found.
    pub fn from_query(query: &str) -> Result<Self, ConfigError> {
        let pairs: Vec<(String, String)> = query
            .trim_start_matches('?')
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        let get = |key: &str| pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let model = match get("model") {
            None => ModelKind::Mlp,
            Some(value) => parse_kebab("model", value, "mlp, small-cnn or convnet")?,
        };
        let mut config = Self::for_model(model);
        if let Some(value) = get("hidden") {
            config.hidden = if value.trim().is_empty() {
                Vec::new()
            } else {
                value
                    .split(',')
                    .map(|unit| parse_number("hidden", unit.trim(), "comma-separated layer widths, e.g. 100,100"))
                    .collect::<Result<_, _>>()?
            };
        }
        if let Some(value) = get("act") {
            config.activation = parse_kebab("act", value, "elu, relu or tanh")?;
        }
        if let Some(value) = get("norm") {
            config.normalization = parse_kebab("norm", value, "none, batch-norm or layer-norm")?;
        }
        if let Some(value) = get("opt") {
            config.optimizer = parse_kebab("opt", value, "sgd or adam")?;
        }
        if let Some(value) = get("lr") {
            config.learning_rate = parse_number("lr", value, "a learning rate such as 0.001")?;
        }
        if let Some(value) = get("batch") {
            config.batch_size = parse_number("batch", value, "a batch size such as 200")?;
        }
        if let Some(value) = get("steps") {
            config.steps = parse_number("steps", value, "a number of steps such as 1400")?;
        }
        if let Some(value) = get("eval") {
            config.eval_every = parse_number("eval", value, "an evaluation interval such as 100")?;
        }
        if let Some(value) = get("seed") {
            config.seed = parse_number("seed", value, "a non-negative integer seed")?;
        }
        if let Some(value) = get("augment") {
            config.augment = match value {
                "1" | "true" => true,
                "0" | "false" => false,
                other => return Err(ConfigError::new("augment", "0 or 1", format!("`{other}`"))),
            };
        }
        config.to_train_config()?;
        Ok(config)
    }
}

fn kebab<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_kebab<T: serde::de::DeserializeOwned>(field: &str, value: &str, expected: &str) -> Result<T, ConfigError> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| ConfigError::new(field, expected, format!("`{value}`")))
}

fn parse_number<T: std::str::FromStr>(field: &str, value: &str, expected: &str) -> Result<T, ConfigError> {
    value
        .parse()
        .map_err(|_| ConfigError::new(field, expected, format!("`{value}`")))
}

/// `%XX` escapes and `+` as space, as browsers write query strings.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (byte, None) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A named configuration: a row of the report's Table 1, the ConvNet's defaults, or the small CNN's recipe.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Preset {
    pub id: String,
    pub label: String,
    pub query: String,
    /// The report's test accuracy for this row, in % (on the real CIFAR-10 test set).
    pub report_accuracy: Option<f64>,
    /// Whether it is one of the report's Table 1 rows (the experiments queue runs those).
    pub table1: bool,
}

/// The report's Table 1 rows (optimizer, activation, BatchNorm, hidden units, steps, test accuracy %), then the
/// ConvNet's defaults and the small CNN's recipe.
pub fn presets() -> Vec<Preset> {
    /// Optimizer, activation, BatchNorm, hidden units, steps, the report's test accuracy in %.
    type Row = (OptimizerKind, Activation, bool, &'static [usize], usize, f64);
    let rows: [Row; 8] = [
        (OptimizerKind::Sgd, Activation::Elu, false, &[100], 1400, 46.11),
        (OptimizerKind::Adam, Activation::Elu, false, &[100], 1400, 45.89),
        (OptimizerKind::Adam, Activation::Relu, false, &[100], 1400, 45.52),
        (OptimizerKind::Adam, Activation::Elu, true, &[100], 1400, 51.57),
        (OptimizerKind::Adam, Activation::Elu, true, &[100], 2000, 52.25),
        (OptimizerKind::Adam, Activation::Elu, true, &[25; 5], 2000, 47.85),
        (OptimizerKind::Adam, Activation::Elu, true, &[150], 2000, 52.49),
        (OptimizerKind::Adam, Activation::Elu, true, &[150; 5], 2500, 54.16),
    ];
    let mut presets: Vec<Preset> = rows
        .iter()
        .enumerate()
        .map(|(i, &(optimizer, activation, batch_norm, hidden, steps, accuracy))| {
            let config = PageConfig {
                hidden: hidden.to_vec(),
                activation,
                normalization: if batch_norm {
                    Normalization::BatchNorm
                } else {
                    Normalization::None
                },
                optimizer,
                steps,
                ..PageConfig::default()
            };
            let hidden: Vec<String> = hidden.iter().map(usize::to_string).collect();
            Preset {
                id: format!("table1-{}", i + 1),
                label: format!(
                    "Table 1 row {}: {}, {}{}, hidden {}, {} steps",
                    i + 1,
                    if optimizer == OptimizerKind::Sgd { "SGD" } else { "Adam" },
                    kebab(&activation).to_uppercase(),
                    if batch_norm { " + BatchNorm" } else { "" },
                    hidden.join("-"),
                    steps
                ),
                query: config.to_query(),
                report_accuracy: Some(accuracy),
                table1: true,
            }
        })
        .collect();
    presets.push(Preset {
        id: "convnet".into(),
        label: "ConvNet, course defaults (Adam 1e-4, batch 32, 5000 steps)".into(),
        query: PageConfig::for_model(ModelKind::Convnet).to_query(),
        report_accuracy: Some(81.9),
        table1: false,
    });
    presets.push(Preset {
        id: "small-cnn".into(),
        label: "Small CNN recipe (Adam one-cycle 2e-3, batch 64, 4500 steps, augmentation)".into(),
        query: PageConfig::for_model(ModelKind::SmallCnn).to_query(),
        report_accuracy: None,
        table1: false,
    });
    presets
}

/// A request from the page. Files and pixels travel beside it (see [`Session::dispatch`]).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Request {
    /// Everything the page shows after it loads: data, configuration, model, curves.
    State,
    /// Read the files sent beside the request (batches or archives) and switch to them once they hold both
    /// training and test images.
    AddFiles,
    /// Go back to the built-in generated data set.
    UseSynthetic,
    /// Apply a configuration (a query string); resets training.
    Configure { query: String },
    /// Train up to `steps` steps, stopping early after `budget_ms` milliseconds (evaluating when due).
    Step { steps: usize, budget_ms: f64 },
    /// Data-parallel training, first half: this worker's share (rows `part` of `parts`) of the next step; the
    /// share's bytes come back as the reply's pixels (see [`crate::train::PartialStep`]).
    PartialStep { part: usize, parts: usize },
    /// Data-parallel training, second half: the shares of every worker, in part order, sent beside the request
    /// as attachments; the step is taken and, if `evaluate`, the test set evaluated when due (one worker
    /// evaluates for all). With `next`, the worker then computes its share of the following step at once (as
    /// [`Request::PartialStep`], the bytes as the reply's pixels, `next_share` set in the progress): the page
    /// saves a round trip per step and the workers do not wait for it between the two halves.
    ApplyStep {
        evaluate: bool,
        #[serde(default)]
        next: Option<NextShare>,
    },
    /// Start over: a fresh model from the seed.
    Reset,
    /// Loss and accuracy on the whole test set now.
    Evaluate,
    /// Finite-difference check of every parameter of the current model on the current batch.
    CheckGradients,
    /// The standard suite: every layer kind on random shapes with the assignment's tolerances.
    Suite { seed: u64 },
    /// Formulas, shapes and statistics of layer `index` on the current batch.
    Layer { index: usize },
    /// The first layer's weights as images.
    Filters,
    /// Confusion matrix, per-class accuracy and a gallery of `gallery` test images (misclassified first).
    Results { gallery: usize },
    /// Classify the RGBA picture sent beside the request.
    Classify { width: usize, height: usize },
    /// The curves as CSV.
    CurvesCsv,
}

/// A reply to the page: JSON of a [`Response`] and, for image views, RGBA pixels (32×32 tiles unless the
/// response says otherwise).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reply {
    pub json: String,
    pub pixels: Vec<u8>,
}

/// What the page gets back.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Response {
    State(State),
    /// Files were read but do not make a data set yet (e.g. training batches without the test batch).
    Pending {
        message: String,
        state: Box<State>,
    },
    Progress(Progress),
    /// A worker's share of a data-parallel step (its bytes are the reply's pixels).
    Partial {
        step: usize,
        rows: usize,
    },
    Evaluation {
        loss: f64,
        accuracy: f64,
        images: usize,
    },
    Gradients {
        rows: Vec<CheckResult>,
        samples: usize,
        entries: usize,
    },
    Layer(LayerDetails),
    Filters {
        /// Tile width and height in pixels (the pixels are `count` tiles of `width × height × 4`).
        width: usize,
        height: usize,
        count: usize,
        layer: String,
    },
    Results(Results),
    Classified {
        probabilities: Vec<f64>,
        predicted: usize,
        class_names: Vec<String>,
    },
    Csv {
        csv: String,
    },
    /// The request could not be carried out; nothing changed.
    Error {
        message: String,
    },
}

/// The data set as the page summarises it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DataSummary {
    pub name: String,
    pub train: usize,
    pub test: usize,
    pub class_names: Vec<String>,
    pub train_per_class: Vec<usize>,
    pub test_per_class: Vec<usize>,
    /// Labels of the sample tiles sent as pixels with a `state` response, in order.
    pub sample_labels: Vec<u8>,
}

/// One layer in the model diagram.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerRow {
    pub index: usize,
    pub name: String,
    /// e.g. `64×32×32` or `100`.
    pub output: String,
    pub parameters: usize,
}

/// The state the page renders on load and after every change of data or configuration.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct State {
    pub data: DataSummary,
    pub config: PageConfig,
    pub query: String,
    pub presets: Vec<Preset>,
    pub layers: Vec<LayerRow>,
    pub loss: String,
    pub parameters: usize,
    /// Training FLOPs per image (multiply-adds × 2, forward + backward).
    pub flops_per_image: u64,
    pub steps_done: usize,
    pub total_steps: usize,
    pub curves: Vec<CurvePoint>,
    /// Why the model cannot be built on this data, if it cannot (e.g. batch larger than the training set).
    pub problem: Option<String>,
}

/// One training step's batch loss and accuracy.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct BatchPoint {
    pub step: usize,
    pub loss: f64,
    pub accuracy: f64,
}

/// Which share of the next data-parallel step an `apply-step` request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct NextShare {
    pub part: usize,
    pub parts: usize,
}

/// What a `step` request did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Progress {
    pub steps_done: usize,
    pub total_steps: usize,
    pub finished: bool,
    pub batches: Vec<BatchPoint>,
    /// Curve points recorded (whole test set) during these steps.
    pub points: Vec<CurvePoint>,
    /// Why training stopped (a non-finite loss, a configuration that does not fit the data).
    pub stopped: Option<String>,
    /// Training images processed and the milliseconds it took (evaluations excluded).
    pub images: usize,
    pub train_ms: f64,
    /// Milliseconds spent evaluating on the test set (not part of `train_ms`).
    pub eval_ms: f64,
    /// After an `apply-step` with `next`: the step whose share this worker computed (its bytes are the
    /// reply's pixels); absent when no share was computed (finished, stopped, or not asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_share: Option<usize>,
}

impl Progress {
    /// Evaluates on the test set and records the curve point, counting the time in `eval_ms`.
    fn record_point(&mut self, trainer: &mut Trainer, dataset: &Dataset, now: &dyn Fn() -> f64) {
        let before = now();
        self.points.push(trainer.record_point(dataset));
        self.eval_ms += now() - before;
    }
}

/// Summary statistics and a histogram of one tensor.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TensorStats {
    pub label: String,
    pub shape: Vec<usize>,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// Fraction of exact zeros.
    pub zeros: f64,
    /// `counts[i]` values fell in `[lo + i·w, lo + (i+1)·w)` with `w = (hi − lo) / counts.len()`.
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u32>,
}

impl TensorStats {
    /// Statistics of `values` with a `bins`-bin histogram over their range.
    pub fn of(
        label: impl Into<String>,
        shape: &[usize],
        values: impl Iterator<Item = f64> + Clone,
        bins: usize,
    ) -> Self {
        let (mut n, mut sum, mut sum_sq, mut min, mut max, mut zeros) =
            (0usize, 0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY, 0);
        for v in values.clone() {
            n += 1;
            sum += v;
            sum_sq += v * v;
            min = min.min(v);
            max = max.max(v);
            zeros += usize::from(v == 0.0);
        }
        let count = n.max(1) as f64;
        let mean = sum / count;
        let std = (sum_sq / count - mean * mean).max(0.0).sqrt();
        if n == 0 {
            (min, max) = (0.0, 0.0);
        }
        let (lo, hi) = if max > min { (min, max) } else { (min - 0.5, min + 0.5) };
        let mut counts = vec![0u32; bins.max(1)];
        let width = (hi - lo) / counts.len() as f64;
        for v in values {
            if v.is_finite() {
                let bin = (((v - lo) / width) as usize).min(counts.len() - 1);
                counts[bin] += 1;
            }
        }
        Self {
            label: label.into(),
            shape: shape.to_vec(),
            mean,
            std,
            min,
            max,
            zeros: zeros as f64 / count,
            lo,
            hi,
            counts,
        }
    }
}

/// What the page shows for one layer.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerDetails {
    pub index: usize,
    pub name: String,
    pub formulas: Option<LayerFormulas>,
    pub loss_formulas: Option<LayerFormulas>,
    pub input: String,
    pub output: String,
    /// Images in the batch the statistics were taken on.
    pub batch: usize,
    pub tensors: Vec<TensorStats>,
}

/// Test-set results of the current model.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Results {
    pub class_names: Vec<String>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    pub per_class_accuracy: Vec<f64>,
    pub accuracy: f64,
    pub images: usize,
    /// The gallery tiles sent as pixels, misclassified first.
    pub gallery: Vec<GalleryItem>,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct GalleryItem {
    pub index: usize,
    pub label: usize,
    pub predicted: usize,
    pub confidence: f64,
}

/// Sample tiles per class in the data summary.
const SAMPLES_PER_CLASS: usize = 8;
/// Histogram bins of the layer view.
const BINS: usize = 40;
/// Filters shown at most.
const MAX_FILTERS: usize = 64;

/// The page's state: the data, the configuration and the training run.
pub struct Session {
    dataset: Dataset,
    /// Files read since the last complete data set, waiting for the missing part.
    pending: Option<(DatasetBuilder, Vec<String>)>,
    config: PageConfig,
    trainer: Option<Trainer>,
    /// Scratch input of the views (predictions, layer statistics).
    inputs: Array2<f32>,
    labels: Vec<usize>,
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
            inputs: Array2::zeros((0, 0)),
            labels: Vec::new(),
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

    /// Carries out one request. `files` are the (name, bytes) sent with `add-files`, `pixels` the RGBA picture
    /// sent with `classify`; `now` is a millisecond clock (the worker's `performance.now()`).
    pub fn dispatch(
        &mut self,
        request: Request,
        files: &[(String, Vec<u8>)],
        pixels: &[u8],
        now: &dyn Fn() -> f64,
    ) -> Reply {
        let mut out = Vec::new();
        let response = match request {
            Request::State => Response::State(self.state(&mut out)),
            Request::AddFiles => self.add_files(files, &mut out),
            Request::UseSynthetic => {
                self.replace_dataset(data::synthetic(&SyntheticConfig::default()));
                self.pending = None;
                Response::State(self.state(&mut out))
            }
            Request::Configure { query } => match PageConfig::from_query(&query) {
                Ok(config) => {
                    self.config = config;
                    self.trainer = None;
                    Response::State(self.state(&mut out))
                }
                Err(error) => Response::Error {
                    message: error.to_string(),
                },
            },
            Request::Step { steps, budget_ms } => Response::Progress(self.step(steps, budget_ms, now)),
            Request::PartialStep { part, parts } => match self.partial_step(part, parts) {
                Ok(share) => {
                    out = share.to_bytes();
                    Response::Partial {
                        step: share.step,
                        rows: share.rows,
                    }
                }
                Err(message) => Response::Error { message },
            },
            Request::ApplyStep { evaluate, next } => {
                let mut progress = self.apply_step(files, evaluate, now);
                if let (Some(next), None, false) = (next, &progress.stopped, progress.finished) {
                    match self.partial_step(next.part, next.parts) {
                        Ok(share) => {
                            out = share.to_bytes();
                            progress.next_share = Some(share.step);
                        }
                        Err(message) => progress.stopped = Some(message),
                    }
                }
                Response::Progress(progress)
            }
            Request::Reset => {
                self.trainer = None;
                Response::State(self.state(&mut out))
            }
            Request::Evaluate => match self.ensure_trainer().map(|_| ()) {
                Ok(()) => {
                    let trainer = self.trainer.as_mut().expect("built above");
                    let evaluation = trainer.evaluate(&self.dataset.test, None);
                    Response::Evaluation {
                        loss: evaluation.loss,
                        accuracy: evaluation.accuracy,
                        images: evaluation.images,
                    }
                }
                Err(message) => Response::Error { message },
            },
            Request::CheckGradients => self.check_gradients(),
            Request::Suite { seed } => Response::Gradients {
                rows: gradcheck::standard_suite(seed),
                samples: 0,
                entries: 0,
            },
            Request::Layer { index } => self.layer(index),
            Request::Filters => self.filters(&mut out),
            Request::Results { gallery } => self.results(gallery, &mut out),
            Request::Classify { width, height } => self.classify(pixels, width, height, &mut out),
            Request::CurvesCsv => Response::Csv {
                csv: crate::train::curves_csv(self.trainer.as_ref().map_or(&[], |t| t.curves())),
            },
        };
        Reply {
            json: serde_json::to_string(&response).unwrap_or_else(|error| {
                format!(r#"{{"type":"error","message":"could not encode the reply: {error}"}}"#)
            }),
            pixels: out,
        }
    }

    /// The class names of the loaded data.
    pub fn class_names(&self) -> Vec<String> {
        let names: &[&str] = if self.dataset.name.starts_with("synthetic") {
            &SYNTHETIC_CLASS_NAMES
        } else {
            &CLASS_NAMES
        };
        names.iter().map(|name| name.to_string()).collect()
    }

    /// The trainer, built from the configuration on first use.
    fn ensure_trainer(&mut self) -> Result<&mut Trainer, String> {
        if self.trainer.is_none() {
            let config = self.config.to_train_config().map_err(|error| error.to_string())?;
            let trainer = Trainer::new(config, &self.dataset).map_err(|error| error.to_string())?;
            self.trainer = Some(trainer);
        }
        Ok(self.trainer.as_mut().expect("just built"))
    }

    /// The page's state; appends the sample tiles to `pixels`.
    pub fn state(&mut self, pixels: &mut Vec<u8>) -> State {
        let problem = self.ensure_trainer().err();
        let train_config = self.config.to_train_config().ok();
        let data = self.data_summary(pixels);
        let (layers, loss, parameters, steps_done, curves) = match self.trainer.as_mut() {
            Some(trainer) => {
                let config = trainer.config().clone();
                let layers = layer_rows(&config, trainer.network_mut());
                let network = trainer.network_mut();
                let loss = network.loss_name().to_string();
                let parameters = network.parameter_count();
                (
                    layers,
                    loss,
                    parameters,
                    trainer.steps_done(),
                    trainer.curves().to_vec(),
                )
            }
            None => (Vec::new(), String::new(), 0, 0, Vec::new()),
        };
        State {
            data,
            query: self.config.to_query(),
            config: self.config.clone(),
            presets: presets(),
            layers,
            loss,
            parameters,
            flops_per_image: train_config
                .as_ref()
                .and_then(|c| c.model.training_flops_per_image().ok())
                .unwrap_or(0),
            steps_done,
            total_steps: train_config.map_or(0, |c| c.steps),
            curves,
            problem,
        }
    }

    fn data_summary(&self, pixels: &mut Vec<u8>) -> DataSummary {
        let mut sample_labels = Vec::new();
        let train = &self.dataset.train;
        for class in 0..NUM_CLASSES as u8 {
            let indices = (0..train.len()).filter(|&i| train.labels[i] == class);
            for index in indices.take(SAMPLES_PER_CLASS) {
                push_rgba(pixels, train.image(index));
                sample_labels.push(class);
            }
        }
        DataSummary {
            name: self.dataset.name.clone(),
            train: self.dataset.train.len(),
            test: self.dataset.test.len(),
            class_names: self.class_names(),
            train_per_class: self.dataset.train.class_counts().to_vec(),
            test_per_class: self.dataset.test.class_counts().to_vec(),
            sample_labels,
        }
    }

    fn replace_dataset(&mut self, dataset: Dataset) {
        self.dataset = dataset;
        self.trainer = None;
    }

    /// Reads dropped files. A file that cannot be read leaves everything as it was (the message says which
    /// file and why); files that hold only one part wait for the other.
    fn add_files(&mut self, files: &[(String, Vec<u8>)], pixels: &mut Vec<u8>) -> Response {
        if files.is_empty() {
            return Response::Error {
                message: "no files were given: expected CIFAR-10 batches or an archive".into(),
            };
        }
        // Each drop is read into its own builder first, so a bad file changes nothing.
        let mut dropped = DatasetBuilder::new();
        for (name, bytes) in files {
            if let Err(error) = dropped.add_file(name, bytes) {
                return Response::Error {
                    message: format!("{error}. The data loaded before is kept."),
                };
            }
        }
        let (mut builder, mut names) = self
            .pending
            .take()
            .unwrap_or_else(|| (DatasetBuilder::new(), Vec::new()));
        for (name, bytes) in files {
            if let Err(error) = builder.add_file(name, bytes) {
                // Only a clash with the files waiting from before (the same batch twice) gets here.
                self.pending = None;
                return Response::Error {
                    message: format!("{error}. The data loaded before is kept; the files waiting are dropped."),
                };
            }
            names.push(name.clone());
        }
        let has = |part: Part| builder.batches().any(|batch| batch.part == part);
        if has(Part::Train) && has(Part::Test) {
            match builder.build() {
                Ok(dataset) => {
                    self.replace_dataset(dataset);
                    Response::State(self.state(pixels))
                }
                Err(error) => Response::Error {
                    message: format!("{error}. The data loaded before is kept."),
                },
            }
        } else {
            let missing = if has(Part::Train) {
                "a test batch (test_batch.bin or test_batch)"
            } else {
                "training batches (data_batch_1 … data_batch_5)"
            };
            let message = format!(
                "Read {}; add {missing} to switch to them. Training goes on with {}.",
                names.join(", "),
                self.dataset.name
            );
            self.pending = Some((builder, names));
            Response::Pending {
                message,
                state: Box::new(self.state(pixels)),
            }
        }
    }

    /// Trains up to `steps` steps or until `budget_ms` is spent, whichever comes first.
    pub fn step(&mut self, steps: usize, budget_ms: f64, now: &dyn Fn() -> f64) -> Progress {
        let mut progress = Progress::default();
        let dataset = &self.dataset;
        let trainer = match self.trainer.as_mut() {
            Some(trainer) => trainer,
            None => {
                let built = self
                    .config
                    .to_train_config()
                    .map_err(|error| error.to_string())
                    .and_then(|config| Trainer::new(config, dataset).map_err(|error| error.to_string()));
                match built {
                    Ok(trainer) => self.trainer.insert(trainer),
                    Err(message) => {
                        progress.stopped = Some(message);
                        return progress;
                    }
                }
            }
        };
        let start = now();
        for _ in 0..steps {
            if trainer.is_finished() {
                break;
            }
            let before = now();
            match trainer.step(dataset) {
                Ok(outcome) => {
                    progress.train_ms += now() - before;
                    progress.images += trainer.config().batch_size;
                    progress.batches.push(BatchPoint {
                        step: outcome.step,
                        loss: outcome.loss,
                        accuracy: outcome.accuracy,
                    });
                }
                Err(error) => {
                    progress.stopped = Some(error.to_string());
                    break;
                }
            }
            if trainer.evaluation_due() {
                progress.record_point(trainer, dataset, now);
            }
            if now() - start >= budget_ms {
                break;
            }
        }
        progress.steps_done = trainer.steps_done();
        progress.total_steps = trainer.config().steps;
        progress.finished = trainer.is_finished();
        progress
    }

    fn partial_step(&mut self, part: usize, parts: usize) -> Result<PartialStep, String> {
        self.ensure_trainer()?;
        let trainer = self.trainer.as_mut().expect("built above");
        trainer
            .partial_step(&self.dataset, part, parts)
            .map_err(|error| error.to_string())
    }

    /// Takes a data-parallel step from the shares in `attachments` (bytes of [`PartialStep`], in part order).
    fn apply_step(&mut self, attachments: &[(String, Vec<u8>)], evaluate: bool, now: &dyn Fn() -> f64) -> Progress {
        let mut progress = Progress::default();
        let shares: Result<Vec<PartialStep>, String> = attachments
            .iter()
            .map(|(_, bytes)| PartialStep::from_bytes(bytes).map_err(|error| error.to_string()))
            .collect();
        let Some(trainer) = self.trainer.as_mut() else {
            progress.stopped = Some("data-parallel step: expected a model that took its share first".into());
            return progress;
        };
        let started = now();
        match shares.and_then(|shares| trainer.apply_partial_steps(&shares).map_err(|error| error.to_string())) {
            Ok(outcome) => {
                progress.images = trainer.config().batch_size;
                progress.train_ms = now() - started;
                progress.batches.push(BatchPoint {
                    step: outcome.step,
                    loss: outcome.loss,
                    accuracy: outcome.accuracy,
                });
                if evaluate && trainer.evaluation_due() {
                    progress.record_point(trainer, &self.dataset, now);
                }
            }
            Err(message) => progress.stopped = Some(message),
        }
        progress.steps_done = trainer.steps_done();
        progress.total_steps = trainer.config().steps;
        progress.finished = trainer.is_finished();
        progress
    }

    /// The current batch for the views: the latest training batch (the first one before any step), at most
    /// `limit` images, preprocessed into `self.inputs` / `self.labels`.
    fn fill_current_batch(&mut self, limit: usize) -> Result<(), String> {
        let dataset = &self.dataset;
        let trainer = self.trainer.as_ref().ok_or("no model")?;
        let mut indices: Vec<usize> = trainer.last_batch().to_vec();
        if indices.is_empty() {
            indices = (0..trainer.config().batch_size.min(dataset.train.len())).collect();
        }
        indices.truncate(limit);
        trainer
            .preprocessor()
            .fill_batch(&dataset.train, &indices, &mut self.inputs, &mut self.labels);
        Ok(())
    }

    /// A copy of the current model (so looking inside never changes training, BatchNorm statistics included).
    fn model_copy<T: crate::Scalar>(&mut self) -> Result<Network<T>, String> {
        let trainer = self.ensure_trainer()?;
        let mut copy = trainer
            .config()
            .model
            .build::<T>(trainer.config().seed)
            .map_err(|error| error.to_string())?;
        copy.copy_state_from(trainer.network_mut());
        Ok(copy)
    }

    /// Checks every parameter of the current model (an f64 copy) on a few images of the current batch: all
    /// entries of small tensors, a random sample of large ones, sized so the check takes seconds.
    fn check_gradients(&mut self) -> Response {
        let result = (|| -> Result<Response, String> {
            let mut network = self.model_copy::<f64>()?;
            let model = self.trainer.as_ref().ok_or("no model")?.config().model.clone();
            let macs = model.forward_multiply_adds().map_err(|error| error.to_string())?;
            let samples = if matches!(model, ModelConfig::Mlp(_)) { 4 } else { 2 };
            let mut tensors = 1;
            network.visit_params(&mut |_, _| tensors += 1);
            // About 4·10⁹ multiply-adds of forward passes in all: seconds in wasm.
            let budget = 4e9 / (2.0 * samples as f64 * macs.max(1) as f64 * tensors as f64);
            let entries = (budget as usize).clamp(2, 32);
            self.fill_current_batch(samples)?;
            let x = self.inputs.mapv(f64::from);
            let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
            let rows = gradcheck::check_network_sampled(
                &mut network,
                &x,
                &self.labels,
                Mode::Train,
                gradcheck::STEP,
                &|_| NETWORK_CRITERION,
                entries,
                &mut rng,
            );
            Ok(Response::Gradients {
                rows,
                samples: x.nrows(),
                entries,
            })
        })();
        result.unwrap_or_else(|message| Response::Error { message })
    }

    /// Formulas, shapes and statistics of one layer on the current batch.
    fn layer(&mut self, index: usize) -> Response {
        let result = (|| -> Result<Response, String> {
            let mut network = self.model_copy::<f32>()?;
            let count = network.layers().len();
            if index >= count {
                return Err(format!("layer: expected an index below {count}, found {index}"));
            }
            let rows = layer_rows(self.trainer.as_ref().ok_or("no model")?.config(), &mut network);
            self.fill_current_batch(usize::MAX)?;
            network.forward(self.inputs.view(), Mode::Train);
            network.loss(&self.labels);
            network.backward(self.inputs.view(), &self.labels, index == 0);
            let batch = self.inputs.nrows();
            let mut tensors = Vec::new();
            let input_view = if index == 0 {
                self.inputs.view()
            } else {
                network.activation(index - 1)
            };
            tensors.push(stats_of_view("input X", input_view));
            tensors.push(stats_of_view("output Y", network.activation(index)));
            if index + 1 < count {
                tensors.push(stats_of_view("∂L/∂Y", network.grad_input(index + 1)));
            }
            tensors.push(stats_of_view("∂L/∂X", network.grad_input(index)));
            network.visit_params(&mut |layer, p| {
                if layer == index {
                    let value = p.value.iter().map(|&v| f64::from(v));
                    tensors.push(TensorStats::of(p.name, &p.shape, value, BINS));
                    let grad = p.grad.iter().map(|&v| f64::from(v));
                    tensors.push(TensorStats::of(format!("∂L/∂{}", p.name), &p.shape, grad, BINS));
                }
            });
            let name = network.layers()[index].name();
            let input = if index == 0 {
                input_shape(self.trainer.as_ref().ok_or("no model")?.config())
            } else {
                rows[index - 1].output.clone()
            };
            Ok(Response::Layer(LayerDetails {
                index,
                formulas: formulas::for_layer(&name),
                loss_formulas: (index + 1 == count)
                    .then(|| formulas::for_loss(loss_formula_name(network.loss_name())))
                    .flatten(),
                name,
                input,
                output: rows[index].output.clone(),
                batch,
                tensors,
            }))
        })();
        result.unwrap_or_else(|message| Response::Error { message })
    }

    /// The first layer's weights as RGBA tiles: each row of a Linear(3072→H) as a 32×32 image, each kernel of a
    /// first convolution as a k×k image; values scaled symmetrically about grey.
    fn filters(&mut self, pixels: &mut Vec<u8>) -> Response {
        let trainer = match self.ensure_trainer() {
            Ok(trainer) => trainer,
            Err(message) => return Response::Error { message },
        };
        let mut found = None;
        let network = trainer.network_mut();
        let layer = network.layers().first().map(|l| l.name()).unwrap_or_default();
        network.visit_params(&mut |index, p| {
            if index == 0 && p.name == "weight" && found.is_none() {
                found = Some((p.shape.clone(), p.value.to_vec()));
            }
        });
        let Some((shape, values)) = found else {
            return Response::Error {
                message: "the first layer has no weights to show".into(),
            };
        };
        let (count, channels, side) = match shape.as_slice() {
            [out, features] if *features == PIXELS => (*out, 3, IMAGE_SIZE),
            [out, 3, k, k2] if k == k2 => (*out, 3, *k),
            other => {
                return Response::Error {
                    message: format!("first-layer weights: expected RGB filters, found shape {other:?}"),
                }
            }
        };
        let count = count.min(MAX_FILTERS);
        let plane = side * side;
        for filter in values.chunks_exact(channels * plane).take(count) {
            let scale = filter.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
            for position in 0..plane {
                for channel in 0..3 {
                    let v = filter[channel * plane + position] / scale;
                    pixels.push((127.5 + 127.5 * v).round().clamp(0.0, 255.0) as u8);
                }
                pixels.push(255);
            }
        }
        Response::Filters {
            width: side,
            height: side,
            count,
            layer,
        }
    }

    /// Runs the current model over the whole test set in evaluation mode, calling `visit(index, probabilities)`.
    fn predict(&mut self, split_is_test: bool, mut visit: impl FnMut(usize, &[f32])) -> Result<(), String> {
        self.ensure_trainer()?;
        let Session {
            trainer,
            dataset,
            inputs,
            labels,
            ..
        } = self;
        let trainer = trainer.as_mut().expect("built above");
        let preprocessor: Preprocessor = trainer.preprocessor().clone();
        let chunk = trainer.config().batch_size.clamp(1, 500);
        let split: &Split = if split_is_test { &dataset.test } else { &dataset.train };
        let network = trainer.network_mut();
        let fused = network.loss_name() == "SoftmaxCrossEntropy";
        let mut indices = Vec::with_capacity(chunk);
        let mut probabilities = Vec::new();
        for start in (0..split.len()).step_by(chunk) {
            indices.clear();
            indices.extend(start..(start + chunk).min(split.len()));
            preprocessor.fill_batch(split, &indices, inputs, labels);
            let output = network.forward(inputs.view(), Mode::Eval);
            for (row, &index) in output.rows().into_iter().zip(&indices) {
                probabilities.clear();
                probabilities.extend(row.iter().copied());
                if fused {
                    softmax_in_place(&mut probabilities);
                }
                visit(index, &probabilities);
            }
        }
        Ok(())
    }

    /// Confusion matrix, per-class accuracy and a gallery of test images (misclassified first, most confident
    /// mistakes first).
    fn results(&mut self, gallery: usize, pixels: &mut Vec<u8>) -> Response {
        let mut confusion = vec![vec![0u32; NUM_CLASSES]; NUM_CLASSES];
        let mut items = Vec::new();
        let labels = self.dataset.test.labels.clone();
        let outcome = self.predict(true, |index, probabilities| {
            let (predicted, confidence) = argmax(probabilities);
            let label = usize::from(labels[index]);
            if label < NUM_CLASSES && predicted < NUM_CLASSES {
                confusion[label][predicted] += 1;
            }
            items.push(GalleryItem {
                index,
                label,
                predicted,
                confidence,
            });
        });
        if let Err(message) = outcome {
            return Response::Error { message };
        }
        let per_class_accuracy = confusion
            .iter()
            .enumerate()
            .map(|(class, row)| {
                let total: u32 = row.iter().sum();
                f64::from(row[class]) / f64::from(total.max(1))
            })
            .collect();
        let correct: u32 = (0..NUM_CLASSES).map(|c| confusion[c][c]).sum();
        let images = items.len();
        // Mistakes first, the most confident ones first; then correct ones, least confident first.
        items.sort_by(|a, b| {
            let wrong = |item: &GalleryItem| item.label != item.predicted;
            wrong(b).cmp(&wrong(a)).then_with(|| {
                if wrong(a) {
                    b.confidence.total_cmp(&a.confidence)
                } else {
                    a.confidence.total_cmp(&b.confidence)
                }
            })
        });
        items.truncate(gallery);
        for item in &items {
            push_rgba(pixels, self.dataset.test.image(item.index));
        }
        Response::Results(Results {
            class_names: self.class_names(),
            confusion,
            per_class_accuracy,
            accuracy: f64::from(correct) / images.max(1) as f64,
            images,
            gallery: items,
        })
    }

    /// Classifies an RGBA picture of any size: area-averaged down (or up) to 32×32, preprocessed like the
    /// training images, through the current model in evaluation mode. Sends back the 32×32 image it saw.
    fn classify(&mut self, rgba: &[u8], width: usize, height: usize, pixels: &mut Vec<u8>) -> Response {
        if width == 0 || height == 0 || rgba.len() != width * height * 4 {
            return Response::Error {
                message: format!(
                    "picture: expected {width}×{height} RGBA pixels ({} bytes), found {} bytes",
                    width * height * 4,
                    rgba.len()
                ),
            };
        }
        let image = resize_to_cifar(rgba, width, height);
        if let Err(message) = self.ensure_trainer() {
            return Response::Error { message };
        }
        let trainer = self.trainer.as_mut().expect("built above");
        let split = Split {
            images: image.clone(),
            labels: vec![0],
        };
        trainer
            .preprocessor()
            .fill_batch(&split, &[0], &mut self.inputs, &mut self.labels);
        let network = trainer.network_mut();
        let fused = network.loss_name() == "SoftmaxCrossEntropy";
        let mut probabilities: Vec<f32> = network.forward(self.inputs.view(), Mode::Eval).row(0).to_vec();
        if fused {
            softmax_in_place(&mut probabilities);
        }
        push_rgba(pixels, &image);
        Response::Classified {
            predicted: argmax(&probabilities).0,
            probabilities: probabilities.iter().map(|&p| f64::from(p)).collect(),
            class_names: self.class_names(),
        }
    }
}

/// The criterion of whole-model checks: PyTorch's `gradcheck` (as the suite's end-to-end checks).
const NETWORK_CRITERION: Criterion = Criterion::AllClose { atol: 1e-5, rtol: 1e-3 };

/// The name [`formulas::for_loss`] knows a loss by.
fn loss_formula_name(loss: &str) -> &'static str {
    if loss == "SoftmaxCrossEntropy" {
        "softmax-cross-entropy"
    } else {
        "cross-entropy"
    }
}

fn stats_of_view(label: &str, view: ArrayView2<'_, f32>) -> TensorStats {
    TensorStats::of(label, view.shape(), view.iter().map(|&v| f64::from(v)), BINS)
}

fn input_shape(config: &TrainConfig) -> String {
    match &config.model {
        ModelConfig::Mlp(mlp) => mlp.input_features.to_string(),
        ModelConfig::Cnn(cnn) => format!("{}×{}×{}", cnn.input.0, cnn.input.1, cnn.input.2),
    }
}

/// The model diagram: each layer with its output shape and parameter count.
fn layer_rows(config: &TrainConfig, network: &mut Network<f32>) -> Vec<LayerRow> {
    let mut parameters = vec![0; network.layers().len()];
    network.visit_params(&mut |layer, p| parameters[layer] += p.value.len());
    let shapes: Option<Vec<String>> = match &config.model {
        ModelConfig::Cnn(cnn) => summary_shapes(cnn).filter(|s| s.len() == parameters.len()),
        ModelConfig::Mlp(_) => None,
    };
    let mut features = network.input_features();
    network
        .layers()
        .iter()
        .enumerate()
        .map(|(index, layer)| {
            features = layer.output_features(features);
            LayerRow {
                index,
                name: layer.name(),
                output: shapes
                    .as_ref()
                    .map_or_else(|| features.to_string(), |s| s[index].clone()),
                parameters: parameters[index],
            }
        })
        .collect()
}

fn summary_shapes(cnn: &CnnConfig) -> Option<Vec<String>> {
    let summary = cnn.summary().ok()?;
    Some(
        summary
            .iter()
            .map(|s| match s.output {
                (c, 1, 1) => c.to_string(),
                (c, h, w) => format!("{c}×{h}×{w}"),
            })
            .collect(),
    )
}

/// Appends a CHW image (3072 bytes) as 32×32 RGBA.
fn push_rgba(pixels: &mut Vec<u8>, image: &[u8]) {
    let plane = IMAGE_SIZE * IMAGE_SIZE;
    for position in 0..plane {
        pixels.extend([
            image[position],
            image[plane + position],
            image[2 * plane + position],
            255,
        ]);
    }
}

fn argmax(values: &[f32]) -> (usize, f64) {
    values
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(best, best_value), (i, &v)| {
            if f64::from(v) > best_value {
                (i, f64::from(v))
            } else {
                (best, best_value)
            }
        })
}

fn softmax_in_place(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in values.iter_mut() {
        *v /= sum;
    }
}

/// Resizes an RGBA picture to a 32×32 CHW image by averaging the source area under each target pixel
/// (nearest source pixel when enlarging); alpha is composited over white.
pub fn resize_to_cifar(rgba: &[u8], width: usize, height: usize) -> Vec<u8> {
    let plane = IMAGE_SIZE * IMAGE_SIZE;
    let mut image = vec![0u8; 3 * plane];
    for ty in 0..IMAGE_SIZE {
        let y0 = ty * height / IMAGE_SIZE;
        let y1 = ((ty + 1) * height / IMAGE_SIZE).max(y0 + 1).min(height);
        for tx in 0..IMAGE_SIZE {
            let x0 = tx * width / IMAGE_SIZE;
            let x1 = ((tx + 1) * width / IMAGE_SIZE).max(x0 + 1).min(width);
            let mut sums = [0f64; 3];
            for y in y0..y1 {
                for x in x0..x1 {
                    let pixel = &rgba[(y * width + x) * 4..][..4];
                    let alpha = f64::from(pixel[3]) / 255.0;
                    for c in 0..3 {
                        sums[c] += f64::from(pixel[c]) * alpha + 255.0 * (1.0 - alpha);
                    }
                }
            }
            let area = ((y1 - y0) * (x1 - x0)) as f64;
            for c in 0..3 {
                image[c * plane + ty * IMAGE_SIZE + tx] = (sums[c] / area).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    image
}
