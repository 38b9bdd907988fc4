//! `lab transfer`: the offline transfer experiment (pretrain on CIFAR-10's animals, then learn its vehicles from
//! a few hundred labelled images from scratch, with frozen features and with full fine-tuning).
use std::path::PathBuf;
use std::process::ExitCode;

use backprop_lab::data::{self, Augmentation};
use backprop_lab::model::{ResnetConfig, Stem};
use backprop_lab::train::curves_csv;
use backprop_lab::transfer::{run_transfer, Phase, TransferConfig, ANIMALS, VEHICLES};

#[derive(clap::Args)]
pub struct TransferArgs {
    /// CIFAR-10 (a directory of batches or the .tar.gz).
    #[arg(long)]
    pub data: PathBuf,
    /// Labelled training images per vehicle class, comma separated: three downstream runs for each.
    #[arg(long, value_delimiter = ',', default_value = "100")]
    pub labelled: Vec<usize>,
    /// The ResNet's stage widths (CIFAR stem: 3×3 convolution, no max-pool).
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128")]
    pub widths: Vec<usize>,
    /// BasicBlocks per stage (1,1,1,1: ResNet-10; 2,2,2,2: ResNet-18).
    #[arg(long, value_delimiter = ',', default_value = "1,1,1,1")]
    pub blocks: Vec<usize>,
    #[arg(long, default_value_t = 1000)]
    pub pretrain_steps: usize,
    #[arg(long, default_value_t = 64)]
    pub pretrain_batch: usize,
    #[arg(long, default_value_t = 500)]
    pub pretrain_eval_every: usize,
    /// Steps of each downstream run.
    #[arg(long, default_value_t = 300)]
    pub steps: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 100)]
    pub eval_every: usize,
    /// Adam's learning rate, in both phases.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory: transfer.json and one curves CSV per run.
    #[arg(long, default_value = "runs/transfer")]
    pub out: PathBuf,
}

fn four(values: &[usize], what: &str) -> Result<[usize; 4], String> {
    values
        .try_into()
        .map_err(|_| format!("--{what}: expected 4 comma-separated numbers, found {}", values.len()))
}

pub fn transfer(args: TransferArgs) -> Result<ExitCode, String> {
    let dataset = data::load_path(&args.data).map_err(|e| e.to_string())?;
    let network = ResnetConfig::resnet18(VEHICLES.len())
        .with_widths(four(&args.widths, "widths")?)
        .with_blocks(four(&args.blocks, "blocks")?)
        .with_stem(Stem::Cifar)
        .cnn();
    let config = TransferConfig {
        network,
        source_classes: ANIMALS.to_vec(),
        target_classes: VEHICLES.to_vec(),
        labelled_per_class: args.labelled.clone(),
        pretrain: Phase {
            steps: args.pretrain_steps,
            batch_size: args.pretrain_batch,
            learning_rate: args.lr,
            eval_every: args.pretrain_eval_every,
        },
        downstream: Phase {
            steps: args.steps,
            batch_size: args.batch_size,
            learning_rate: args.lr,
            eval_every: args.eval_every,
        },
        augmentation: Augmentation::standard(),
        seed: args.seed,
    };
    let origin = std::time::Instant::now();
    let now = || origin.elapsed().as_secs_f64() * 1000.0;
    let result = run_transfer(&config, &dataset, &now, &mut |phase, p| {
        eprintln!(
            "{phase:>40}  step {:>5}  train loss {:.4}  test acc {:.4}",
            p.step, p.train_loss, p.test_accuracy
        )
    })
    .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: cannot create: {e}", args.out.display()))?;
    let write = |name: &str, contents: String| {
        let path = args.out.join(name);
        std::fs::write(&path, contents).map_err(|e| format!("{}: cannot write: {e}", path.display()))
    };
    write(
        "pretrain.csv",
        curves_csv(&result.pretrain.curves, &result.pretrain.config),
    )?;
    for run in &result.downstream {
        let start = serde_json::to_value(run.start).map_err(|e| e.to_string())?;
        let name = format!("{}-{}.csv", run.labelled_images, start.as_str().unwrap_or("run"));
        write(&name, curves_csv(&run.result.curves, &run.result.config))?;
    }
    let json = serde_json::json!({ "config": config, "result": result });
    write(
        "transfer.json",
        serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?,
    )?;

    println!(
        "pretrained on {} animal images: {:.2} % on the animal test set in {:.0} s ({:.1} ms/step), {} parameters",
        result.source_train_images,
        100.0 * result.pretrain.final_test_accuracy,
        result.pretrain.wall_seconds,
        result.pretrain.step_milliseconds,
        result.parameters
    );
    println!("on the {} vehicle test images:", result.target_test_images);
    println!("| labelled images | start | test accuracy | wall time | ms per step |\n|---|---|---|---|---|");
    for run in &result.downstream {
        println!(
            "| {} | {} | {:.2} % | {:.0} s | {:.1} |",
            run.labelled_images,
            run.start.label(),
            100.0 * run.result.final_test_accuracy,
            run.result.wall_seconds,
            run.result.step_milliseconds
        );
    }
    println!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
