// Workgroup sums for the kernels with one workgroup of 256 threads per channel or row (batchnorm.wgsl,
// layernorm.wgsl): each thread writes its partial sums, then reduce_workgroup adds them up.
var<workgroup> partial: array<f32, 256>;
var<workgroup> partial_product: array<f32, 256>;

// Sums partial[] and partial_product[] of the workgroup into element 0 (a tree of halvings).
fn reduce_workgroup(thread: u32) {
    workgroupBarrier();
    for (var half = 128u; half > 0u; half >>= 1u) {
        if (thread < half) {
            partial[thread] += partial[thread + half];
            partial_product[thread] += partial_product[thread + half];
        }
        workgroupBarrier();
    }
}
