//! `lab train`: a full training run with a progress bar, on one thread or several, writing `summary.json`,
//! `curves.csv` and `curves.png`.
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use backprop_lab::budget::MemoryBudget;
use backprop_lab::data::NUM_CLASSES as CLASSES;
use backprop_lab::data::{self, Augmentation, Dataset, SyntheticConfig};
use backprop_lab::gpu::{AdapterSummary, Backend, GpuContext, GpuTrainer};
use backprop_lab::layers::LinearInit;
use backprop_lab::model::{FineTune, LossKind, MlpConfig, ModelConfig, ModelKind, Normalization, ResnetConfig, Stem};
use backprop_lab::optim::{OptimizerConfig, OptimizerKind};
use backprop_lab::train::{
    curves_csv, run_data_parallel_until, CurvePoint, Schedule, StepOutcome, TrainConfig, Trainer,
};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

use super::args::{FineTuneKind, InitKind, ScheduleKind, TrainArgs};
use super::{png, weights};

fn train_config(args: &TrainArgs) -> TrainConfig {
    let preset = TrainConfig::for_model(args.model);
    let model = match args.model {
        ModelKind::Convnet | ModelKind::SmallCnn => preset.model.clone(),
        ModelKind::Resnet18 => ModelConfig::Cnn(ResnetConfig::resnet18(CLASSES).with_stem(args.stem).cnn()),
        ModelKind::Resnet34 => ModelConfig::Cnn(ResnetConfig::resnet34(CLASSES).with_stem(args.stem).cnn()),
        ModelKind::Mlp => ModelConfig::Mlp(MlpConfig {
            hidden: args.hidden.clone(),
            activation: args.activation,
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
    let optimizer = match args.optimizer.unwrap_or(preset.optimizer.kind()) {
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
        input: preset.input,
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
        changes: Vec::new(),
        fine_tune: match args.fine_tune {
            FineTuneKind::Full => FineTune::Full,
            FineTuneKind::FeatureExtraction => FineTune::FeatureExtraction,
            FineTuneKind::LowerBackboneRate => FineTune::LowerBackboneRate {
                factor: args.backbone_rate,
            },
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

pub fn train(args: TrainArgs) -> Result<ExitCode, String> {
    if args.stem != Stem::default() && !matches!(args.model, ModelKind::Resnet18 | ModelKind::Resnet34) {
        return Err(format!(
            "--stem: expected --model resnet18 or resnet34 with it, found --model {}",
            args.model
                .to_possible_value()
                .map_or("?".into(), |v| v.get_name().to_string())
        ));
    }
    // before the data is read and anything is built: an absurd size is refused with the estimate
    let check_memory = |config: &TrainConfig| {
        (config.check_memory(args.threads, &MemoryBudget::for_target())).map_err(|e| e.to_string())
    };
    if args.resume.is_none() {
        check_memory(&train_config(&args))?;
    }
    // the GPU fails fast, before the data is read, if there is no adapter (or none of that name)
    let gpu_context = match args.backend {
        Backend::Cpu if args.adapter.is_some() => {
            return Err("--adapter: expected --backend gpu with it (the CPU backend has no adapter)".into())
        }
        Backend::Cpu => None,
        Backend::Gpu if args.threads > 1 => {
            return Err(format!(
                "--backend gpu: expected --threads 1 (the GPU trains the whole batch), found {}",
                args.threads
            ))
        }
        Backend::Gpu => {
            Some(GpuContext::new_blocking(args.adapter.as_deref()).map_err(|e| format!("--backend gpu: {e}"))?)
        }
    };
    let started = Instant::now();
    let dataset = load_data(&args)?;
    let resumed = args
        .resume
        .as_deref()
        .map(|path| weights::resume(path, &dataset))
        .transpose()?;
    let config = resumed
        .as_ref()
        .map_or_else(|| train_config(&args), |t| t.config().clone());
    check_memory(&config)?;
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
    let mut trainers = match resumed {
        // every data-parallel trainer holds the whole run: each thread continues the same saved run
        Some(mut trainer) => {
            let bytes = match args.threads {
                1 => Vec::new(),
                _ => trainer.save_run().map_err(|e| e.to_string())?,
            };
            let mut trainers = vec![trainer];
            for _ in 1..args.threads {
                trainers.push(Trainer::resume_run(&bytes, &dataset).map_err(|e| e.to_string())?);
            }
            trainers
        }
        None => (0..args.threads)
            .map(|_| Trainer::new(config.clone(), &dataset))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?,
    };
    if let Some(path) = &args.init_from {
        weights::init_from(path, &mut trainers, &dataset)?;
    }
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
    let on_step = |outcome: &StepOutcome, point: Option<&CurvePoint>| {
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
    let mut adapter = None;
    let result = if let Some(context) = gpu_context {
        // the GPU run continues the CPU trainer (its seed's, --init-from's or --resume's weights and optimizer
        // state) and hands it back with the final weights synced, for --save and the outputs, and the
        // optimizer's moments too for --save-run
        adapter = Some(context.adapter.clone());
        eprintln!("backend: GPU, {}", context.adapter);
        let cpu = trainers.remove(0);
        match GpuTrainer::from_trainer(cpu, context) {
            Ok(mut gpu) => {
                let result = gpu
                    .run_until(args.stop_at.unwrap_or(config.steps), &dataset, on_step)
                    .and_then(|()| gpu.sync_weights())
                    .and_then(|()| match args.save_run {
                        Some(_) => gpu.sync_optimizer(),
                        None => Ok(()),
                    });
                trainers.insert(0, gpu.into_cpu());
                result.map_err(|e| e.to_string())
            }
            Err(e) => return Err(e.to_string()),
        }
    } else if args.threads == 1 {
        trainers[0]
            .run_until(args.stop_at.unwrap_or(config.steps), &dataset, on_step)
            .map_err(|e| e.to_string())
    } else {
        run_data_parallel_until(&mut trainers, args.stop_at.unwrap_or(config.steps), &dataset, on_step)
            .map_err(|e| e.to_string())
    };
    bar.finish_and_clear();
    if let Some(path) = &args.save {
        weights::save(path, &mut trainers[0], &config)?;
    }
    if let Some(path) = &args.save_run {
        weights::save_run(path, &mut trainers[0])?;
    }
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
            backend: args.backend,
            adapter,
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
        Err(e) => Err(e),
    }
}

/// Facts of a finished (or stopped) run for `summary.json`.
struct RunFacts {
    parameters: usize,
    wall_seconds: f64,
    threads: usize,
    backend: Backend,
    /// The GPU's adapter (`--backend gpu`).
    adapter: Option<AdapterSummary>,
}

fn write_outputs(
    out: &Path,
    trainer: &Trainer,
    config: &TrainConfig,
    dataset: &Dataset,
    facts: RunFacts,
    error: Option<&String>,
) -> Result<(), String> {
    let RunFacts {
        parameters,
        wall_seconds,
        threads,
        backend,
        adapter,
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
        "backend": backend,
        "adapter": adapter,
        "parameters": parameters,
        "train_flops": TrainConfig { steps: trainer.steps_done(), ..config.clone() }.training_flops().ok(),
        "dataset": { "name": dataset.name, "train_images": dataset.train.len(), "test_images": dataset.test.len() },
        "config": config,
        "error": error,
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
    write("curves.csv", curves_csv(curves, config).as_bytes())?;
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
