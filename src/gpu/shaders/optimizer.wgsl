// Parameter updates over the flat parameter buffer, one thread per value; the formulas are optim/sgd.rs's
// and optim/adam.rs's (PyTorch's). The step-dependent constants arrive in `params` each step.
struct Params {
    len: u32,
    first_step: u32,
    nesterov: u32,
    has_momentum: u32,
    learning_rate: f32,
    momentum: f32,
    weight_decay: f32,
    // Adam: η/(1 − β₁ᵗ) and 1/√(1 − β₂ᵗ)
    step_size: f32,
    inv_sqrt_bias_correction2: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> value: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> first_moment: array<f32>;
@group(0) @binding(4) var<storage, read_write> second_moment: array<f32>;

// d = ∇θ + λθ; with momentum b ← μb + d (b = d on the first step), d = b (Nesterov: d + μb); θ ← θ − η d.
@compute @workgroup_size(256)
fn sgd(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if (i >= params.len) {
        return;
    }
    let theta = value[i];
    let d = grad[i] + params.weight_decay * theta;
    if (params.has_momentum == 0u) {
        value[i] = theta - params.learning_rate * d;
        return;
    }
    let b = select(params.momentum * first_moment[i] + d, d, params.first_step != 0u);
    first_moment[i] = b;
    let step = select(b, d + params.momentum * b, params.nesterov != 0u);
    value[i] = theta - params.learning_rate * step;
}

// g = ∇θ + λθ, m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − (η/(1 − β₁ᵗ)) · m/(√v/√(1 − β₂ᵗ) + ε).
@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if (i >= params.len) {
        return;
    }
    let theta = value[i];
    let g = grad[i] + params.weight_decay * theta;
    let m = params.beta1 * first_moment[i] + (1.0 - params.beta1) * g;
    let v = params.beta2 * second_moment[i] + (1.0 - params.beta2) * g * g;
    first_moment[i] = m;
    second_moment[i] = v;
    value[i] = theta - params.step_size * m / (sqrt(v) * params.inv_sqrt_bias_correction2 + params.eps);
}
