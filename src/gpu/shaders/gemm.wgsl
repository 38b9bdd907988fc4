// Matrix products C = A · B (+ bias), tiled through workgroup memory: each 8×8 workgroup computes a 32×32
// tile of C, each thread a 4×4 block from vec4 reads of the shared A and B tiles. With `splits` > 1 the
// K range is split over workgroups (z) that write partial tiles, which `reduce_splits` adds in order:
// the variant for small outputs with long sums (a convolution's ∂L/∂W, a 100→10 layer).
//
// The operands are read through load_a / load_b and the result written through store_c, so a
// convolution is the same product with im2col computed on the fly (implicit GEMM, never stored):
// - 0 dense: A [M, K] (or Aᵀ stored [K, M]), B [K, N] (or Bᵀ stored [N, K]), C [M, N] + bias[col];
// - 1 conv forward (layers/conv2d.rs): Y = W · cols(X) + b, M = C_out, N = batch·OH·OW, K = C_in·k·k;
// - 2 conv ∂L/∂W = ∂L/∂Y · cols(X)ᵀ: M = C_out, N = C_in·k·k, K = batch·OH·OW;
// - 3 conv ∂L/∂X: every pixel gathers Σ W[c_out, c_in, ki, kj] · ∂L/∂Y[c_out, oi, oj] over the windows
//   (oi, oj) that read it at offset (ki, kj): col2im(Wᵀ · ∂L/∂Y) written as a product, M = C_in,
//   N = batch·H·W, K = C_out·k·k.
struct Params {
    m: u32,
    n: u32,
    k: u32,
    operands: u32,
    // 1: A transposed, 2: B transposed, 4: add the bias
    flags: u32,
    splits: u32,
    k_per_split: u32,
    unused: u32,
    // the convolution's geometry (operands 1–3)
    channels: u32,
    height: u32,
    width: u32,
    kernel: u32,
    stride: u32,
    padding: u32,
    out_height: u32,
    out_width: u32,
    out_channels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

// cols(X)[r, col] with r = (c_in, ki, kj) and col = (n, oi, oj): the input pixel the window at (oi, oj)
// reads at offset (ki, kj), 0 on the padding. X is binding b.
fn window_value(r: u32, col: u32) -> f32 {
    let positions = params.out_height * params.out_width;
    let n = col / positions;
    let oi = (col % positions) / params.out_width;
    let oj = col % params.out_width;
    let kk = params.kernel * params.kernel;
    let ci = r / kk;
    let ki = (r % kk) / params.kernel;
    let kj = r % params.kernel;
    let i = i32(oi * params.stride + ki) - i32(params.padding);
    let j = i32(oj * params.stride + kj) - i32(params.padding);
    if (i < 0 || j < 0 || i >= i32(params.height) || j >= i32(params.width)) {
        return 0.0;
    }
    return b[((n * params.channels + ci) * params.height + u32(i)) * params.width + u32(j)];
}

fn load_a(row: u32, k: u32) -> f32 {
    switch params.operands {
        case 2u: {
            // ∂L/∂Y [N, C_out·P] seen as [C_out, N·P]
            let positions = params.out_height * params.out_width;
            return a[((k / positions) * params.out_channels + row) * positions + k % positions];
        }
        case 3u: {
            // A[c_in, (c_out, ki, kj)] = W[c_out, c_in, ki, kj]
            let kk = params.kernel * params.kernel;
            return a[((k / kk) * params.channels + row) * kk + k % kk];
        }
        default: {
            if ((params.flags & 1u) != 0u) {
                return a[k * params.m + row];
            }
            return a[row * params.k + k];
        }
    }
}

fn load_b(k: u32, col: u32) -> f32 {
    switch params.operands {
        case 1u: {
            return window_value(k, col);
        }
        case 2u: {
            return window_value(col, k);
        }
        case 3u: {
            // ∂L/∂Y[n, c_out, oi, oj] for the window (oi, oj) that reads pixel col = (n, i, j) at offset
            // k = (c_out, ki, kj), if there is one: oi·s = i + p − ki
            let kk = params.kernel * params.kernel;
            let co = k / kk;
            let ki = (k % kk) / params.kernel;
            let kj = k % params.kernel;
            let pixels = params.height * params.width;
            let n = col / pixels;
            let i = (col % pixels) / params.width;
            let j = col % params.width;
            let si = i32(i + params.padding) - i32(ki);
            let sj = i32(j + params.padding) - i32(kj);
            let s = i32(params.stride);
            if (si < 0 || sj < 0 || si % s != 0 || sj % s != 0) {
                return 0.0;
            }
            let oi = u32(si / s);
            let oj = u32(sj / s);
            if (oi >= params.out_height || oj >= params.out_width) {
                return 0.0;
            }
            return b[((n * params.out_channels + co) * params.out_height + oi) * params.out_width + oj];
        }
        default: {
            if ((params.flags & 2u) != 0u) {
                return b[col * params.k + k];
            }
            return b[k * params.n + col];
        }
    }
}

fn store_c(row: u32, col: u32, value: f32) {
    let has_bias = (params.flags & 4u) != 0u;
    switch params.operands {
        case 1u: {
            // Y[n, c_out, position] = (W · cols(X))[c_out, (n, position)] + b[c_out]
            let positions = params.out_height * params.out_width;
            let index = ((col / positions) * params.out_channels + row) * positions + col % positions;
            c[index] = select(value, value + bias[row], has_bias);
        }
        case 3u: {
            let pixels = params.height * params.width;
            c[((col / pixels) * params.channels + row) * pixels + col % pixels] = value;
        }
        default: {
            c[row * params.n + col] = select(value, value + bias[col], has_bias);
        }
    }
}

const TILE: u32 = 32u;
// [kk][row / 4] and [kk][col / 4]: four consecutive rows (columns) of one k in a vec4
var<workgroup> tile_a: array<vec4<f32>, 256>;
var<workgroup> tile_b: array<vec4<f32>, 256>;

@compute @workgroup_size(8, 8)
fn tiled(@builtin(local_invocation_id) local: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
    let row0 = group.y * TILE;
    let col0 = group.x * TILE;
    let k_begin = group.z * params.k_per_split;
    let k_end = min(k_begin + params.k_per_split, params.k);
    let thread = local.y * 8u + local.x;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = k_begin; k0 < k_end; k0 += TILE) {
        // 64 threads load the 32×32 values of each tile, 16 each
        for (var e = 0u; e < 16u; e++) {
            let index = e * 64u + thread;
            let r = index % TILE;
            let kk = index / TILE;
            var va = 0.0;
            var vb = 0.0;
            if (k0 + kk < k_end) {
                if (row0 + r < params.m) {
                    va = load_a(row0 + r, k0 + kk);
                }
                if (col0 + r < params.n) {
                    vb = load_b(k0 + kk, col0 + r);
                }
            }
            tile_a[kk * 8u + r / 4u][r % 4u] = va;
            tile_b[kk * 8u + r / 4u][r % 4u] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE; kk++) {
            let va = tile_a[kk * 8u + local.y];
            let vb = tile_b[kk * 8u + local.x];
            acc[0] += va.x * vb;
            acc[1] += va.y * vb;
            acc[2] += va.z * vb;
            acc[3] += va.w * vb;
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + local.y * 4u + i;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + local.x * 4u + j;
            if (row < params.m && col < params.n) {
                if (params.splits > 1u) {
                    partial[(group.z * params.m + row) * params.n + col] = acc[i][j];
                } else {
                    store_c(row, col, acc[i][j]);
                }
            }
        }
    }
}

// One thread per output: adds the splits' partial sums in order and stores the result.
@compute @workgroup_size(256)
fn reduce_splits(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    if (index >= params.m * params.n) {
        return;
    }
    var sum = 0.0;
    for (var s = 0u; s < params.splits; s++) {
        sum += partial[s * params.m * params.n + index];
    }
    store_c(index / params.n, index % params.n, sum);
}
