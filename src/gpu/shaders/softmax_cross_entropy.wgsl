// The fused softmax–cross-entropy of loss/softmax_cross_entropy.rs (the derivation is there):
// L_s = logsumexp(z_s) − z_s[t_s] and ∂L/∂Z = (softmax(Z) − T)/S. The batch's loss and number of correct
// predictions are reduced on the GPU into `metrics`, so no step waits for a readback:
// - training (mode 0): metrics[0] counts steps (a u32); step t writes its batch loss to metrics[2 + t % RING]
//   and its correct predictions to metrics[2 + RING + t % RING];
// - evaluation (mode 1): metrics[0] += Σ_s L_s, metrics[1] += correct predictions (f32 sums).
const RING: u32 = 64u;

struct Params {
    rows: u32,
    classes: u32,
    mode: u32,
    write_gradient: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> grad_logits: array<f32>;
@group(0) @binding(4) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> row_correct: array<f32>;
@group(0) @binding(6) var<storage, read_write> metrics: array<f32>;

// One thread per row: its loss, whether its largest logit is the target (the first maximum, as
// kernels::argmax_rows), and its row of ∂L/∂Z.
@compute @workgroup_size(256)
fn rows(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let s = flat_index(id, groups);
    if (s >= params.rows) {
        return;
    }
    let start = s * params.classes;
    let target_class = targets[s];
    var max_value = logits[start];
    var best = 0u;
    for (var j = 1u; j < params.classes; j++) {
        let v = logits[start + j];
        if (v > max_value) {
            max_value = v;
            best = j;
        }
    }
    var sum = 0.0;
    for (var j = 0u; j < params.classes; j++) {
        sum += exp(logits[start + j] - max_value);
    }
    row_loss[s] = max_value + log(sum) - logits[start + target_class];
    row_correct[s] = select(0.0, 1.0, best == target_class);
    if (params.write_gradient != 0u) {
        let inv_batch = 1.0 / f32(params.rows);
        for (var j = 0u; j < params.classes; j++) {
            let probability = exp(logits[start + j] - max_value) / sum;
            grad_logits[start + j] = probability * inv_batch - select(0.0, inv_batch, j == target_class);
        }
    }
}

var<workgroup> loss_partial: array<f32, 256>;
var<workgroup> correct_partial: array<f32, 256>;

// One workgroup: sums the rows' losses and correct predictions into `metrics`.
@compute @workgroup_size(256)
fn reduce(@builtin(local_invocation_index) thread: u32) {
    var loss = 0.0;
    var correct = 0.0;
    for (var s = thread; s < params.rows; s += 256u) {
        loss += row_loss[s];
        correct += row_correct[s];
    }
    loss_partial[thread] = loss;
    correct_partial[thread] = correct;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half >>= 1u) {
        if (thread < half) {
            loss_partial[thread] += loss_partial[thread + half];
            correct_partial[thread] += correct_partial[thread + half];
        }
        workgroupBarrier();
    }
    if (thread == 0u) {
        if (params.mode == 0u) {
            let step = bitcast<u32>(metrics[0]);
            metrics[2u + step % RING] = loss_partial[0] / f32(params.rows);
            metrics[2u + RING + step % RING] = correct_partial[0];
            metrics[0] = bitcast<f32>(step + 1u);
        } else {
            metrics[0] += loss_partial[0];
            metrics[1] += correct_partial[0];
        }
    }
}
