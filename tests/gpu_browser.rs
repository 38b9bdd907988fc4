//! The GPU kernels in the browser: WebGPU in a dedicated Web Worker (where the page trains) in headless
//! Chromium, whose software adapter (SwiftShader) needs `--enable-unsafe-webgpu`: `./scripts/test` passes it
//! through the capabilities file `tests/webdriver-webgpu.json` (`WASM_BINDGEN_TEST_WEBDRIVER_JSON`). Chromium
//! compiles the WGSL itself (Tint), so this also checks every shader against the second compiler.
//! Tolerance as `tests/gpu_kernels.rs`: |gpu − cpu| ≤ 1e-5 + 1e-4·|cpu| (GEMM: 1e-5·√K + 1e-4·|cpu|).
#![cfg(target_arch = "wasm32")]

use backprop_lab::gpu::kernel::{submit, Library};
use backprop_lab::gpu::layers::{Builder, LayerBuffers, View};
use backprop_lab::gpu::matmul::{Gemm, GemmBuffers, Operands};
use backprop_lab::gpu::{GpuContext, Tensor};
use backprop_lab::gradcheck::random_normal;
use backprop_lab::layers::{Conv2d, Conv2dConfig, Layer, Linear, LinearInit, Mode};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

async fn gpu() -> GpuContext {
    let context = GpuContext::new(None)
        .await
        .unwrap_or_else(|e| panic!("WebGPU in the worker: {e} (is --enable-unsafe-webgpu passed?)"));
    console_log!("adapter: {}", context.adapter);
    context
}

fn assert_close(what: &str, gpu: &[f32], cpu: &[f32], abs: f32, rel: f32) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        assert!(
            (g - c).abs() <= abs + rel * c.abs(),
            "{what}: value {i} is {g} on the GPU, {c} on the CPU"
        );
    }
}

fn flat(a: &Array2<f32>) -> Vec<f32> {
    a.iter().copied().collect()
}

#[wasm_bindgen_test]
async fn the_worker_finds_a_webgpu_adapter() {
    let context = gpu().await;
    // headless Chromium's adapter is SwiftShader, which reports itself as a CPU device with no name
    assert!(context.check().is_ok());
}

#[wasm_bindgen_test]
async fn a_transposed_product_matches_ndarray() {
    let context = gpu().await;
    let (m, n, k) = (37, 29, 53);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let a = random_normal(&mut rng, k, m).mapv(|v| v as f32); // stored transposed
    let b = random_normal(&mut rng, k, n).mapv(|v| v as f32);
    let (ta, tb, c) = (
        Tensor::from_f32(&context, &flat(&a), "a"),
        Tensor::from_f32(&context, &flat(&b), "b"),
        Tensor::zeros(&context, m * n, "c"),
    );
    let mut library = Library::default();
    let gemm = Gemm::new(
        &mut library,
        &context,
        Operands::Dense {
            transpose_a: true,
            transpose_b: false,
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
    let got = c.read_f32_async(&context).await.expect("readback");
    assert_close("Aᵀ·B", &got, &flat(&a.t().dot(&b)), 1e-5 * (k as f32).sqrt(), 1e-4);
    assert!(context.check().is_ok(), "{:?}", context.check());
}

/// Forward (training) and backward of `layer` on the GPU against the CPU layer.
async fn check_layer(context: &GpuContext, mut layer: Box<dyn Layer<f32>>, batch: usize, in_features: usize) {
    let name = layer.name();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let x = random_normal(&mut rng, batch, in_features).mapv(|v| v as f32);
    let mut params = Vec::new();
    layer.visit_params(&mut |p| params.push(p.value.to_vec()));
    let mut y = Array2::zeros((0, 0));
    layer.forward(x.view(), &mut y, Mode::Train);
    let grad_y = random_normal(&mut rng, batch, y.ncols()).mapv(|v| v as f32);
    let mut grad_x = Array2::zeros((0, 0));
    layer.backward(x.view(), y.view(), grad_y.view(), Some(&mut grad_x));
    let mut cpu_grads = Vec::new();
    layer.visit_params(&mut |p| cpu_grads.push(p.grad.to_vec()));

    let (input, grad_output) = (
        Tensor::from_f32(context, &flat(&x), "x"),
        Tensor::from_f32(context, &flat(&grad_y), "∂L/∂Y"),
    );
    let output = Tensor::zeros(context, y.len(), "y");
    let grad_input = Tensor::zeros(context, x.len(), "∂L/∂X");
    let param_tensors: Vec<Tensor> = params.iter().map(|p| Tensor::from_f32(context, p, "θ")).collect();
    let grad_tensors: Vec<Tensor> = params
        .iter()
        .map(|p| Tensor::zeros(context, p.len(), "∂L/∂θ"))
        .collect();
    let (param_views, grad_views): (Vec<View<'_>>, Vec<View<'_>>) = (
        param_tensors.iter().map(View::of).collect(),
        grad_tensors.iter().map(View::of).collect(),
    );
    let io = LayerBuffers {
        batch,
        in_features,
        input: View::of(&input),
        output: View::of(&output),
        grad_output: View::of(&grad_output),
        grad_input: Some(View::of(&grad_input)),
        params: &param_views,
        grads: &grad_views,
        buffers: &[],
    };
    let mut library = Library::default();
    let program = Builder {
        context,
        library: &mut library,
    }
    .layer(&layer.kind(), &io)
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    submit(context, program.forward_train.iter().chain(&program.backward));
    let got = output.read_f32_async(context).await.expect("y");
    assert_close(&format!("{name} forward"), &got, &flat(&y), 1e-5, 1e-4);
    let got = grad_input.read_f32_async(context).await.expect("∂L/∂X");
    assert_close(&format!("{name} ∂L/∂X"), &got, &flat(&grad_x), 1e-5, 1e-4);
    for (i, (g, c)) in grad_tensors.iter().zip(&cpu_grads).enumerate() {
        let got = g.read_f32_async(context).await.expect("∂L/∂θ");
        assert_close(&format!("{name} parameter {i} gradient"), &got, c, 1e-5, 1e-4);
    }
    assert!(context.check().is_ok(), "{name}: {:?}", context.check());
}

#[wasm_bindgen_test]
async fn linear_and_conv2d_match_the_cpu_layers_in_the_browser() {
    let context = gpu().await;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    check_layer(
        &context,
        Box::new(Linear::new(37, 29, LinearInit::PyTorch, &mut rng)),
        13,
        37,
    )
    .await;
    let config = Conv2dConfig::new(3, 4, 3, (6, 7)).with_padding(1);
    let conv = Conv2d::new(&config, &mut rng).expect("a valid convolution");
    check_layer(&context, Box::new(conv), 2, 3 * 42).await;
}
