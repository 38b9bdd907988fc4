// Prepended to every kernel of the lab (see gpu/kernel.rs).

// The flat index of a thread in a grid of 256-thread workgroups folded into two dimensions (kernel.rs `grid`).
fn flat_index(id: vec3<u32>, groups: vec3<u32>) -> u32 {
    return id.x + id.y * groups.x * 256u;
}

// The flat index of a workgroup when each workgroup handles one item (kernel.rs `workgroup_grid`).
fn flat_group(group: vec3<u32>, groups: vec3<u32>) -> u32 {
    return group.x + group.y * groups.x;
}
