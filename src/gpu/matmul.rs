//! Matrix products on the GPU (`shaders/gemm.wgsl`): dense products for linear layers and the implicit
//! GEMMs of a convolution, tiled through workgroup memory, with a split-K variant for small outputs.
use super::buffers::Tensor;
use super::kernel::{grid, Dispatch, Library};
use super::shaders;
use super::{GpuContext, GpuError};
use crate::kernels::SlidingWindow;

/// The output tile of one workgroup (`TILE` in the shader).
pub const TILE: usize = 32;

/// What the product's operands are (`operands` in the shader).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operands {
    /// `C [M, N] = op(A) · op(B) (+ bias[col])` with `A`, `B` stored row-major, transposed as asked.
    Dense { transpose_a: bool, transpose_b: bool },
    /// `Y = W · cols(X) + b`: `A = W [C_out, C_in·k·k]`, `B = X [N, C_in·H·W]`, `C = Y [N, C_out·OH·OW]`.
    ConvForward {
        window: SlidingWindow,
        out_channels: usize,
        batch: usize,
    },
    /// `∂L/∂W = ∂L/∂Y · cols(X)ᵀ`: `A = ∂L/∂Y`, `B = X`, `C = ∂L/∂W [C_out, C_in·k·k]`.
    ConvWeightGradient {
        window: SlidingWindow,
        out_channels: usize,
        batch: usize,
    },
    /// `∂L/∂X` gathered from `∂L/∂Y` through `W`: `A = W`, `B = ∂L/∂Y`, `C = ∂L/∂X [N, C_in·H·W]`.
    ConvInputGradient {
        window: SlidingWindow,
        out_channels: usize,
        batch: usize,
    },
}

impl Operands {
    /// `(M, N, K)` of the product, for dense operands `dims` itself.
    fn shape(&self, dims: (usize, usize, usize)) -> (usize, usize, usize) {
        match *self {
            Operands::Dense { .. } => dims,
            Operands::ConvForward {
                window,
                out_channels,
                batch,
            } => (out_channels, batch * window.positions(), window.patch_len()),
            Operands::ConvWeightGradient {
                window,
                out_channels,
                batch,
            } => (out_channels, window.patch_len(), batch * window.positions()),
            Operands::ConvInputGradient {
                window,
                out_channels,
                batch,
            } => (
                window.channels,
                batch * window.height * window.width,
                out_channels * window.kernel * window.kernel,
            ),
        }
    }

    fn code(&self) -> u32 {
        match self {
            Operands::Dense { .. } => 0,
            Operands::ConvForward { .. } => 1,
            Operands::ConvWeightGradient { .. } => 2,
            Operands::ConvInputGradient { .. } => 3,
        }
    }

    fn geometry(&self) -> [u32; 9] {
        match *self {
            Operands::Dense { .. } => [0; 9],
            Operands::ConvForward {
                window: w,
                out_channels,
                ..
            }
            | Operands::ConvWeightGradient {
                window: w,
                out_channels,
                ..
            }
            | Operands::ConvInputGradient {
                window: w,
                out_channels,
                ..
            } => [
                w.channels,
                w.height,
                w.width,
                w.kernel,
                w.stride,
                w.padding,
                w.output_height(),
                w.output_width(),
                out_channels,
            ]
            .map(|v| v as u32),
        }
    }
}

/// How many parts the sum over `K` is split into: enough workgroups to fill a GPU (about 256) when the
/// output has few tiles, each part at least 128 long; 1 when the output alone has enough tiles.
pub fn split_count(m: usize, n: usize, k: usize) -> usize {
    let tiles = m.div_ceil(TILE) * n.div_ceil(TILE);
    if tiles >= 64 {
        return 1;
    }
    (256 / tiles).min(k / 128).clamp(1, 64)
}

/// A product bound to its buffers: one dispatch, or two with split-K (partial tiles, then their sum).
pub struct Gemm {
    pub dispatches: Vec<Dispatch>,
    /// The split-K partial sums (a placeholder when there is one split) and the bias placeholder.
    _scratch: [Tensor; 2],
}

/// The buffers of a product: `a`, `b`, `c` and an optional bias, as bindings.
pub struct GemmBuffers<'a> {
    pub a: wgpu::BindingResource<'a>,
    pub b: wgpu::BindingResource<'a>,
    pub c: wgpu::BindingResource<'a>,
    pub bias: Option<wgpu::BindingResource<'a>>,
}

impl Gemm {
    /// Its dispatches and the buffers they need kept alive.
    pub fn into_parts(self) -> (Vec<Dispatch>, [Tensor; 2]) {
        (self.dispatches, self._scratch)
    }

    /// Binds a product of `operands` (`dims = (M, N, K)` for dense operands; convolutions infer it).
    pub fn new(
        library: &mut Library,
        context: &GpuContext,
        operands: Operands,
        dims: (usize, usize, usize),
        buffers: GemmBuffers<'_>,
    ) -> Result<Self, GpuError> {
        let (m, n, k) = operands.shape(dims);
        let (row_tiles, col_tiles) = (m.div_ceil(TILE), n.div_ceil(TILE));
        if row_tiles > 65_535 || col_tiles > 65_535 {
            return Err(GpuError::TooLarge(format!(
                "a {m}×{n} product needs more than 65,535 tiles in one dimension"
            )));
        }
        let splits = split_count(m, n, k);
        let k_per_split = k.div_ceil(splits).div_ceil(TILE) * TILE;
        let splits = k.div_ceil(k_per_split.max(1)).max(1);
        let flags = match operands {
            Operands::Dense {
                transpose_a,
                transpose_b,
            } => u32::from(transpose_a) | (u32::from(transpose_b) << 1),
            _ => 0,
        } | (u32::from(buffers.bias.is_some()) << 2);
        let mut params = vec![
            m as u32,
            n as u32,
            k as u32,
            operands.code(),
            flags,
            splits as u32,
            k_per_split as u32,
            0,
        ];
        params.extend(operands.geometry());
        let partial = Tensor::zeros(
            context,
            if splits > 1 { splits * m * n } else { 1 },
            "gemm partial sums",
        );
        // WebGPU has no optional bindings: an unused one-value buffer stands in for a missing bias
        let placeholder = Tensor::zeros(context, 1, "no bias");
        let bias = buffers.bias.clone().unwrap_or_else(|| placeholder.binding());
        let source = shaders::GEMM;
        let mut dispatches = vec![library.dispatch(
            context,
            "gemm",
            source,
            "tiled",
            &params,
            &[
                (1, buffers.a),
                (2, buffers.b),
                (3, buffers.c.clone()),
                (4, bias.clone()),
                (5, partial.binding()),
            ],
            (col_tiles as u32, row_tiles as u32, splits as u32),
        )?];
        if splits > 1 {
            dispatches.push(library.dispatch(
                context,
                "gemm",
                source,
                "reduce_splits",
                &params,
                &[(3, buffers.c), (4, bias), (5, partial.binding())],
                grid(m * n),
            )?);
        }
        Ok(Self {
            dispatches,
            _scratch: [partial, placeholder],
        })
    }
}
