//! The WGSL sources of the kernels, each with `shaders/common.wgsl` in front (and, for the normalisations,
//! `shaders/reduction.wgsl`: WGSL has no includes, so shared pieces are concatenated here).
macro_rules! shader {
    ($($file:literal),+) => {
        concat!(
            include_str!("shaders/common.wgsl"),
            $(include_str!(concat!("shaders/", $file))),+
        )
    };
}

pub const GEMM: &str = shader!("gemm.wgsl");
pub const ELEMENTWISE: &str = shader!("elementwise.wgsl");
pub const SOFTMAX_CROSS_ENTROPY: &str = shader!("softmax_cross_entropy.wgsl");
pub const BATCHNORM: &str = shader!("reduction.wgsl", "batchnorm.wgsl");
pub const LAYERNORM: &str = shader!("reduction.wgsl", "layernorm.wgsl");
pub const POOLING: &str = shader!("pooling.wgsl");
pub const OPTIMIZER: &str = shader!("optimizer.wgsl");
pub const NORMS: &str = shader!("reduction.wgsl", "norms.wgsl");

/// Every kernel source by name, for tests that compile them all.
pub const ALL: [(&str, &str); 8] = [
    ("gemm", GEMM),
    ("elementwise", ELEMENTWISE),
    ("softmax_cross_entropy", SOFTMAX_CROSS_ENTROPY),
    ("batchnorm", BATCHNORM),
    ("layernorm", LAYERNORM),
    ("pooling", POOLING),
    ("optimizer", OPTIMIZER),
    ("norms", NORMS),
];
