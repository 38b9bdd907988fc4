//! The GPU rows of `./scripts/bench`: the matrix-product kernel's GFLOP/s and full training steps of the
//! benchmark workloads on the GPU (the same model, optimizer and batch as the CPU rows).
use std::time::Instant;

use super::kernel::{submit, Library};
use super::matmul::{Gemm, GemmBuffers, Operands};
use super::{GpuContext, GpuError, GpuNetwork, Tensor};
use crate::bench::{Measurement, Workload, SEED};
use crate::gradcheck::random_normal;

/// `[n, n] · [n, n]` products timed until `min_seconds` have passed (one untimed first): GFLOP/s of the tiled
/// kernel alone, `2n³` FLOPs per product.
pub fn measure_matmul(context: &GpuContext, n: usize, min_seconds: f64) -> Result<Measurement, GpuError> {
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(SEED);
    let values: Vec<f32> = random_normal(&mut rng, n, n).iter().map(|&v| v as f32).collect();
    let (a, b, c) = (
        Tensor::from_f32(context, &values, "a"),
        Tensor::from_f32(context, &values, "b"),
        Tensor::zeros(context, n * n, "c"),
    );
    let mut library = Library::default();
    let gemm = Gemm::new(
        &mut library,
        context,
        Operands::Dense {
            transpose_a: false,
            transpose_b: false,
        },
        (n, n, n),
        GemmBuffers {
            a: a.binding(),
            b: b.binding(),
            c: c.binding(),
            bias: None,
        },
    )?;
    let (dispatches, _scratch) = gemm.into_parts();
    submit(context, &dispatches);
    context.wait()?;
    let started = Instant::now();
    let mut products = 0;
    while products == 0 || started.elapsed().as_secs_f64() < min_seconds {
        submit(context, &dispatches);
        context.wait()?;
        products += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(row(
        context,
        format!("matmul-{n}"),
        products,
        seconds,
        None,
        2.0 * (n as f64).powi(3) * products as f64 / seconds / 1e9,
    ))
}

/// Training steps of `workload` on the GPU on one fixed random batch (as the CPU rows), after one untimed
/// step, until `min_seconds` have passed or `max_steps` were timed.
pub fn measure_training(
    context: GpuContext,
    workload: &Workload,
    min_seconds: f64,
    max_steps: usize,
) -> Result<Measurement, GpuError> {
    let config = &workload.config;
    let mut network = config
        .model
        .build::<f32>(SEED)
        .map_err(|e| GpuError::Unsupported(e.to_string()))?;
    let features = network.input_features();
    let batch = config.batch_size;
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(SEED);
    let inputs: Vec<f32> = random_normal(&mut rng, batch, features)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let targets: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let mut gpu = GpuNetwork::new(context, &mut network)?;
    let mut optimizer = gpu.optimizer(&config.optimizer)?;
    let mut step = |gpu: &mut GpuNetwork| -> Result<(), GpuError> {
        let update = optimizer.prepare_step(&gpu.context).to_vec();
        gpu.train_step(&inputs, &targets, &update, None)
    };
    step(&mut gpu)?;
    gpu.context.wait()?;
    let started = Instant::now();
    let mut steps = 0;
    while steps == 0 || (started.elapsed().as_secs_f64() < min_seconds && steps < max_steps) {
        step(&mut gpu)?;
        // at most two steps in flight: the timing then measures the GPU, not the queue
        if steps % 2 == 1 {
            gpu.context.wait()?;
        }
        steps += 1;
    }
    gpu.context.wait()?;
    let seconds = started.elapsed().as_secs_f64();
    let images = (steps * batch) as f64;
    let flops = config
        .model
        .training_flops_per_image()
        .map_err(|e| GpuError::Unsupported(e.to_string()))? as f64
        * images;
    Ok(row(
        &gpu.context,
        workload.id.to_string(),
        steps,
        seconds,
        Some(images / seconds),
        flops / seconds / 1e9,
    ))
}

fn row(
    context: &GpuContext,
    workload: String,
    steps: usize,
    seconds: f64,
    images_per_s: Option<f64>,
    gflops: f64,
) -> Measurement {
    Measurement {
        workload,
        runtime: format!("gpu: {}", context.adapter),
        threads: 1,
        steps,
        seconds,
        images_per_s,
        gflops,
        percent_of_simd128_peak: None,
    }
}
