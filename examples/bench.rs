//! The native half of `./scripts/bench`, and its report.
//!
//! - `bench native`: times every workload of `backprop_lab::bench` natively, prints the rows as JSON.
//! - `bench gpu`: the GPU rows (WGPU_ADAPTER_NAME picks the adapter): the matrix-product kernel at 1024³ (and
//!   4096³ where one 1024³ product takes under 0.1 s) and training steps of every workload; on a software
//!   adapter only the workloads under 1 GFLOP per step. Prints `[]` with the reason when there is no adapter.
//! - `bench report OUT ROWS...`: merges JSON row lists (native, wasm-node), fills in each row's percentage of
//!   the `simd128-peak` row, writes OUT and prints the table as Markdown.
use std::error::Error;
use std::time::Instant;

use backprop_lab::bench::{self, Measurement};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("native") => native(),
        Some("gpu") => gpu(),
        Some("report") if args.len() >= 3 => report(&args[1], &args[2..]),
        _ => Err("usage: bench native | bench gpu | bench report OUT.json ROWS.json...".into()),
    }
}

fn native() -> Result<(), Box<dyn Error>> {
    let origin = Instant::now();
    let mut rows = Vec::new();
    let only = std::env::var("BENCH_WORKLOADS").unwrap_or_default();
    for workload in bench::workloads() {
        if !only.is_empty() && !only.split(',').any(|name| name == workload.id) {
            continue;
        }
        let row = bench::measure(&workload, "native", || origin.elapsed().as_secs_f64())?;
        eprintln!("native {}: {} steps in {:.2} s", row.workload, row.steps, row.seconds);
        rows.push(row);
    }
    println!("{}", serde_json::to_string(&rows)?);
    Ok(())
}

/// The GPU bench drives wgpu natively; in a wasm build (`wasm-pack test` compiles the examples too) it says so.
#[cfg(target_arch = "wasm32")]
fn gpu() -> Result<(), Box<dyn Error>> {
    Err("bench gpu runs natively only (the page's WebGPU path is measured in the browser)".into())
}

#[cfg(not(target_arch = "wasm32"))]
fn gpu() -> Result<(), Box<dyn Error>> {
    use backprop_lab::gpu::{bench as gpu_bench, GpuContext};
    let context = || GpuContext::new_blocking(None);
    let mut rows = Vec::new();
    let probe = match context() {
        Ok(context) => context,
        Err(e) => {
            eprintln!("gpu: skipped: {e}");
            println!("[]");
            return Ok(());
        }
    };
    let software = probe.adapter.software;
    eprintln!("gpu: {}", probe.adapter);
    let small = gpu_bench::measure_matmul(&probe, 1024, 3.0)?;
    eprintln!("gpu matmul 1024³: {:.2} GFLOP/s", small.gflops);
    let seconds_per_product = small.seconds / small.steps as f64;
    rows.push(small);
    if seconds_per_product < 0.1 {
        let large = gpu_bench::measure_matmul(&probe, 4096, 3.0)?;
        eprintln!("gpu matmul 4096³: {:.2} GFLOP/s", large.gflops);
        rows.push(large);
    } else {
        eprintln!("gpu matmul 4096³: skipped ({seconds_per_product:.2} s per 1024³ product)");
    }
    let only = std::env::var("BENCH_WORKLOADS").unwrap_or_default();
    for workload in bench::workloads() {
        if !only.is_empty() && !only.split(',').any(|name| name == workload.id) {
            continue;
        }
        let per_step = workload.config.model.training_flops_per_image()? as f64 * workload.config.batch_size as f64;
        if software && per_step > 1e9 {
            eprintln!(
                "gpu {}: skipped on a software adapter ({:.1} GFLOP per step)",
                workload.id,
                per_step / 1e9
            );
            continue;
        }
        let row = gpu_bench::measure_training(context()?, &workload, 3.0, 200)?;
        eprintln!("gpu {}: {} steps in {:.2} s", row.workload, row.steps, row.seconds);
        rows.push(row);
    }
    println!("{}", serde_json::to_string(&rows)?);
    Ok(())
}

fn report(out: &str, inputs: &[String]) -> Result<(), Box<dyn Error>> {
    let mut rows: Vec<Measurement> = Vec::new();
    for input in inputs {
        rows.extend(serde_json::from_str::<Vec<Measurement>>(&std::fs::read_to_string(
            input,
        )?)?);
    }
    let peak = rows
        .iter()
        .find(|row| row.workload == "simd128-peak")
        .map(|row| row.gflops)
        .ok_or("no simd128-peak row")?;
    for row in rows.iter_mut().filter(|row| !row.runtime.starts_with("gpu")) {
        row.percent_of_simd128_peak = Some(100.0 * row.gflops / peak);
    }
    std::fs::write(out, serde_json::to_string_pretty(&rows)? + "\n")?;

    println!("SIMD128 peak (f32x4 mul+add, wasm in Node): {peak:.2} GFLOP/s");
    if let Some(relaxed) = rows.iter().find(|row| row.workload == "relaxed-simd-peak") {
        println!(
            "Relaxed-SIMD peak (f32x4.relaxed_madd, wasm in Node, same run): {:.2} GFLOP/s ({:.0} % of the SIMD128 peak)",
            relaxed.gflops,
            100.0 * relaxed.gflops / peak
        );
    }
    println!("\nEvery % is of the SIMD128 peak. wasm-node: the SIMD128 build; relaxed: the relaxed-SIMD build.\n");
    println!("| workload | native images/s | native GFLOP/s | native % of peak | wasm-node images/s | wasm-node GFLOP/s | wasm-node % of peak | relaxed images/s | relaxed GFLOP/s | relaxed % of peak | what |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let cell = |workload: &str, runtime: &str| {
        rows.iter()
            .find(|row| row.workload == workload && row.runtime == runtime)
            .map(|row| {
                format!(
                    "{:.1} | {:.2} | {:.1} %",
                    row.images_per_s.unwrap_or(0.0),
                    row.gflops,
                    row.percent_of_simd128_peak.unwrap_or(0.0)
                )
            })
            .unwrap_or_else(|| "– | – | –".into())
    };
    for workload in bench::workloads() {
        println!(
            "| {} | {} | {} | {} | {} |",
            workload.id,
            cell(workload.id, "native"),
            cell(workload.id, "wasm-node"),
            cell(workload.id, "wasm-node-relaxed"),
            workload.description
        );
    }
    let gpu_rows: Vec<&Measurement> = rows.iter().filter(|row| row.runtime.starts_with("gpu")).collect();
    if let Some(first) = gpu_rows.first() {
        // a software adapter's numbers say the kernels run, not how fast a GPU is
        println!("\nGPU, {}:\n", first.runtime.trim_start_matches("gpu: "));
        println!("| row | images/s | GFLOP/s | timed steps or products | seconds |");
        println!("|---|---:|---:|---:|---:|");
        for row in gpu_rows {
            let images = row.images_per_s.map_or("–".to_string(), |v| format!("{v:.1}"));
            println!(
                "| {} | {images} | {:.2} | {} | {:.2} |",
                row.workload, row.gflops, row.steps, row.seconds
            );
        }
    }
    println!("\nwritten: {out}");
    Ok(())
}
