//! Layout changes between channel-major samples (NCHW, the lab's activations, `[N, C·P]`) and a group of
//! samples side by side per channel (`[C, N·P]`), the layout of a convolution's GEMM.
use ndarray::{s, ArrayView1, ArrayView2, ArrayViewMut2};

use crate::Scalar;

/// `maps[c, g·P + p] ← x[g, c·P + p]`: the samples of a group side by side per channel, the layout of a
/// convolution's GEMM over a group of samples.
///
/// Shapes: `x: [G, C·P]`, `maps: [C, G·P]`.
pub fn samples_to_channel_major<T: Scalar>(x: ArrayView2<'_, T>, mut maps: ArrayViewMut2<'_, T>) {
    let (channels, columns) = maps.dim();
    let pixels = columns / x.nrows().max(1);
    debug_assert_eq!(x.ncols(), channels * pixels, "samples_to_channel_major: sample size");
    for (g, sample) in x.rows().into_iter().enumerate() {
        let image = sample
            .into_shape_with_order((channels, pixels))
            .expect("a sample is C·P features");
        maps.slice_mut(s![.., g * pixels..(g + 1) * pixels]).assign(&image);
    }
}

/// The inverse of [`samples_to_channel_major`], adding `bias[c]` to every pixel of channel `c` on the way:
/// `x[g, c·P + p] ← maps[c, g·P + p] + bias[c]`.
///
/// Shapes: `maps: [C, G·P]`, `bias: [C]`, `x: [G, C·P]`.
pub fn channel_major_to_samples<T: Scalar>(
    maps: ArrayView2<'_, T>,
    bias: Option<ArrayView1<'_, T>>,
    mut x: ArrayViewMut2<'_, T>,
) {
    let (channels, columns) = maps.dim();
    let pixels = columns / x.nrows().max(1);
    debug_assert_eq!(x.ncols(), channels * pixels, "channel_major_to_samples: sample size");
    for (g, sample) in x.rows_mut().into_iter().enumerate() {
        let mut image = sample
            .into_shape_with_order((channels, pixels))
            .expect("a sample is C·P features");
        let group = maps.slice(s![.., g * pixels..(g + 1) * pixels]);
        match bias {
            Some(bias) => ndarray::Zip::from(image.rows_mut())
                .and(group.rows())
                .and(&bias)
                .for_each(|mut out, maps, &b| out.zip_mut_with(&maps, |o, &m| *o = m + b)),
            None => image.assign(&group),
        }
    }
}
