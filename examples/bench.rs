//! The native half of `./scripts/bench`, and its report.
//!
//! - `bench native`: times every workload of `backprop_lab::bench` natively, prints the rows as JSON.
//! - `bench report OUT ROWS...`: merges JSON row lists (native, wasm-node), fills in each row's percentage of
//!   the `simd128-peak` row, writes OUT and prints the table as Markdown.
use std::error::Error;
use std::time::Instant;

use backprop_lab::bench::{self, Measurement};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("native") => native(),
        Some("report") if args.len() >= 3 => report(&args[1], &args[2..]),
        _ => Err("usage: bench native | bench report OUT.json ROWS.json...".into()),
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
    for row in &mut rows {
        row.percent_of_simd128_peak = Some(100.0 * row.gflops / peak);
    }
    std::fs::write(out, serde_json::to_string_pretty(&rows)? + "\n")?;

    println!("SIMD128 peak (f32x4 mul+add, wasm in Node): {peak:.2} GFLOP/s\n");
    println!("| workload | native images/s | native GFLOP/s | native % of peak | wasm-node images/s | wasm-node GFLOP/s | wasm-node % of peak | what |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
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
            "| {} | {} | {} | {} |",
            workload.id,
            cell(workload.id, "native"),
            cell(workload.id, "wasm-node"),
            workload.description
        );
    }
    println!("\nwritten: {out}");
    Ok(())
}
