// Element-wise activations and the skip connection's addition. The derivations are the CPU layers':
// layers/relu.rs, layers/elu.rs, layers/tanh.rs (∂L/∂X = ∂L/∂Y ∘ h′(X)), layers/preact_block.rs (y = x + F(x)).
// kind: 0 ReLU, 1 ELU, 2 Tanh.
struct Params {
    len: u32,
    kind: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> grad_y: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_x: array<f32>;

// y = h(x)
@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if (i >= params.len) {
        return;
    }
    let v = x[i];
    switch params.kind {
        case 0u: {
            y[i] = select(0.0, v, v > 0.0);
        }
        case 1u: {
            y[i] = select(exp(v) - 1.0, v, v > 0.0);
        }
        default: {
            // tanh(±15) is ±1 in f32; clamping keeps a driver's exp-based tanh from overflowing to NaN
            y[i] = tanh(clamp(v, -15.0, 15.0));
        }
    }
}

// ∂L/∂x = ∂L/∂y ∘ h′: ReLU [x > 0], ELU 1 or y + 1, Tanh 1 − y²
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if (i >= params.len) {
        return;
    }
    let v = x[i];
    let out = y[i];
    var derivative: f32;
    switch params.kind {
        case 0u: {
            derivative = select(0.0, 1.0, v > 0.0);
        }
        case 1u: {
            derivative = select(out + 1.0, 1.0, v > 0.0);
        }
        default: {
            derivative = 1.0 - out * out;
        }
    }
    grad_x[i] = grad_y[i] * derivative;
}

// y ← y + x (a skip connection, forward and backward)
@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if (i >= params.len) {
        return;
    }
    y[i] = y[i] + x[i];
}
