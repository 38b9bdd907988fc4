//! Weights and runs on the command line: `lab inspect FILE`, and `lab train`'s `--init-from`, `--save`,
//! `--resume` and `--save-run`.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use backprop_lab::data::Dataset;
use backprop_lab::model::Network;
use backprop_lab::train::{TrainConfig, Trainer};
use backprop_lab::weights::{self, StateDict, WeightsMetadata};

#[derive(clap::Args)]
pub struct InspectArgs {
    /// A .safetensors file (lab weights, a saved run, or a PyTorch state dict).
    pub file: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// `lab inspect FILE`: the tensors (name, dtype, shape) and the metadata.
pub fn inspect(args: InspectArgs) -> Result<ExitCode, String> {
    let bytes = read(&args.file)?;
    let listing = weights::inspect(&bytes).map_err(|e| format!("{}: {e}", args.file.display()))?;
    print!("{listing}");
    Ok(ExitCode::SUCCESS)
}

/// Loads the weights in `path` into every trainer's model (checked first; a classification head of another
/// size is replaced by a fresh one, and the message says so), and preprocesses as the weights expect.
pub fn init_from(path: &Path, trainers: &mut [Trainer], dataset: &Dataset) -> Result<(), String> {
    let state = StateDict::from_bytes(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
    let input = state
        .lab_metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .input;
    for trainer in trainers.iter_mut() {
        trainer.use_input(input, &dataset.train);
        let network = trainer.network_mut();
        let head = head_module(network);
        let report =
            weights::load_into(network, &state, head.as_deref()).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(message) = &report.new_head {
            eprintln!("note: {message}");
        }
    }
    eprintln!(
        "initialised from {} ({} tensors); input normalisation: {}",
        path.display(),
        state.tensors.len(),
        input.key()
    );
    Ok(())
}

/// The module name of the network's classification head.
fn head_module(network: &mut Network<f32>) -> Option<String> {
    network
        .head_layer()
        .and_then(|i| network.module_names().get(i).cloned())
}

/// Writes the trained model's weights with its configuration in the metadata.
pub fn save(path: &Path, trainer: &mut Trainer, config: &TrainConfig) -> Result<(), String> {
    let metadata = WeightsMetadata {
        model: Some(config.model.clone()),
        input: trainer.config().input,
    };
    let bytes = weights::save(trainer.network_mut(), &metadata).map_err(|e| e.to_string())?;
    write(path, &bytes)?;
    eprintln!("wrote the weights to {} ({} bytes)", path.display(), bytes.len());
    Ok(())
}

/// Writes the whole run (weights, optimizer, sampler, curves) so `--resume` continues it.
pub fn save_run(path: &Path, trainer: &mut Trainer) -> Result<(), String> {
    let bytes = trainer.save_run().map_err(|e| e.to_string())?;
    write(path, &bytes)?;
    eprintln!("wrote the run at step {} to {}", trainer.steps_done(), path.display());
    Ok(())
}

/// The run saved in `path`, to continue on `dataset`.
pub fn resume(path: &Path, dataset: &Dataset) -> Result<Trainer, String> {
    let trainer = Trainer::resume_run(&read(path)?, dataset).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("resumed {} at step {}", path.display(), trainer.steps_done());
    Ok(trainer)
}
