//! The page↔worker contract: every [`Request`] the page can send and every [`Response`] it gets back. Both
//! sides use these types (the page builds `Request` values and matches on `Response`), so a renamed field
//! fails to compile rather than at run time. Files and pixels travel beside a message as raw bytes.
use serde::{Deserialize, Serialize};

pub use super::activation_curves::ActivationCurve;
pub use super::activations::{ImageActivations, LayerMaps};
pub use super::kernels::{KernelTensor, Kernels};
use super::page_config::PageConfig;
use super::presets::Preset;
use super::recovery::TrapKind;
pub use super::transfer::{RunOutcome, RunPoint, TransferProgress};
use crate::formulas::LayerFormulas;
pub use crate::gpu::{AdapterSummary, Backend};
use crate::gradcheck::CheckResult;
use crate::lessons::Lesson;
use crate::train::{CurvePoint, HyperparameterChange, Hyperparameters, LayerNorms};

/// A request from the page. Files and pixels travel beside it (see [`super::Session::dispatch`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// Change the learning rate, momentum and weight decay from the next step on, without starting over; the
    /// change is recorded in the configuration (its link replays it) and in the CSV.
    SetHyperparameters(Hyperparameters),
    /// The lessons, in the report's order.
    Lessons,
    /// The run so far as a saved run (weights, optimizer state, step, curves, the sampler's position), its bytes
    /// as the reply's pixels: the page's snapshot for recovery, and `Save run`.
    SaveRun,
    /// Continue the saved run attached (a snapshot, or a file from `Save run`) on the data already loaded, with
    /// the configuration it was saved with.
    ResumeRun,
    /// Kill the worker on purpose (see [`super::recovery::trap`]): the end-to-end tests' way to check that the
    /// page recovers. The page never sends it.
    Trap { kind: TrapKind },
    /// Each activation function and its derivative, from the layers' own forward and backward.
    ActivationCurves,
    /// Test image `image` through every layer of the current model (evaluation mode).
    ImageActivations { image: usize },
    /// The kernels of one convolution weight of the current model (the first when `None`).
    Kernels { tensor: Option<usize> },
    /// The current model's weights as a `.safetensors` file (PyTorch's names; the model configuration and the
    /// input normalisation in the metadata): a [`Response::File`].
    SaveWeights,
    /// Load the `.safetensors` file sent beside the request: into the model its metadata describes, or, with
    /// `into_current` (or when the file has no lab configuration), into the current model after checking every
    /// tensor. Training restarts from the loaded weights.
    LoadWeights {
        #[serde(default)]
        into_current: bool,
    },
    /// Which backends can train here: probes WebGPU (an adapter and a device) where the session runs.
    Backends,
    /// Train on `backend` from the next step on; the weights carry over (see [`super::BackendSession`]).
    SetBackend { backend: Backend },
    /// A test hook: destroys the GPU device, as a lost device would be; the next GPU step falls back to the
    /// CPU from the last synced weights.
    LoseDevice,
    /// Start the transfer experiment on the loaded data (see [`super::transfer`]): pretrain on the animal
    /// classes for `pretrain_steps`, then learn the vehicles from `labelled_per_class` images each, three ways,
    /// `steps` steps each. It runs beside the page's model and leaves it untouched.
    StartTransfer {
        labelled_per_class: usize,
        pretrain_steps: usize,
        steps: usize,
    },
    /// Step the transfer experiment for about `budget_ms` milliseconds.
    TransferStep { budget_ms: f64 },
    /// Drop the transfer experiment in progress.
    StopTransfer,
}

/// Which share of the next data-parallel step an `apply-step` request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextShare {
    pub part: usize,
    pub parts: usize,
}

/// A reply to the page: a [`Response`] and, for image views, RGBA pixels (32×32 tiles unless the response
/// says otherwise) or a data-parallel share's bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub response: Response,
    pub pixels: Vec<u8>,
}

/// What the page gets back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Response {
    State(State),
    /// Files were read but do not make a data set yet (e.g. training batches without the test batch).
    Pending {
        message: String,
        state: Box<State>,
    },
    /// The backend in use and what WebGPU offers here.
    Backends(BackendStatus),
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
    /// The hyperparameters changed: the link that replays the run with its changes, and the changes so far.
    Hyperparameters {
        query: String,
        steps_done: usize,
        changes: Vec<HyperparameterChange>,
    },
    Lessons {
        lessons: Vec<Lesson>,
    },
    /// A snapshot of the run at `step` (`bytes` long, sent as the reply's pixels).
    Snapshot {
        step: usize,
        bytes: usize,
    },
    ActivationCurves {
        curves: Vec<ActivationCurve>,
    },
    /// The image's RGB tile, then every layer's grey tiles, are the reply's pixels.
    ImageActivations(ImageActivations),
    /// The kernels' grey tiles are the reply's pixels.
    Kernels(Kernels),
    /// A file to save as `name`: its bytes are the reply's pixels.
    File {
        name: String,
    },
    /// Weights or a saved run were loaded: what was done, and the state of the new model.
    Loaded {
        message: String,
        state: Box<State>,
    },
    /// The transfer experiment's progress.
    Transfer(TransferProgress),
    /// The request could not be carried out; nothing changed.
    Error {
        message: String,
    },
}

impl Response {
    /// The reply to a request that failed.
    pub fn error(error: impl std::fmt::Display) -> Self {
        Response::Error {
            message: error.to_string(),
        }
    }

    /// The `type` it travels with, e.g. `"progress"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Response::State(_) => "state",
            Response::Pending { .. } => "pending",
            Response::Backends(_) => "backends",
            Response::Progress(_) => "progress",
            Response::Partial { .. } => "partial",
            Response::Evaluation { .. } => "evaluation",
            Response::Gradients { .. } => "gradients",
            Response::Layer(_) => "layer",
            Response::Filters { .. } => "filters",
            Response::Results(_) => "results",
            Response::Classified { .. } => "classified",
            Response::Csv { .. } => "csv",
            Response::Hyperparameters { .. } => "hyperparameters",
            Response::Lessons { .. } => "lessons",
            Response::Snapshot { .. } => "snapshot",
            Response::ActivationCurves { .. } => "activation-curves",
            Response::ImageActivations(_) => "image-activations",
            Response::Kernels(_) => "kernels",
            Response::File { .. } => "file",
            Response::Loaded { .. } => "loaded",
            Response::Transfer(_) => "transfer",
            Response::Error { .. } => "error",
        }
    }

    /// What to tell the user about a reply that is not the one expected: an error's message, or which reply
    /// came instead.
    pub fn message(&self) -> String {
        match self {
            Response::Error { message } | Response::Pending { message, .. } => message.clone(),
            other => format!("expected another reply from the worker, found `{}`", other.kind()),
        }
    }
}

/// The data set as the page summarises it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerRow {
    pub index: usize,
    pub name: String,
    /// e.g. `64×32×32` or `100`.
    pub output: String,
    pub parameters: usize,
}

/// The state the page renders on load and after every change of data or configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// The layers with parameters, in the order of [`Progress::norms`]' entries.
    #[serde(default)]
    pub norm_layers: Vec<String>,
}

/// The backend that trains and what WebGPU offers where the session runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BackendStatus {
    pub backend: Backend,
    /// The WebGPU adapter found (its name, API, and whether it is a software adapter).
    pub webgpu: Option<AdapterSummary>,
    /// Why WebGPU cannot be used here, when it cannot.
    pub unavailable: Option<String>,
}

/// One training step's batch loss and accuracy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchPoint {
    pub step: usize,
    pub loss: f64,
    pub accuracy: f64,
}

/// What a `step` or `apply-step` request did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_share: Option<usize>,
    /// Per-layer gradient and weight norms after each of these steps (layers as [`State::norm_layers`]; the
    /// GPU computes none).
    #[serde(default)]
    pub norms: Vec<LayerNorms>,
    /// Where these steps ran.
    #[serde(default)]
    pub backend: Backend,
    /// Something the user must hear about, e.g. that training fell back to the CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// The run went back to this step (a failed GPU's last sync, see `BackendSession`): the steps and curve
    /// points after it are gone, and these steps follow it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewound_to: Option<usize>,
}

/// Summary statistics and a histogram of one tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// What the page shows for one layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerDetails {
    pub index: usize,
    pub name: String,
    /// The formulas of the layer's kind.
    pub formulas: LayerFormulas,
    /// The loss's formulas, on the last layer only.
    pub loss_formulas: Option<LayerFormulas>,
    pub input: String,
    pub output: String,
    /// Images in the batch the statistics were taken on.
    pub batch: usize,
    pub tensors: Vec<TensorStats>,
}

/// Test-set results of the current model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// One test image of the gallery.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GalleryItem {
    pub index: usize,
    pub label: usize,
    pub predicted: usize,
    pub confidence: f64,
}
