//! Each GPU kernel and layer twin against the CPU layer (whose f64 version is finite-difference checked) on
//! random inputs, forward in training and evaluation mode and backward, parameter gradients included.
//!
//! These tests need a WebGPU adapter but no GPU: `scripts/setup` installs Mesa's lavapipe (a Vulkan
//! rasteriser on the CPU). Where there is no adapter at all they print why and pass without checking.
//! Tolerance: |gpu − cpu| ≤ abs + rel·|cpu| per value, 1e-5 + 1e-4 unless a test says why it needs more.
#![cfg(not(target_arch = "wasm32"))]

#[path = "common/gpu.rs"]
mod common_gpu;

use backprop_lab::gpu::kernel::{submit, Library};
use backprop_lab::gpu::layers::{Builder, LayerBuffers, View};
use backprop_lab::gpu::matmul::{Gemm, GemmBuffers, Operands};
use backprop_lab::gpu::Tensor;
use backprop_lab::gradcheck::random_normal;
use backprop_lab::layers::{
    BasicBlock, BatchNorm1d, BatchNorm2d, Conv2d, Conv2dConfig, Elu, GlobalAvgPool, Layer, LayerNorm, Linear,
    LinearInit, MaxPool2d, MaxPool2dConfig, Mode, PreActBlock, Relu, Tanh,
};
use common_gpu::gpu;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Asserts |gpu − cpu| ≤ abs + rel·|cpu| for every value.
fn assert_close(what: &str, gpu: &[f32], cpu: &[f32], abs: f32, rel: f32) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    let mut worst = (0.0f32, 0);
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let excess = (g - c).abs() - (abs + rel * c.abs());
        if excess > worst.0 || excess.is_nan() {
            worst = (if excess.is_nan() { f32::INFINITY } else { excess }, i);
        }
    }
    let i = worst.1;
    assert!(
        worst.0 <= 0.0,
        "{what}: value {i} is {} on the GPU, {} on the CPU (tolerance {abs} + {rel}·|cpu|)",
        gpu[i],
        cpu[i]
    );
}

fn views(tensors: &[Tensor]) -> Vec<View<'_>> {
    tensors.iter().map(View::of).collect()
}

/// Runs `layer` forward (training), backward and forward (evaluation) on the CPU and its twin on the GPU
/// on the same random input and output gradient, and compares everything the layer computes.
fn check_layer(mut layer: Box<dyn Layer<f32>>, batch: usize, in_features: usize, abs: f32, rel: f32) {
    let Some(context) = gpu() else { return };
    let name = layer.name();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let x = random_normal(&mut rng, batch, in_features).mapv(|v| v as f32);
    // the state before the CPU forward pass changes the running statistics
    let mut params = Vec::new();
    layer.visit_params(&mut |p| params.push(p.value.to_vec()));
    let mut buffers = Vec::new();
    layer.visit_buffers(&mut |_, b| buffers.push(b.to_vec()));
    let mut y = Array2::zeros((0, 0));
    layer.forward(x.view(), &mut y, Mode::Train);
    let grad_y = random_normal(&mut rng, batch, y.ncols()).mapv(|v| v as f32);
    let mut grad_x = Array2::zeros((0, 0));
    layer.backward(x.view(), y.view(), grad_y.view(), Some(&mut grad_x));
    let (mut cpu_grads, mut cpu_buffers) = (Vec::new(), Vec::new());
    layer.visit_params(&mut |p| cpu_grads.push(p.grad.to_vec()));
    layer.visit_buffers(&mut |_, b| cpu_buffers.push(b.to_vec()));
    let mut y_eval = Array2::zeros((0, 0));
    layer.forward(x.view(), &mut y_eval, Mode::Eval);

    let tensor = |values: &[f32]| Tensor::from_f32(&context, values, "test");
    let flat = |a: &Array2<f32>| a.iter().copied().collect::<Vec<_>>();
    let (input, grad_output) = (tensor(&flat(&x)), tensor(&flat(&grad_y)));
    let output = Tensor::zeros(&context, y.len(), "output");
    let grad_input = Tensor::zeros(&context, x.len(), "grad input");
    let param_tensors: Vec<Tensor> = params.iter().map(|p| tensor(p)).collect();
    let grad_tensors: Vec<Tensor> = params
        .iter()
        .map(|p| Tensor::zeros(&context, p.len(), "grad"))
        .collect();
    let buffer_tensors: Vec<Tensor> = buffers.iter().map(|b| tensor(b)).collect();
    let (param_views, grad_views, buffer_views) = (views(&param_tensors), views(&grad_tensors), views(&buffer_tensors));
    let io = LayerBuffers {
        batch,
        in_features,
        input: View::of(&input),
        output: View::of(&output),
        grad_output: View::of(&grad_output),
        grad_input: Some(View::of(&grad_input)),
        params: &param_views,
        grads: &grad_views,
        buffers: &buffer_views,
    };
    let mut library = Library::default();
    let program = Builder {
        context: &context,
        library: &mut library,
    }
    .layer(&layer.kind(), &io)
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let read = |t: &Tensor| t.read_f32(&context).unwrap_or_else(|e| panic!("{name}: {e}"));

    submit(&context, &program.forward_train);
    assert_close(&format!("{name} forward"), &read(&output), &flat(&y), abs, rel);
    submit(&context, &program.backward);
    assert_close(&format!("{name} ∂L/∂X"), &read(&grad_input), &flat(&grad_x), abs, rel);
    for (i, (g, c)) in grad_tensors.iter().zip(&cpu_grads).enumerate() {
        assert_close(&format!("{name} parameter {i} gradient"), &read(g), c, abs, rel);
    }
    for (i, (g, c)) in buffer_tensors.iter().zip(&cpu_buffers).enumerate() {
        assert_close(&format!("{name} running statistic {i}"), &read(g), c, abs, rel);
    }
    submit(&context, &program.forward_eval);
    assert_close(
        &format!("{name} forward (evaluation)"),
        &read(&output),
        &flat(&y_eval),
        abs,
        rel,
    );
    assert!(context.check().is_ok(), "{name}: {:?}", context.check());
}

fn seeded() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(3)
}

#[test]
fn linear_matches_the_cpu_layer() {
    check_layer(
        Box::new(Linear::new(37, 29, LinearInit::PyTorch, &mut seeded())),
        13,
        37,
        1e-5,
        1e-4,
    );
}

#[test]
fn linear_with_a_small_output_and_a_long_sum_matches_the_cpu_layer() {
    // 100 → 10 with 600 rows: ∂L/∂W is a 10×100 output summed over 600 (split-K); sums of 600 products
    // of N(0, 1) values have a rounding error of about 600 · 2⁻²⁴ · their magnitude
    check_layer(
        Box::new(Linear::new(100, 10, LinearInit::PyTorch, &mut seeded())),
        600,
        100,
        1e-4,
        1e-4,
    );
}

#[test]
fn activations_match_the_cpu_layers() {
    check_layer(Box::new(Relu), 9, 33, 1e-5, 1e-4);
    check_layer(Box::new(Elu), 9, 33, 1e-5, 1e-4);
    check_layer(Box::new(Tanh), 9, 33, 1e-5, 1e-4);
}

#[test]
fn batchnorm1d_matches_the_cpu_layer() {
    check_layer(Box::new(BatchNorm1d::new(20)), 16, 20, 1e-5, 1e-4);
}

#[test]
fn batchnorm2d_matches_the_cpu_layer() {
    let layer = BatchNorm2d::new(3).expect("3 channels");
    check_layer(Box::new(layer), 4, 3 * 25, 1e-5, 1e-4);
}

#[test]
fn layernorm_matches_the_cpu_layer() {
    check_layer(Box::new(LayerNorm::new(30)), 6, 30, 1e-5, 1e-4);
}

fn conv(config: Conv2dConfig) -> Box<dyn Layer<f32>> {
    Box::new(Conv2d::new(&config, &mut seeded()).expect("a valid convolution"))
}

#[test]
fn conv2d_matches_the_cpu_layer() {
    let same = Conv2dConfig::new(3, 4, 3, (6, 7)).with_padding(1);
    check_layer(conv(same), 2, 3 * 42, 1e-5, 1e-4);
    let pointwise = Conv2dConfig::new(5, 6, 1, (4, 4));
    check_layer(conv(pointwise), 3, 5 * 16, 1e-5, 1e-4);
}

#[test]
fn strided_conv2d_without_bias_matches_the_cpu_layer() {
    let strided = Conv2dConfig::new(2, 3, 3, (7, 6))
        .with_stride(2)
        .with_padding(1)
        .with_bias(false);
    check_layer(conv(strided), 2, 2 * 42, 1e-5, 1e-4);
}

#[test]
fn conv2d_weight_gradient_with_a_long_sum_matches_the_cpu_layer() {
    // ∂L/∂W of 3→8 channels is 8×27 summed over 16 images × 256 positions (split-K); 4096-term sums
    let config = Conv2dConfig::new(3, 8, 3, (16, 16)).with_padding(1);
    check_layer(conv(config), 16, 3 * 256, 1e-3, 1e-4);
}

#[test]
fn maxpool2d_matches_the_cpu_layer() {
    let overlapping = MaxPool2dConfig::convnet(4, (7, 7));
    check_layer(
        Box::new(MaxPool2d::new(&overlapping).expect("valid")),
        2,
        4 * 49,
        1e-5,
        1e-4,
    );
    let halving = MaxPool2dConfig {
        channels: 3,
        height: 8,
        width: 8,
        kernel: 2,
        stride: 2,
        padding: 0,
    };
    check_layer(
        Box::new(MaxPool2d::new(&halving).expect("valid")),
        2,
        3 * 64,
        1e-5,
        1e-4,
    );
}

#[test]
fn global_average_pool_matches_the_cpu_layer() {
    check_layer(
        Box::new(GlobalAvgPool::new(5).expect("5 channels")),
        3,
        5 * 9,
        1e-5,
        1e-4,
    );
}

#[test]
fn preact_block_matches_the_cpu_layer() {
    let block = PreActBlock::new(4, (6, 6), 3, LinearInit::PyTorch, &mut seeded()).expect("valid");
    check_layer(Box::new(block), 3, 4 * 36, 1e-5, 1e-4);
}

#[test]
fn basic_block_with_the_identity_shortcut_matches_the_cpu_layer() {
    let block = BasicBlock::new(4, 4, 1, (6, 6), LinearInit::PyTorch, &mut seeded()).expect("valid");
    assert!(block.projection.is_none());
    check_layer(Box::new(block), 3, 4 * 36, 1e-5, 1e-4);
}

#[test]
fn basic_block_with_a_strided_projection_matches_the_cpu_layer() {
    let block = BasicBlock::new(4, 8, 2, (6, 6), LinearInit::PyTorch, &mut seeded()).expect("valid");
    assert!(block.projection.is_some());
    check_layer(Box::new(block), 3, 4 * 36, 1e-5, 1e-4);
}

/// `C = op(A) · op(B)` on the GPU against ndarray's product.
fn check_dense_product(m: usize, n: usize, k: usize, transpose_a: bool, transpose_b: bool) {
    let Some(context) = gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let a = random_normal(&mut rng, m, k).mapv(|v| v as f32);
    let b = random_normal(&mut rng, k, n).mapv(|v| v as f32);
    let stored = |x: &Array2<f32>, t: bool| -> Vec<f32> {
        if t {
            x.t().iter().copied().collect()
        } else {
            x.iter().copied().collect()
        }
    };
    let (ta, tb) = (
        Tensor::from_f32(&context, &stored(&a, transpose_a), "a"),
        Tensor::from_f32(&context, &stored(&b, transpose_b), "b"),
    );
    let c = Tensor::zeros(&context, m * n, "c");
    let mut library = Library::default();
    let gemm = Gemm::new(
        &mut library,
        &context,
        Operands::Dense {
            transpose_a,
            transpose_b,
        },
        (m, n, k),
        GemmBuffers {
            a: ta.binding(),
            b: tb.binding(),
            c: c.binding(),
            bias: None,
        },
    )
    .expect("a product");
    let (dispatches, _scratch) = gemm.into_parts();
    submit(&context, &dispatches);
    let expected: Vec<f32> = a.dot(&b).iter().copied().collect();
    // k-term sums of N(0, 1) products: rounding error grows like √k · 2⁻²⁴ · their size
    let abs = 1e-5 * (k as f32).sqrt();
    let got = c.read_f32(&context).expect("readback");
    assert_close(&format!("{m}×{n}×{k} product"), &got, &expected, abs, 1e-4);
}

#[test]
fn tiled_products_match_ndarray_for_every_transpose() {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        check_dense_product(67, 45, 131, ta, tb);
    }
}

#[test]
fn split_k_product_matches_ndarray() {
    // 10×20 output, 5000-term sums: 16 splits reduced in order
    assert!(backprop_lab::gpu::matmul::split_count(10, 20, 5000) > 1);
    check_dense_product(10, 20, 5000, false, false);
}

#[test]
fn every_shader_compiles() {
    let Some(context) = gpu() else { return };
    for (name, source) in backprop_lab::gpu::shaders::ALL {
        let module = context.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(name),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        drop(module);
        assert!(context.check().is_ok(), "{name}: {:?}", context.check());
    }
}
