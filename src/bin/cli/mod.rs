//! Commands of `lab`: `train` (a full run with curves and a summary), `gradcheck` (the f64 check table) and
//! `synth` (the synthetic data set written in the official CIFAR-10 file formats).
use std::process::ExitCode;

use clap::Parser;

mod args;
mod gradcheck;
mod png;
mod synth;
mod train;
mod transfer;
mod weights;

use args::{Cli, Command};

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::train(*args),
        Command::Gradcheck(args) => gradcheck::gradcheck(args),
        Command::Synth(args) => synth::synth(args),
        Command::Inspect(args) => weights::inspect(args),
        Command::Transfer(args) => transfer::transfer(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
