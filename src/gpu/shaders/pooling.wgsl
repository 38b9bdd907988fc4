// Max pooling and global average pooling of channel-major images [N, C·H·W]; the derivations are
// layers/maxpool2d.rs's (the gradient goes to each window's argmax) and layers/global_avg_pool.rs's.
struct Params {
    batch: u32,
    channels: u32,
    height: u32,
    width: u32,
    kernel: u32,
    stride: u32,
    padding: u32,
    out_height: u32,
    out_width: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;
@group(0) @binding(4) var<storage, read> grad_y: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad_x: array<f32>;

// One thread per output: the window's maximum (padding never wins; the first of equal values stays, as
// kernels::max_pool) and its index within the sample's C·H·W values.
@compute @workgroup_size(256)
fn max_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let o = flat_index(id, groups);
    let positions = params.out_height * params.out_width;
    if (o >= params.batch * params.channels * positions) {
        return;
    }
    let sample = o / (params.channels * positions);
    let c = (o / positions) % params.channels;
    let oi = (o % positions) / params.out_width;
    let oj = o % params.out_width;
    let sample_start = sample * params.channels * params.height * params.width;
    var best = -3.402823e38;
    var best_at = 0u;
    var found = false;
    for (var ki = 0u; ki < params.kernel; ki++) {
        let i = i32(oi * params.stride + ki) - i32(params.padding);
        if (i < 0 || i >= i32(params.height)) {
            continue;
        }
        for (var kj = 0u; kj < params.kernel; kj++) {
            let j = i32(oj * params.stride + kj) - i32(params.padding);
            if (j < 0 || j >= i32(params.width)) {
                continue;
            }
            let at = (c * params.height + u32(i)) * params.width + u32(j);
            let v = x[sample_start + at];
            if (!found || v > best) {
                best = v;
                best_at = at;
                found = true;
            }
        }
    }
    y[o] = best;
    argmax[o] = best_at;
}

// One thread per input pixel: the sum of ∂L/∂y over the outputs whose argmax it is, in output order (the
// order kernels::max_pool_backward adds them in).
@compute @workgroup_size(256)
fn max_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let p = flat_index(id, groups);
    let features = params.channels * params.height * params.width;
    if (p >= params.batch * features) {
        return;
    }
    let sample = p / features;
    let at = p % features;
    let c = at / (params.height * params.width);
    let i = i32((at / params.width) % params.height) + i32(params.padding);
    let j = i32(at % params.width) + i32(params.padding);
    let k = i32(params.kernel);
    let s = i32(params.stride);
    // outputs oi with oi·s ≤ i + p ≤ oi·s + k − 1
    let oi_first = max((i - k + s) / s, 0);
    let oi_last = min(i / s, i32(params.out_height) - 1);
    let oj_first = max((j - k + s) / s, 0);
    let oj_last = min(j / s, i32(params.out_width) - 1);
    let positions = params.out_height * params.out_width;
    var sum = 0.0;
    for (var oi = oi_first; oi <= oi_last; oi++) {
        for (var oj = oj_first; oj <= oj_last; oj++) {
            let o = (sample * params.channels + c) * positions + u32(oi) * params.out_width + u32(oj);
            if (argmax[o] == at) {
                sum += grad_y[o];
            }
        }
    }
    grad_x[p] = sum;
}

// One thread per (sample, channel): y = (1/P) Σ_p x.
@compute @workgroup_size(256)
fn average_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let o = flat_index(id, groups);
    if (o >= params.batch * params.channels) {
        return;
    }
    let pixels = params.height * params.width;
    var sum = 0.0;
    for (var q = 0u; q < pixels; q++) {
        sum += x[o * pixels + q];
    }
    y[o] = sum * (1.0 / f32(pixels));
}

// ∂L/∂x[c, p] = ∂L/∂y[c] / P.
@compute @workgroup_size(256)
fn average_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let p = flat_index(id, groups);
    let pixels = params.height * params.width;
    if (p >= params.batch * params.channels * pixels) {
        return;
    }
    grad_x[p] = grad_y[p / pixels] * (1.0 / f32(pixels));
}
