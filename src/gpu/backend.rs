//! Where training runs: the front ends' choice (`lab train --backend`, later the page's `Backend` control).

/// The CPU path (the reference: native SIMD through matrixmultiply, or WebAssembly SIMD in the page) or the
/// GPU through WebGPU ([`crate::gpu`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    #[default]
    Cpu,
    Gpu,
}
