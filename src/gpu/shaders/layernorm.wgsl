// Layer normalisation over the M features of each row of x: [S, M]; the derivation is layers/layernorm.rs's
// (the report's §3.2). ∂L/∂γ and ∂L/∂β are per-feature sums: batchnorm.wgsl's `sum_channels_and_products`.
struct Params {
    rows: u32,
    features: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> x_hat: array<f32>;
@group(0) @binding(5) var<storage, read_write> inv_std: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<storage, read> grad_y: array<f32>;
@group(0) @binding(8) var<storage, read_write> grad_x: array<f32>;

// One workgroup per row: μ, σ² (biased, two passes), x̂ = (x − μ)/√(σ² + ε), y = γ ∘ x̂ + β.
@compute @workgroup_size(256)
fn forward(@builtin(local_invocation_index) thread: u32, @builtin(workgroup_id) group: vec3<u32>,
           @builtin(num_workgroups) groups: vec3<u32>) {
    let row = flat_group(group, groups);
    let start = row * params.features;
    let count = f32(params.features);
    var sum = 0.0;
    for (var j = thread; j < params.features; j += 256u) {
        sum += x[start + j];
    }
    partial[thread] = sum;
    partial_product[thread] = 0.0;
    reduce_workgroup(thread);
    let mean = partial[0] / count;
    workgroupBarrier();
    var squares = 0.0;
    for (var j = thread; j < params.features; j += 256u) {
        let d = x[start + j] - mean;
        squares += d * d;
    }
    partial[thread] = squares;
    reduce_workgroup(thread);
    let inv = 1.0 / sqrt(partial[0] / count + params.eps);
    if (row >= params.rows) {
        return;
    }
    for (var j = thread; j < params.features; j += 256u) {
        let h = (x[start + j] - mean) * inv;
        x_hat[start + j] = h;
        y[start + j] = gamma[j] * h + beta[j];
    }
    if (thread == 0u) {
        inv_std[row] = inv;
    }
}

// One workgroup per row, with g = ∂L/∂Y ∘ γ: ∂L/∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g ∘ x̂)).
@compute @workgroup_size(256)
fn input_gradient(@builtin(local_invocation_index) thread: u32, @builtin(workgroup_id) group: vec3<u32>,
                  @builtin(num_workgroups) groups: vec3<u32>) {
    let row = flat_group(group, groups);
    let start = row * params.features;
    let count = f32(params.features);
    var sum = 0.0;
    var product = 0.0;
    for (var j = thread; j < params.features; j += 256u) {
        let g = grad_y[start + j] * gamma[j];
        sum += g;
        product += g * x_hat[start + j];
    }
    partial[thread] = sum;
    partial_product[thread] = product;
    reduce_workgroup(thread);
    let mean_g = partial[0] / count;
    let mean_g_x_hat = partial_product[0] / count;
    if (row >= params.rows) {
        return;
    }
    let inv = inv_std[row];
    for (var j = thread; j < params.features; j += 256u) {
        let g = grad_y[start + j] * gamma[j];
        grad_x[start + j] = inv * (g - mean_g - x_hat[start + j] * mean_g_x_hat);
    }
}
