//! Which of the page's two WebAssembly modules this is, written into the module itself: a custom section
//! `backprop-lab-simd` holding `relaxed-simd` (built with the `relaxed-simd` feature: the GEMM micro-kernels
//! multiply-add with `f32x4.relaxed_madd`) or `simd128`. scripts/stamp-build.mjs checks that each file of a
//! build says what its name promises, and www/load-module.js that the module it chose is that one, so a build
//! that mixed up the two (they share cargo's output path) fails loudly instead of running the wrong code.
#[cfg(feature = "relaxed-simd")]
#[used]
#[link_section = "backprop-lab-simd"]
static SIMD_KIND: [u8; 12] = *b"relaxed-simd";

#[cfg(not(feature = "relaxed-simd"))]
#[used]
#[link_section = "backprop-lab-simd"]
static SIMD_KIND: [u8; 7] = *b"simd128";
