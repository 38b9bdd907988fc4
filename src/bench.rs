//! The speed benchmark's workloads, shared by the native runner (`examples/bench.rs`) and the wasm runner
//! (`examples/bench_wasm.rs`, driven by Node), so both time exactly the same code: full training steps
//! (forward, backward, optimizer update) on random CIFAR-shaped images.
//!
//! FLOPs follow the course's convention: multiply-adds × 2, forward + backward ≈ 3 × forward
//! ([`ModelConfig::training_flops_per_image`]). The clock is passed in, because `std::time::Instant`
//! does not exist on `wasm32-unknown-unknown`.
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{CHANNELS, IMAGE_SIZE};
use crate::error::ConfigError;
use crate::layers::LinearInit;
use crate::model::{CnnConfig, LayerSpec, MlpConfig, ModelConfig, Network, Normalization};
use crate::optim::{Optimizer, OptimizerConfig};
use crate::train::TrainConfig;

/// Seed of the parameters and of the random images and labels.
pub const SEED: u64 = 42;

/// One workload: what is trained, and how long to time it.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// `W1`…`W4`, `small-cnn`, `convnet`.
    pub id: &'static str,
    pub description: &'static str,
    /// Model, optimizer and batch size (steps, evaluation and augmentation are not used).
    pub config: TrainConfig,
    /// Untimed steps first (buffer allocation, optimizer state, caches).
    pub warmup_steps: usize,
    /// Timed steps continue until this many seconds have passed (at least one step)…
    pub min_seconds: f64,
    /// …or this many steps were timed.
    pub max_steps: usize,
}

fn workload(
    id: &'static str,
    description: &'static str,
    model: ModelConfig,
    optimizer: OptimizerConfig,
    batch_size: usize,
) -> Workload {
    let config = TrainConfig {
        model,
        optimizer,
        batch_size,
        ..TrainConfig::default()
    };
    let per_step = config.model.training_flops_per_image().unwrap_or(0) as f64 * batch_size as f64;
    // Small steps: three warm-ups and up to 1000 timed steps; big ones (≥ 2 GFLOP): one warm-up, up to 50.
    let (warmup_steps, max_steps) = if per_step < 2e9 { (3, 1000) } else { (1, 50) };
    Workload {
        id,
        description,
        config,
        warmup_steps,
        min_seconds: 5.0,
        max_steps,
    }
}

fn pool2() -> LayerSpec {
    LayerSpec::MaxPool {
        kernel: 2,
        stride: 2,
        padding: 0,
    }
}

fn cifar_cnn(name: &str, layers: Vec<LayerSpec>) -> ModelConfig {
    ModelConfig::Cnn(CnnConfig {
        name: name.into(),
        input: (CHANNELS, IMAGE_SIZE, IMAGE_SIZE),
        layers,
        init: LinearInit::PyTorch,
        names: Default::default(),
    })
}

/// W3: three 5×5 conv (16, 20, 20 channels, padding 2) + ReLU + 2×2 max-pool stages, then linear → 10.
pub fn three_conv_cnn() -> ModelConfig {
    let mut layers = Vec::new();
    for channels in [16, 20, 20] {
        layers.extend([LayerSpec::conv(channels, 5, 2), LayerSpec::Relu, pool2()]);
    }
    layers.push(LayerSpec::Linear { out_features: 10 });
    cifar_cnn("three-conv", layers)
}

/// W4, VGG-small: 3×3 conv + BN + ReLU with 64, 128, 256 ×2, 512 ×2, 512 ×2 channels, a 2×2 max-pool after
/// each group, then linear 512 → 10.
pub fn vgg_small() -> ModelConfig {
    let mut layers = Vec::new();
    for group in [&[64][..], &[128], &[256, 256], &[512, 512], &[512, 512]] {
        for &channels in group {
            layers.extend([LayerSpec::conv(channels, 3, 1), LayerSpec::BatchNorm, LayerSpec::Relu]);
        }
        layers.push(pool2());
    }
    layers.push(LayerSpec::Linear { out_features: 10 });
    cifar_cnn("vgg-small", layers)
}

/// Every workload of `./scripts/bench`, in the order they are printed.
pub fn workloads() -> Vec<Workload> {
    let mlp = MlpConfig::default();
    let mlp_batch_norm = MlpConfig {
        normalization: Normalization::BatchNorm,
        ..MlpConfig::default()
    };
    vec![
        workload(
            "W1",
            "MLP 3072-100-10 ELU, SGD, batch 200",
            ModelConfig::Mlp(mlp),
            OptimizerConfig::sgd(1e-3),
            200,
        ),
        workload(
            "W2",
            "MLP 3072-100-10 ELU + BatchNorm, Adam, batch 200",
            ModelConfig::Mlp(mlp_batch_norm),
            OptimizerConfig::adam(1e-3),
            200,
        ),
        workload(
            "W3",
            "CNN 3× (conv 5×5 + ReLU + pool 2), linear, SGD, batch 32",
            three_conv_cnn(),
            OptimizerConfig::sgd(1e-3),
            32,
        ),
        workload(
            "W4",
            "VGG-small (conv 3×3 + BN + ReLU), Adam, batch 32",
            vgg_small(),
            OptimizerConfig::adam(1e-4),
            32,
        ),
        workload(
            "small-cnn",
            "CnnConfig::small_cnn(), Adam, batch 64",
            ModelConfig::Cnn(CnnConfig::small_cnn()),
            OptimizerConfig::adam(2e-3),
            64,
        ),
        workload(
            "convnet",
            "CnnConfig::convnet(), Adam, batch 32",
            ModelConfig::Cnn(CnnConfig::convnet()),
            OptimizerConfig::adam(1e-4),
            32,
        ),
    ]
}

/// A model, its optimizer and one fixed random batch, ready to take training steps.
pub struct Session {
    network: Network<f32>,
    optimizer: Box<dyn Optimizer<f32>>,
    inputs: Array2<f32>,
    labels: Vec<usize>,
}

impl Session {
    pub fn new(workload: &Workload) -> Result<Self, ConfigError> {
        let config = &workload.config;
        let network = config.model.build::<f32>(SEED)?;
        let optimizer = config.optimizer.build::<f32>()?;
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let features = network.input_features();
        let inputs = Array2::from_shape_simple_fn((config.batch_size, features), || rng.random_range(-1.0..1.0));
        let labels = (0..config.batch_size).map(|_| rng.random_range(0..10)).collect();
        Ok(Self {
            network,
            optimizer,
            inputs,
            labels,
        })
    }

    /// One full training step: forward, loss, backward, optimizer update. Returns the loss.
    pub fn step(&mut self) -> f32 {
        let (loss, _correct) = self.network.forward_backward(self.inputs.view(), &self.labels);
        self.optimizer.step(&mut self.network);
        loss
    }
}

/// One row of `target/bench/results.json`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measurement {
    pub workload: String,
    /// `native` or `wasm-node`.
    pub runtime: String,
    pub threads: usize,
    pub steps: usize,
    pub seconds: f64,
    /// Absent for the `simd128-peak` row, which trains nothing.
    pub images_per_s: Option<f64>,
    pub gflops: f64,
    /// `gflops` as a percentage of the `simd128-peak` row measured in the same run (filled in by the report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_of_simd128_peak: Option<f64>,
}

/// Builds `workload`, takes its warm-up steps, then times training steps with `now` (seconds, any origin).
pub fn measure(workload: &Workload, runtime: &str, mut now: impl FnMut() -> f64) -> Result<Measurement, ConfigError> {
    let mut session = Session::new(workload)?;
    for _ in 0..workload.warmup_steps {
        session.step();
    }
    let start = now();
    let mut steps = 0;
    let mut seconds = 0.0;
    while steps == 0 || (seconds < workload.min_seconds && steps < workload.max_steps) {
        session.step();
        steps += 1;
        seconds = now() - start;
    }
    let images = (steps * workload.config.batch_size) as f64;
    let flops = workload.config.model.training_flops_per_image()? as f64 * images;
    Ok(Measurement {
        workload: workload.id.into(),
        runtime: runtime.into(),
        threads: 1,
        steps,
        seconds,
        images_per_s: Some(images / seconds),
        gflops: flops / seconds / 1e9,
        percent_of_simd128_peak: None,
    })
}

/// Independent accumulators of [`simd128_peak`]: enough to hide a multiply's plus an add's latency, few
/// enough to stay in the 16 vector registers V8 uses on x86-64.
const PEAK_ACCUMULATORS: usize = 12;

/// f32 FLOPs per iteration of [`simd128_peak`]: one `f32x4` multiply and one add per accumulator.
pub const SIMD128_PEAK_FLOPS_PER_ITERATION: u64 = (PEAK_ACCUMULATORS * 2 * 4) as u64;

/// The SIMD128 limit: a loop of nothing but `f32x4` multiplies and adds, `acc ← acc · m + c` on 12
/// independent accumulators, so the engine is bound by vector throughput rather than latency. Wasm has no
/// fused multiply-add, so a multiply-add is two instructions; this is the ceiling a GEMM kernel in wasm can
/// approach.
///
/// `one` must be 1.0, passed at run time so neither compiler can fold the multiply away (the accumulators
/// then grow by `c` each iteration: no overflow, no denormals). Returns a sum of the accumulators so the
/// work is observable.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)] // a call of its own: V8 tiers a wasm function up only between calls
pub fn simd128_peak(iterations: u32, one: f32) -> f32 {
    use core::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat};
    let multiplier = f32x4_splat(one);
    let increment = f32x4_splat(one * 1e-3);
    let mut acc: [_; PEAK_ACCUMULATORS] = core::array::from_fn(|j| f32x4_splat(j as f32));
    for _ in 0..iterations {
        for a in acc.iter_mut() {
            *a = f32x4_add(f32x4_mul(*a, multiplier), increment);
        }
    }
    accumulator_sum(&acc)
}

/// The sum of a peak loop's accumulators, all their lanes: the peaks' observable result.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn accumulator_sum(acc: &[core::arch::wasm32::v128]) -> f32 {
    use core::arch::wasm32::{f32x4_add, f32x4_extract_lane, f32x4_splat};
    let total = acc.iter().fold(f32x4_splat(0.0), |s, &a| f32x4_add(s, a));
    f32x4_extract_lane::<0>(total)
        + f32x4_extract_lane::<1>(total)
        + f32x4_extract_lane::<2>(total)
        + f32x4_extract_lane::<3>(total)
}

/// The relaxed-SIMD limit: [`simd128_peak`]'s loop with `f32x4.relaxed_madd` (`acc ← acc · m + c` in one
/// instruction, fused where the CPU has FMA) instead of a multiply and an add; the same FLOPs per iteration.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128", feature = "relaxed-simd"))]
#[inline(never)]
#[target_feature(enable = "relaxed-simd")]
pub fn relaxed_simd_peak(iterations: u32, one: f32) -> f32 {
    use core::arch::wasm32::{f32x4_relaxed_madd, f32x4_splat};
    let multiplier = f32x4_splat(one);
    let increment = f32x4_splat(one * 1e-3);
    let mut acc: [_; PEAK_ACCUMULATORS] = core::array::from_fn(|j| f32x4_splat(j as f32));
    for _ in 0..iterations {
        for a in acc.iter_mut() {
            *a = f32x4_relaxed_madd(*a, multiplier, increment);
        }
    }
    accumulator_sum(&acc)
}

/// Times [`simd128_peak`] with `now` (seconds): one warm-up call, then doubling the iterations until a call
/// takes at least a second.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn measure_simd128_peak(runtime: &str, one: f32, now: impl FnMut() -> f64) -> Measurement {
    measure_peak("simd128-peak", simd128_peak, runtime, one, now)
}

/// Times [`relaxed_simd_peak`] as [`measure_simd128_peak`] times its loop (the row `relaxed-simd-peak`).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128", feature = "relaxed-simd"))]
pub fn measure_relaxed_simd_peak(runtime: &str, one: f32, now: impl FnMut() -> f64) -> Measurement {
    measure_peak(
        "relaxed-simd-peak",
        |n, one| relaxed_simd_peak(n, one),
        runtime,
        one,
        now,
    )
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn measure_peak(
    name: &str,
    peak: impl Fn(u32, f32) -> f32,
    runtime: &str,
    one: f32,
    mut now: impl FnMut() -> f64,
) -> Measurement {
    let mut iterations: u32 = 1 << 12;
    let mut sink = 0.0;
    for _ in 0..100 {
        sink += peak(iterations, one);
    }
    loop {
        let start = now();
        sink += peak(iterations, one);
        let seconds = now() - start;
        if seconds >= 1.0 || iterations >= 1 << 30 {
            let flops = (iterations as u64 * SIMD128_PEAK_FLOPS_PER_ITERATION) as f64;
            return Measurement {
                workload: name.into(),
                runtime: runtime.into(),
                threads: 1,
                // The sum is returned through the iteration count's neighbour so the loop cannot be dropped.
                steps: iterations as usize + usize::from(sink.is_nan()),
                seconds,
                images_per_s: None,
                gflops: flops / seconds / 1e9,
                percent_of_simd128_peak: Some(100.0),
            };
        }
        iterations *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_builds_and_takes_a_finite_step() {
        for workload in workloads()
            .into_iter()
            .filter(|w| w.id.starts_with('W') && w.id != "W4")
        {
            let mut session = Session::new(&workload).expect(workload.id);
            assert!(session.step().is_finite(), "{}: non-finite loss", workload.id);
        }
    }

    #[test]
    fn workload_flops_match_their_architectures() {
        let flops = |model: ModelConfig| model.training_flops_per_image().unwrap();
        // W3: 16·32²·75 + 20·16²·400 + 20·8²·500 + 320·10 multiply-adds, × 6.
        assert_eq!(
            flops(three_conv_cnn()),
            (16 * 1024 * 75 + 20 * 256 * 400 + 20 * 64 * 500 + 320 * 10) * 6
        );
        // W4 ends at 512 channels of 1×1 after five pools.
        let ModelConfig::Cnn(vgg) = vgg_small() else {
            unreachable!()
        };
        assert_eq!(vgg.summary().unwrap().last().unwrap().output, (10, 1, 1));
    }
}
