//! What `lab` accepts on its command line: the subcommands and their options. The model, optimizer and
//! activation choices are the library's own kinds ([`ModelKind`], [`OptimizerKind`], [`Activation`]).
use std::path::PathBuf;

use backprop_lab::gpu::Backend;
use backprop_lab::model::{Activation, ModelKind, Stem};
use backprop_lab::optim::OptimizerKind;
use clap::{Parser, Subcommand, ValueEnum};

use super::{synth, transfer, weights};

#[derive(Parser)]
#[command(
    name = "lab",
    version,
    about = "backprop-lab: hand-derived backprop on CIFAR-10, from the command line"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train a model and write summary.json, curves.csv and curves.png.
    Train(Box<TrainArgs>),
    /// Check every layer's backward pass against finite differences in f64; exit status 0 only if all pass.
    Gradcheck(GradcheckArgs),
    /// Write the seeded synthetic data set as CIFAR-10 files: binary or Python batches, or the .tar.gz downloads.
    ///
    /// Prints each written file's path and size in bytes.
    Synth(synth::SynthArgs),
    /// List the tensors (name, dtype, shape) and metadata of a .safetensors file.
    Inspect(weights::InspectArgs),
    /// The transfer experiment: pretrain on CIFAR-10's six animal classes, then learn the four vehicle classes
    /// from a few labelled images from scratch, with frozen features + a new head, and with full fine-tuning.
    Transfer(transfer::TransferArgs),
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum ScheduleKind {
    /// The same learning rate throughout (the course).
    Constant,
    /// Linear warm-up over the first 15 % of the steps, then linear decay to 0.
    OneCycle,
    /// Multiply by --decay-factor every --decay-every steps.
    Step,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum FineTuneKind {
    /// Every layer learns (the report's fine-tuning).
    Full,
    /// Frozen backbone (evaluation mode, no backward, no optimizer state); only the head learns.
    FeatureExtraction,
    /// The backbone learns at --backbone-rate × the learning rate.
    LowerBackboneRate,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum InitKind {
    /// PyTorch's default: U(±1/√fan_in) for weights and biases.
    Pytorch,
    /// The NumPy assignment: W ~ N(0, init_std²), b = 0.
    Normal,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// CIFAR-10 as a directory of batches, a downloaded archive (.tar.gz), or batch files (repeat the flag).
    /// Without it, the built-in synthetic data set is used.
    #[arg(long)]
    pub data: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "mlp")]
    pub model: ModelKind,
    /// With --model resnet18|resnet34: torchvision's stem (7×7/2 convolution, 3×3/2 max-pool; the one its
    /// ImageNet weights fit) or the CIFAR stem (3×3/1 convolution, no max-pool: 15× the compute at 32×32).
    #[arg(long, value_enum, default_value = "image-net")]
    pub stem: Stem,
    /// Hidden layer sizes, comma separated (e.g. 100 or 150,150,150,150,150).
    #[arg(long, default_value = "100", value_delimiter = ',')]
    pub hidden: Vec<usize>,
    #[arg(long, value_enum, default_value = "elu")]
    pub activation: Activation,
    /// Linear → BatchNorm → activation in every hidden layer.
    #[arg(long, conflicts_with = "layernorm")]
    pub batchnorm: bool,
    /// Linear → LayerNorm → activation in every hidden layer.
    #[arg(long)]
    pub layernorm: bool,
    #[arg(long, value_enum, default_value = "pytorch")]
    pub init: InitKind,
    /// Standard deviation of `--init normal` (the NumPy assignment: 1e-4).
    #[arg(long, default_value_t = 1e-4)]
    pub init_std: f64,
    /// A separate softmax layer and cross-entropy on probabilities (the report's modules) instead of the fused loss.
    #[arg(long)]
    pub softmax_then_ce: bool,
    /// Default: the model's (see --model).
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Learning rate. Default: the model's.
    #[arg(long)]
    pub lr: Option<f64>,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Default: the model's.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Default: the model's.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Evaluate on the whole test set every this many steps. Default: the model's.
    #[arg(long)]
    pub eval_every: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Random crops (4-pixel padding) and horizontal flips of the training images. Default: the model's
    /// (off for mlp and convnet, as the course).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub augment: Option<bool>,
    /// Learning-rate schedule. Default: the model's (constant for mlp and convnet).
    #[arg(long, value_enum)]
    pub schedule: Option<ScheduleKind>,
    /// With --schedule step: steps between decays.
    #[arg(long, default_value_t = 1500)]
    pub decay_every: usize,
    /// With --schedule step: the factor of each decay.
    #[arg(long, default_value_t = 0.1)]
    pub decay_factor: f64,
    /// Seed and sizes of the synthetic data set (used when --data is not given).
    #[arg(long, default_value_t = 0)]
    pub synthetic_seed: u64,
    #[arg(long, default_value_t = 5000)]
    pub synthetic_train: usize,
    #[arg(long, default_value_t = 1000)]
    pub synthetic_test: usize,
    /// Output directory for summary.json, curves.csv and curves.png.
    #[arg(long, default_value = "runs/latest")]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Train on this many cores: each thread computes the gradients of its slice of every batch and all take
    /// the same step (BatchNorm normalises each slice with its own statistics). 1 is the course's training.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Start from the weights in this .safetensors file (checked against the model; a classification head of
    /// another size, e.g. torchvision's 1000 classes, is replaced by a fresh one).
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// Write the trained model's weights here (.safetensors, PyTorch's state-dict names, the configuration in
    /// the metadata).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Write the whole run here at the end (weights, optimizer state, step, curves, sampler position).
    #[arg(long)]
    pub save_run: Option<PathBuf>,
    /// How the layers before the classification head learn (with --init-from: fine-tuning modes).
    #[arg(long, value_enum, default_value = "full")]
    pub fine_tune: FineTuneKind,
    /// With --fine-tune lower-backbone-rate: the backbone's factor of the learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub backbone_rate: f64,
    /// Stop after this step, leaving the run unfinished (write it with --save-run, continue it with --resume).
    #[arg(long)]
    pub stop_at: Option<usize>,
    /// Continue a run written by --save-run (same data; its configuration replaces the model options).
    #[arg(long, conflicts_with = "init_from")]
    pub resume: Option<PathBuf>,
    /// Where to train: the CPU, or the GPU through WebGPU (parameters, gradients and optimizer state stay on
    /// the GPU; the same seed gives the same run as on the CPU up to f32 rounding).
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: Backend,
    /// With --backend gpu: the adapter whose name contains this (case-insensitive; default: the
    /// WGPU_ADAPTER_NAME environment variable, else the best one), e.g. llvmpipe for Mesa's software one.
    #[arg(long)]
    pub adapter: Option<String>,
}

#[derive(clap::Args)]
pub struct GradcheckArgs {
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Trials with random sizes per check (the assignment: 10).
    #[arg(long, default_value_t = 10)]
    pub trials: usize,
}
