//! `F32x4`, the four-lane vector every micro-kernel computes with, in three builds:
//!
//! - **wasm32 with SIMD128** (the page's first module): a `v128` register; `mul_add` is a multiply, then an
//!   add (SIMD128 has no fused multiply-add);
//! - **wasm32 with the `relaxed-simd` feature** (the page's second module): the same, but `mul_add` is
//!   `f32x4.relaxed_madd`, which the engine may fuse;
//! - **everything else** (the native tests): a plain `[f32; 4]` with the same lane arithmetic as SIMD128, so
//!   the native tests check the logic the browser runs.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    /// Four f32 lanes in a WASM SIMD128 register.
    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self(f32x4_splat(0.0))
        }
        #[inline(always)]
        pub fn splat(value: f32) -> Self {
            Self(f32x4_splat(value))
        }
        /// # Safety
        /// `p..p + 4` must be readable.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            Self(v128_load(p as *const v128))
        }
        /// `*p` in every lane. # Safety: `p` must be readable.
        #[inline(always)]
        pub unsafe fn load_splat(p: *const f32) -> Self {
            Self(v128_load32_splat(p as *const u32))
        }
        /// # Safety
        /// `p..p + 4` must be writable.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        /// `self + a · b`, lane by lane: a multiply, then an add (SIMD128 has no fused multiply-add).
        #[cfg(not(feature = "relaxed-simd"))]
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        /// `self + a · b`, lane by lane: relaxed SIMD's `f32x4.relaxed_madd`, which the engine may fuse (one
        /// rounding, where the CPU has FMA) or not: results differ from the plain build's in the last bits.
        #[cfg(feature = "relaxed-simd")]
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(f32x4_relaxed_madd(a.0, b.0, self.0))
        }
        #[inline(always)]
        pub fn mul(self, b: Self) -> Self {
            Self(f32x4_mul(self.0, b.0))
        }
        #[inline(always)]
        pub fn to_array(self) -> [f32; 4] {
            [
                f32x4_extract_lane::<0>(self.0),
                f32x4_extract_lane::<1>(self.0),
                f32x4_extract_lane::<2>(self.0),
                f32x4_extract_lane::<3>(self.0),
            ]
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod plain {
    /// Four f32 lanes, one after the other: the same arithmetic as SIMD128, lane by lane.
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    impl F32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self([0.0; 4])
        }
        #[inline(always)]
        pub fn splat(value: f32) -> Self {
            Self([value; 4])
        }
        /// # Safety
        /// `p..p + 4` must be readable.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            Self(std::ptr::read_unaligned(p as *const [f32; 4]))
        }
        /// `*p` in every lane. # Safety: `p` must be readable.
        #[inline(always)]
        pub unsafe fn load_splat(p: *const f32) -> Self {
            Self([*p; 4])
        }
        /// # Safety
        /// `p..p + 4` must be writable.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            std::ptr::write_unaligned(p as *mut [f32; 4], self.0)
        }
        /// `self + a · b`, lane by lane: a multiply, then an add.
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
        }
        #[inline(always)]
        pub fn mul(self, b: Self) -> Self {
            Self(std::array::from_fn(|l| self.0[l] * b.0[l]))
        }
        #[inline(always)]
        pub fn to_array(self) -> [f32; 4] {
            self.0
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub use plain::F32x4;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128::F32x4;
