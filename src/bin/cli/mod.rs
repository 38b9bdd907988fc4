//! Commands of `lab`: `train` (a full run with curves and a summary), `gradcheck` (the f64 check table) and
//! `synth` (the synthetic data set written in the official CIFAR-10 file formats).
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use backprop_lab::data::{self, Augmentation, Dataset, SyntheticConfig};
use backprop_lab::gradcheck::{suite, CheckResult, SuiteOptions};
use backprop_lab::layers::LinearInit;
use backprop_lab::model::{Activation, LossKind, MlpConfig, ModelConfig, Normalization};
use backprop_lab::optim::OptimizerConfig;
use backprop_lab::train::{curves_csv, run_data_parallel, Schedule, TrainConfig, Trainer};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

mod png;
mod synth;

#[derive(Parser)]
#[command(
    name = "lab",
    version,
    about = "backprop-lab: hand-derived backprop on CIFAR-10, from the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model and write summary.json, curves.csv and curves.png.
    Train(TrainArgs),
    /// Check every layer's backward pass against finite differences in f64; exit status 0 only if all pass.
    Gradcheck(GradcheckArgs),
    /// Write the seeded synthetic data set as CIFAR-10 files: binary or Python batches, or the .tar.gz downloads.
    ///
    /// Prints each written file's path and size in bytes.
    Synth(synth::SynthArgs),
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum ModelKind {
    /// The course's MLP (defaults: SGD, lr 1e-3, batch 200, 1400 steps, eval every 100).
    Mlp,
    /// The course's ConvNet (defaults: Adam, lr 1e-4, batch 32, 5000 steps, eval every 500).
    Convnet,
    /// The lab's small CNN; its defaults are its training recipe (see README).
    SmallCnn,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum ScheduleKind {
    /// The same learning rate throughout (the course).
    Constant,
    /// Linear warm-up over the first 15 % of the steps, then linear decay to 0.
    OneCycle,
    /// Multiply by --decay-factor every --decay-every steps.
    Step,
}

impl ModelKind {
    /// The defaults of each model: the course's scripts, and the small CNN's recipe.
    fn preset(self) -> TrainConfig {
        match self {
            ModelKind::Mlp => TrainConfig::default(),
            ModelKind::Convnet => TrainConfig::convnet(),
            ModelKind::SmallCnn => TrainConfig::small_cnn(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum OptimizerKind {
    Sgd,
    Adam,
}

#[derive(Clone, Copy, ValueEnum)]
enum InitKind {
    /// PyTorch's default: U(±1/√fan_in) for weights and biases.
    Pytorch,
    /// The NumPy assignment: W ~ N(0, init_std²), b = 0.
    Normal,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// CIFAR-10 as a directory of batches, a downloaded archive (.tar.gz), or batch files (repeat the flag).
    /// Without it, the built-in synthetic data set is used.
    #[arg(long)]
    data: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "mlp")]
    model: ModelKind,
    /// Hidden layer sizes, comma separated (e.g. 100 or 150,150,150,150,150).
    #[arg(long, default_value = "100", value_delimiter = ',')]
    hidden: Vec<usize>,
    #[arg(long, value_enum, default_value = "elu")]
    activation: ActivationArg,
    /// Linear → BatchNorm → activation in every hidden layer.
    #[arg(long, conflicts_with = "layernorm")]
    batchnorm: bool,
    /// Linear → LayerNorm → activation in every hidden layer.
    #[arg(long)]
    layernorm: bool,
    #[arg(long, value_enum, default_value = "pytorch")]
    init: InitKind,
    /// Standard deviation of `--init normal` (the NumPy assignment: 1e-4).
    #[arg(long, default_value_t = 1e-4)]
    init_std: f64,
    /// A separate softmax layer and cross-entropy on probabilities (the report's modules) instead of the fused loss.
    #[arg(long)]
    softmax_then_ce: bool,
    /// Default: the model's (see --model).
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerKind>,
    /// Learning rate. Default: the model's.
    #[arg(long)]
    lr: Option<f64>,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.0)]
    momentum: f64,
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f64,
    /// Default: the model's.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Default: the model's.
    #[arg(long)]
    steps: Option<usize>,
    /// Evaluate on the whole test set every this many steps. Default: the model's.
    #[arg(long)]
    eval_every: Option<usize>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Random crops (4-pixel padding) and horizontal flips of the training images. Default: the model's
    /// (off for mlp and convnet, as the course).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    augment: Option<bool>,
    /// Learning-rate schedule. Default: the model's (constant for mlp and convnet).
    #[arg(long, value_enum)]
    schedule: Option<ScheduleKind>,
    /// With --schedule step: steps between decays.
    #[arg(long, default_value_t = 1500)]
    decay_every: usize,
    /// With --schedule step: the factor of each decay.
    #[arg(long, default_value_t = 0.1)]
    decay_factor: f64,
    /// Seed and sizes of the synthetic data set (used when --data is not given).
    #[arg(long, default_value_t = 0)]
    synthetic_seed: u64,
    #[arg(long, default_value_t = 5000)]
    synthetic_train: usize,
    #[arg(long, default_value_t = 1000)]
    synthetic_test: usize,
    /// Output directory for summary.json, curves.csv and curves.png.
    #[arg(long, default_value = "runs/latest")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Train on this many cores: each thread computes the gradients of its slice of every batch and all take
    /// the same step (BatchNorm normalises each slice with its own statistics). 1 is the course's training.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum ActivationArg {
    Elu,
    Relu,
    Tanh,
}

#[derive(clap::Args)]
struct GradcheckArgs {
    /// Print the table as JSON.
    #[arg(long)]
    json: bool,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Trials with random sizes per check (the assignment: 10).
    #[arg(long, default_value_t = 10)]
    trials: usize,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train(args),
        Command::Gradcheck(args) => gradcheck(args),
        Command::Synth(args) => synth::synth(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn train_config(args: &TrainArgs) -> TrainConfig {
    let preset = args.model.preset();
    let model = match args.model {
        ModelKind::Convnet | ModelKind::SmallCnn => preset.model.clone(),
        ModelKind::Mlp => ModelConfig::Mlp(MlpConfig {
            hidden: args.hidden.clone(),
            activation: match args.activation {
                ActivationArg::Elu => Activation::Elu,
                ActivationArg::Relu => Activation::Relu,
                ActivationArg::Tanh => Activation::Tanh,
            },
            normalization: if args.batchnorm {
                Normalization::BatchNorm
            } else if args.layernorm {
                Normalization::LayerNorm
            } else {
                Normalization::None
            },
            init: match args.init {
                InitKind::Pytorch => LinearInit::PyTorch,
                InitKind::Normal => LinearInit::Normal { std: args.init_std },
            },
            loss: if args.softmax_then_ce {
                LossKind::SoftmaxThenCrossEntropy
            } else {
                LossKind::SoftmaxCrossEntropy
            },
            ..MlpConfig::default()
        }),
    };
    let lr = args.lr.unwrap_or(preset.optimizer.learning_rate());
    let preset_optimizer = match preset.optimizer {
        OptimizerConfig::Sgd { .. } => OptimizerKind::Sgd,
        OptimizerConfig::Adam { .. } => OptimizerKind::Adam,
    };
    let optimizer = match args.optimizer.unwrap_or(preset_optimizer) {
        OptimizerKind::Sgd => OptimizerConfig::Sgd {
            learning_rate: lr,
            momentum: args.momentum,
            weight_decay: args.weight_decay,
            nesterov: false,
        },
        OptimizerKind::Adam => OptimizerConfig::Adam {
            learning_rate: lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: args.weight_decay,
        },
    };
    TrainConfig {
        model,
        optimizer,
        batch_size: args.batch_size.unwrap_or(preset.batch_size),
        steps: args.steps.unwrap_or(preset.steps),
        eval_every: args.eval_every.unwrap_or(preset.eval_every),
        seed: args.seed,
        augmentation: match args.augment {
            Some(true) => Augmentation::standard(),
            Some(false) => Augmentation::default(),
            None => preset.augmentation,
        },
        schedule: match args.schedule {
            Some(ScheduleKind::Constant) => Schedule::Constant,
            Some(ScheduleKind::OneCycle) => Schedule::OneCycle { warmup: 0.15 },
            Some(ScheduleKind::Step) => Schedule::Step {
                every: args.decay_every,
                factor: args.decay_factor,
            },
            None => preset.schedule,
        },
    }
}

fn load_data(args: &TrainArgs) -> Result<Dataset, String> {
    match args.data.as_slice() {
        [] => Ok(data::synthetic(&SyntheticConfig {
            seed: args.synthetic_seed,
            train_size: args.synthetic_train,
            test_size: args.synthetic_test,
        })),
        [path] => data::load_path(path).map_err(|e| e.to_string()),
        paths => {
            let mut files = Vec::new();
            for path in paths {
                let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
                files.push((path.display().to_string(), bytes));
            }
            let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
            data::load_files(&borrowed).map_err(|e| e.to_string())
        }
    }
}

fn train(args: TrainArgs) -> Result<ExitCode, String> {
    let config = train_config(&args);
    let started = Instant::now();
    let dataset = load_data(&args)?;
    eprintln!(
        "data: {} ({} training, {} test images) loaded in {:.1} s",
        dataset.name,
        dataset.train.len(),
        dataset.test.len(),
        started.elapsed().as_secs_f64()
    );
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if args.threads == 0 || args.threads > config.batch_size.min(64) {
        return Err(format!(
            "--threads: expected 1 to {} (one per image of the batch at most), found {}",
            config.batch_size.min(64),
            args.threads
        ));
    }
    if args.threads > cores {
        eprintln!("note: {} threads on {cores} cores", args.threads);
    }
    let mut trainers = (0..args.threads)
        .map(|_| Trainer::new(config.clone(), &dataset))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let parameters = trainers[0].network_mut().parameter_count();
    let layers: Vec<String> = trainers[0].network().layers().iter().map(|l| l.name()).collect();
    eprintln!("model: {} ({parameters} parameters)", layers.join(" → "));
    if let Ok(flops) = config.model.training_flops_per_image() {
        eprintln!(
            "training compute: {:.3} GFLOP per image, {:.3e} FLOP for {} steps of {}",
            flops as f64 / 1e9,
            flops as f64 * (config.steps * config.batch_size) as f64,
            config.steps,
            config.batch_size
        );
    }

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(config.steps as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} steps [{elapsed_precise} < {eta_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let quiet = args.quiet;
    let training_started = Instant::now();
    let on_step = |outcome: &backprop_lab::train::StepOutcome, point: Option<&backprop_lab::train::CurvePoint>| {
        bar.set_position(outcome.step as u64);
        if let Some(p) = point {
            bar.set_message(format!("test acc {:.4}, loss {:.4}", p.test_accuracy, p.test_loss));
            let line = format!(
                "step {:>6}  train loss {:.4} acc {:.4}  test loss {:.4} acc {:.4}",
                p.step, p.train_loss, p.train_accuracy, p.test_loss, p.test_accuracy
            );
            if quiet {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
    };
    let result = if args.threads == 1 {
        trainers[0].run(&dataset, on_step)
    } else {
        run_data_parallel(&mut trainers, &dataset, on_step)
    };
    bar.finish_and_clear();
    let trainer = &trainers[0];
    let wall_seconds = training_started.elapsed().as_secs_f64();
    write_outputs(
        &args.out,
        trainer,
        &config,
        &dataset,
        RunFacts {
            parameters,
            wall_seconds,
            threads: args.threads,
        },
        result.as_ref().err(),
    )?;
    match result {
        Ok(()) => {
            let last = trainer.curves().last().copied();
            if let Some(p) = last {
                println!(
                    "final test accuracy {:.4}, test loss {:.4} after {} steps in {:.1} s",
                    p.test_accuracy, p.test_loss, p.step, wall_seconds
                );
            }
            println!("wrote {}", args.out.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Facts of a finished (or stopped) run for `summary.json`.
struct RunFacts {
    parameters: usize,
    wall_seconds: f64,
    threads: usize,
}

fn write_outputs(
    out: &Path,
    trainer: &Trainer,
    config: &TrainConfig,
    dataset: &Dataset,
    facts: RunFacts,
    error: Option<&backprop_lab::error::TrainError>,
) -> Result<(), String> {
    let RunFacts {
        parameters,
        wall_seconds,
        threads,
    } = facts;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: cannot create the output directory: {e}", out.display()))?;
    let curves = trainer.curves();
    let last = curves.last();
    let summary = serde_json::json!({
        "final_test_accuracy": last.map(|p| p.test_accuracy),
        "final_test_loss": last.map(|p| p.test_loss),
        "best_test_accuracy": curves.iter().map(|p| p.test_accuracy).fold(None, |best: Option<f64>, a| Some(best.map_or(a, |b| b.max(a)))),
        "steps": trainer.steps_done(),
        "wall_seconds": wall_seconds,
        "threads": threads,
        "parameters": parameters,
        "train_flops": TrainConfig { steps: trainer.steps_done(), ..config.clone() }.training_flops().ok(),
        "dataset": { "name": dataset.name, "train_images": dataset.train.len(), "test_images": dataset.test.len() },
        "config": config,
        "error": error.map(|e| e.to_string()),
    });
    let write = |name: &str, contents: &[u8]| {
        let path = out.join(name);
        std::fs::write(&path, contents).map_err(|e| format!("{}: cannot write: {e}", path.display()))
    };
    write(
        "summary.json",
        serde_json::to_string_pretty(&summary)
            .map_err(|e| e.to_string())?
            .as_bytes(),
    )?;
    write("curves.csv", curves_csv(curves).as_bytes())?;
    let title = format!("{} — {}", dataset.name, describe(config));
    if let Err(message) = png::write_curves_png(&out.join("curves.png"), curves, &title) {
        eprintln!("warning: curves.png not written: {message}");
    }
    Ok(())
}

fn describe(config: &TrainConfig) -> String {
    let model = match &config.model {
        ModelConfig::Mlp(mlp) => {
            let hidden: Vec<String> = mlp.hidden.iter().map(|h| h.to_string()).collect();
            format!("MLP {} {:?} {:?}", hidden.join(","), mlp.activation, mlp.normalization)
        }
        ModelConfig::Cnn(cnn) => cnn.name.clone(),
    };
    let optimizer = match config.optimizer {
        OptimizerConfig::Sgd { .. } => "SGD",
        OptimizerConfig::Adam { .. } => "Adam",
    };
    format!(
        "{model}, {optimizer} lr {}, batch {}",
        config.optimizer.learning_rate(),
        config.batch_size
    )
}

fn gradcheck(args: GradcheckArgs) -> Result<ExitCode, String> {
    let options = SuiteOptions {
        seed: args.seed,
        trials: args.trials,
        layer_norm_trials: args.trials,
    };
    let rows = suite(&options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?);
    } else {
        print_table(&rows);
    }
    let failed = rows.iter().filter(|r| !r.passed).count();
    if failed == 0 {
        eprintln!("all {} checks passed", rows.len());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{failed} of {} checks FAILED", rows.len());
        Ok(ExitCode::FAILURE)
    }
}

fn print_table(rows: &[CheckResult]) {
    let width = rows.iter().map(|r| r.layer.chars().count()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$}  {:<24} {:<10} {:>12} {:>10}  result",
        "layer", "parameter", "shape", "max rel err", "tolerance"
    );
    for r in rows {
        let shape: Vec<String> = r.shape.iter().map(|d| d.to_string()).collect();
        println!(
            "{:<width$}  {:<24} {:<10} {:>12.3e} {:>10.1e}  {}",
            r.layer,
            r.parameter,
            shape.join("×"),
            r.max_rel_error,
            r.tolerance,
            if r.passed { "pass" } else { "FAIL" }
        );
    }
}
