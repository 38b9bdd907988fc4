// Sums of squares per parameter tensor for the page's norm curves (train/norms.rs: ‖∂L/∂θ‖₂ and ‖θ‖₂ of each
// layer, its tensors taken together; the square roots and the per-layer sums are taken on the CPU, in f64).
struct Params {
    tensors: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> value: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
// Each tensor's offset and length in `value` and `grad`.
@group(0) @binding(3) var<storage, read> ranges: array<u32>;
// Per tensor: Σ (∂L/∂θ)², then Σ θ².
@group(0) @binding(4) var<storage, read_write> squares: array<f32>;

// One workgroup per tensor; each thread strides over its values, then the workgroup adds the partial sums.
@compute @workgroup_size(256)
fn squares_per_tensor(@builtin(local_invocation_index) thread: u32, @builtin(workgroup_id) group: vec3<u32>,
                      @builtin(num_workgroups) groups: vec3<u32>) {
    let tensor = flat_group(group, groups);
    if (tensor >= params.tensors) {
        return;
    }
    let offset = ranges[2u * tensor];
    let len = ranges[2u * tensor + 1u];
    var grad_sum = 0.0;
    var value_sum = 0.0;
    for (var i = thread; i < len; i += 256u) {
        let g = grad[offset + i];
        let v = value[offset + i];
        grad_sum += g * g;
        value_sum += v * v;
    }
    partial[thread] = grad_sum;
    partial_product[thread] = value_sum;
    reduce_workgroup(thread);
    if (thread == 0u) {
        squares[2u * tensor] = partial[0];
        squares[2u * tensor + 1u] = partial_product[0];
    }
}
