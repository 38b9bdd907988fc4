// Batch normalisation per channel of channel-major samples x: [N, C·P] (P = 1: BatchNorm1d over
// features; P = H·W: BatchNorm2d). The derivation is layers/batchnorm1d.rs's; the per-channel reductions
// here are also the bias gradients of Linear and Conv2d and LayerNorm's ∂L/∂γ, ∂L/∂β (P = 1).
struct Params {
    batch: u32,
    channels: u32,
    pixels: u32,
    unused: u32,
    eps: f32,
    momentum: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> batch_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> inv_std: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(6) var<storage, read> gamma: array<f32>;
@group(0) @binding(7) var<storage, read> beta: array<f32>;
@group(0) @binding(8) var<storage, read_write> x_hat: array<f32>;
@group(0) @binding(9) var<storage, read_write> y: array<f32>;
@group(0) @binding(10) var<storage, read> grad_y: array<f32>;
@group(0) @binding(11) var<storage, read_write> channel_sum: array<f32>;
@group(0) @binding(12) var<storage, read_write> channel_product_sum: array<f32>;
@group(0) @binding(13) var<storage, read_write> grad_x: array<f32>;

// The index into [N, C·P] of the i-th of the N·P values of channel c.
fn channel_value(c: u32, i: u32) -> u32 {
    let n = i / params.pixels;
    return (n * params.channels + c) * params.pixels + i % params.pixels;
}

// One workgroup per channel: μ_B, σ²_B (biased, two passes), 1/√(σ²_B + ε), and the running statistics
// with momentum, the running variance from the unbiased σ²_B · S/(S − 1).
@compute @workgroup_size(256)
fn statistics(@builtin(local_invocation_index) thread: u32, @builtin(workgroup_id) group: vec3<u32>,
              @builtin(num_workgroups) groups: vec3<u32>) {
    let c = flat_group(group, groups);
    let count = params.batch * params.pixels;
    var sum = 0.0;
    for (var i = thread; i < count; i += 256u) {
        sum += x[channel_value(c, i)];
    }
    partial[thread] = sum;
    partial_product[thread] = 0.0;
    reduce_workgroup(thread);
    let mean = partial[0] / f32(count);
    workgroupBarrier();
    var squares = 0.0;
    for (var i = thread; i < count; i += 256u) {
        let d = x[channel_value(c, i)] - mean;
        squares += d * d;
    }
    partial[thread] = squares;
    reduce_workgroup(thread);
    if (thread == 0u && c < params.channels) {
        let variance = partial[0] / f32(count);
        batch_mean[c] = mean;
        inv_std[c] = 1.0 / sqrt(variance + params.eps);
        let unbiased = select(1.0, f32(count) / f32(count - 1u), count > 1u);
        let m = params.momentum;
        running_mean[c] = (1.0 - m) * running_mean[c] + m * mean;
        running_var[c] = (1.0 - m) * running_var[c] + m * variance * unbiased;
    }
}

// Training: x̂ = (x − μ_B) · 1/√(σ²_B + ε), y = γ x̂ + β.
@compute @workgroup_size(256)
fn normalize_train(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if (i >= params.batch * params.channels * params.pixels) {
        return;
    }
    let c = (i / params.pixels) % params.channels;
    let h = (x[i] - batch_mean[c]) * inv_std[c];
    x_hat[i] = h;
    y[i] = gamma[c] * h + beta[c];
}

// Evaluation: the running statistics instead of the batch's.
@compute @workgroup_size(256)
fn normalize_eval(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if (i >= params.batch * params.channels * params.pixels) {
        return;
    }
    let c = (i / params.pixels) % params.channels;
    let inv = 1.0 / sqrt(running_var[c] + params.eps);
    y[i] = gamma[c] * ((x[i] - running_mean[c]) * inv) + beta[c];
}

// One workgroup per channel: Σ ∂L/∂Y (∂L/∂β, a bias gradient).
@compute @workgroup_size(256)
fn sum_channels(@builtin(local_invocation_index) thread: u32, @builtin(workgroup_id) group: vec3<u32>,
                @builtin(num_workgroups) groups: vec3<u32>) {
    let c = flat_group(group, groups);
    var sum = 0.0;
    for (var i = thread; i < params.batch * params.pixels; i += 256u) {
        sum += grad_y[channel_value(c, i)];
    }
    partial[thread] = sum;
    partial_product[thread] = 0.0;
    reduce_workgroup(thread);
    if (thread == 0u && c < params.channels) {
        channel_sum[c] = partial[0];
    }
}

// One workgroup per channel: ∂L/∂β = Σ ∂L/∂Y and ∂L/∂γ = Σ ∂L/∂Y ∘ X̂.
@compute @workgroup_size(256)
fn sum_channels_and_products(@builtin(local_invocation_index) thread: u32, @builtin(workgroup_id) group: vec3<u32>,
                             @builtin(num_workgroups) groups: vec3<u32>) {
    let c = flat_group(group, groups);
    var sum = 0.0;
    var product = 0.0;
    for (var i = thread; i < params.batch * params.pixels; i += 256u) {
        let at = channel_value(c, i);
        sum += grad_y[at];
        product += grad_y[at] * x_hat[at];
    }
    partial[thread] = sum;
    partial_product[thread] = product;
    reduce_workgroup(thread);
    if (thread == 0u && c < params.channels) {
        channel_sum[c] = partial[0];
        channel_product_sum[c] = partial_product[0];
    }
}

// ∂L/∂x = a ∂L/∂Y − a ∂L/∂β/S − (a ∂L/∂γ/S) x̂ with a = γ/√(σ² + ε), as layers/batchnorm1d.rs; reads
// ∂L/∂β and ∂L/∂γ from `sum_channels_and_products`.
@compute @workgroup_size(256)
fn input_gradient(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if (i >= params.batch * params.channels * params.pixels) {
        return;
    }
    let c = (i / params.pixels) % params.channels;
    let count = f32(params.batch * params.pixels);
    let scale = inv_std[c] * gamma[c];
    let offset = -scale * channel_sum[c] / count;
    let scale_x_hat = -scale * channel_product_sum[c] / count;
    grad_x[i] = scale * grad_y[i] + offset + scale_x_hat * x_hat[i];
}
