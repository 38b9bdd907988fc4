//! `lab gradcheck`: the f64 finite-difference table of every backward pass; exit status 0 only if all pass.
use std::process::ExitCode;

use backprop_lab::gradcheck::{suite, CheckResult, SuiteOptions};

use super::args::GradcheckArgs;

pub fn gradcheck(args: GradcheckArgs) -> Result<ExitCode, String> {
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
