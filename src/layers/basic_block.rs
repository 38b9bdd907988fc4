//! torchvision's ResNet `BasicBlock`: two 3×3 convolutions with BatchNorm, added to a shortcut, then ReLU.
use ndarray::{Array2, ArrayView2};
use rand::Rng;

use super::{BatchNorm2d, Conv2d, Conv2dConfig, Layer, LinearInit, Mode, ParamView, Relu, StateTensor};
use crate::error::ConfigError;
use crate::kernels;
use crate::Scalar;

/// The shortcut's projection when the block changes the width or the resolution: a 1×1 convolution with the
/// block's stride, then BatchNorm (torchvision's `downsample`).
#[derive(Clone, Debug)]
pub struct Projection<T: Scalar> {
    pub conv: Conv2d<T>,
    pub batch_norm: BatchNorm2d<T>,
    /// `c = conv(x)`, `s = BN(c)` and `∂L/∂c`, `∂L/∂x` through the projection.
    projected: Array2<T>,
    shortcut: Array2<T>,
    grad_projected: Array2<T>,
    grad_input: Array2<T>,
}

/// A residual block (He et al. 2015) as torchvision's `BasicBlock`, on `C_in×H×W` images:
///
/// Forward: `a₁ = conv1(x)` (3×3, stride `s`, padding 1, no bias), `r₁ = ReLU(BN₁(a₁))`,
/// `a₂ = conv2(r₁)` (3×3, stride 1), `z = BN₂(a₂) + shortcut(x)`, `y = ReLU(z)`, where `shortcut(x) = x` when
/// the shape is kept, and `BN_d(conv_d(x))` (1×1, stride `s`) when the stride is not 1 or `C_out ≠ C_in`.
///
/// Backward, the chain rule through each step, the sum splitting `∂L/∂Z` into both branches:
/// `∂L/∂Z = ∂L/∂Y ∘ [y > 0]`; main branch `∂L/∂A₂ = BN₂.backward(∂L/∂Z)`, `∂L/∂R₁ = conv2.backward(∂L/∂A₂)`,
/// `∂L/∂A₁ = BN₁.backward(∂L/∂R₁ ∘ [r₁ > 0])`, `∂L/∂X = conv1.backward(∂L/∂A₁)`; plus the shortcut's
/// `∂L/∂Z` (identity) or `conv_d.backward(BN_d.backward(∂L/∂Z))` (projection), added to `∂L/∂X`.
#[derive(Clone, Debug)]
pub struct BasicBlock<T: Scalar> {
    pub conv1: Conv2d<T>,
    pub bn1: BatchNorm2d<T>,
    pub conv2: Conv2d<T>,
    pub bn2: BatchNorm2d<T>,
    pub projection: Option<Projection<T>>,
    /// Forward intermediates `a₁, BN₁(a₁), r₁, a₂, z` and backward ones, kept between passes.
    conv1_out: Array2<T>,
    bn1_out: Array2<T>,
    relu1_out: Array2<T>,
    conv2_out: Array2<T>,
    sum: Array2<T>,
    grad_sum: Array2<T>,
    grad_conv2_out: Array2<T>,
    grad_relu1_out: Array2<T>,
    grad_bn1_out: Array2<T>,
    grad_conv1_out: Array2<T>,
}

impl<T: Scalar> BasicBlock<T> {
    /// A block from `in_channels×height×width` to `out_channels` maps, `stride` 1 or 2.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        stride: usize,
        (height, width): (usize, usize),
        init: LinearInit,
        rng: &mut impl Rng,
    ) -> Result<Self, ConfigError> {
        let conv1 = Conv2dConfig::new(in_channels, out_channels, 3, (height, width))
            .with_stride(stride)
            .with_padding(1)
            .with_bias(false)
            .with_init(init);
        let conv1 = Conv2d::new(&conv1, rng)?;
        let size = (conv1.window().output_height(), conv1.window().output_width());
        let conv2 = Conv2dConfig::new(out_channels, out_channels, 3, size)
            .with_padding(1)
            .with_bias(false)
            .with_init(init);
        let conv2 = Conv2d::new(&conv2, rng)?;
        let projection = if stride != 1 || in_channels != out_channels {
            let conv = Conv2dConfig::new(in_channels, out_channels, 1, (height, width))
                .with_stride(stride)
                .with_bias(false)
                .with_init(init);
            Some(Projection {
                conv: Conv2d::new(&conv, rng)?,
                batch_norm: BatchNorm2d::new(out_channels)?,
                projected: Array2::zeros((0, 0)),
                shortcut: Array2::zeros((0, 0)),
                grad_projected: Array2::zeros((0, 0)),
                grad_input: Array2::zeros((0, 0)),
            })
        } else {
            None
        };
        let empty = || Array2::zeros((0, 0));
        Ok(Self {
            conv1,
            bn1: BatchNorm2d::new(out_channels)?,
            conv2,
            bn2: BatchNorm2d::new(out_channels)?,
            projection,
            conv1_out: empty(),
            bn1_out: empty(),
            relu1_out: empty(),
            conv2_out: empty(),
            sum: empty(),
            grad_sum: empty(),
            grad_conv2_out: empty(),
            grad_relu1_out: empty(),
            grad_bn1_out: empty(),
            grad_conv1_out: empty(),
        })
    }

    /// Output `(channels, height, width)`.
    pub fn output_shape(&self) -> (usize, usize, usize) {
        let window = self.conv2.window();
        (self.conv2.out_channels(), window.output_height(), window.output_width())
    }
}

impl<T: Scalar> Layer<T> for BasicBlock<T> {
    fn name(&self) -> String {
        let (c, _, _) = self.output_shape();
        let stride = self.conv1.window().stride;
        let shortcut = if self.projection.is_some() {
            "1×1 projection"
        } else {
            "identity"
        };
        format!(
            "BasicBlock({}→{c}, stride {stride}, {shortcut})",
            self.conv1.window().channels
        )
    }

    fn kind(&self) -> super::LayerKind {
        let norm = &self.bn1.per_channel;
        super::LayerKind::BasicBlock {
            conv1: *self.conv1.window(),
            conv2: *self.conv2.window(),
            out_channels: self.conv2.out_channels(),
            projection: self.projection.as_ref().map(|p| *p.conv.window()),
            momentum: norm.momentum.to_f64_lossy(),
            eps: norm.eps.to_f64_lossy(),
        }
    }

    fn output_features(&self, _input_features: usize) -> usize {
        let (c, h, w) = self.output_shape();
        c * h * w
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, mode: Mode) {
        // x: [N, C_in·H·W]; a₁, r₁, a₂, z, y: [N, C_out·OH·OW]
        self.conv1.forward(input, &mut self.conv1_out, mode);
        self.bn1.forward(self.conv1_out.view(), &mut self.bn1_out, mode);
        Relu.forward(self.bn1_out.view(), &mut self.relu1_out, mode);
        self.conv2.forward(self.relu1_out.view(), &mut self.conv2_out, mode);
        self.bn2.forward(self.conv2_out.view(), &mut self.sum, mode);
        // z = BN₂(a₂) + shortcut(x)
        match &mut self.projection {
            None => kernels::add_assign(self.sum.view_mut(), input),
            Some(p) => {
                p.conv.forward(input, &mut p.projected, mode);
                p.batch_norm.forward(p.projected.view(), &mut p.shortcut, mode);
                kernels::add_assign(self.sum.view_mut(), p.shortcut.view());
            }
        }
        Relu.forward(self.sum.view(), output, mode);
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        mut grad_input: Option<&mut Array2<T>>,
    ) {
        let relu: &mut dyn Layer<T> = &mut Relu;
        // ∂L/∂Z = ∂L/∂Y ∘ [y > 0]
        relu.backward(self.sum.view(), output, grad_output, Some(&mut self.grad_sum));
        // main branch: BN₂, conv2, ReLU, BN₁, conv1
        self.bn2.backward(
            self.conv2_out.view(),
            self.sum.view(),
            self.grad_sum.view(),
            Some(&mut self.grad_conv2_out),
        );
        self.conv2.backward(
            self.relu1_out.view(),
            self.conv2_out.view(),
            self.grad_conv2_out.view(),
            Some(&mut self.grad_relu1_out),
        );
        relu.backward(
            self.bn1_out.view(),
            self.relu1_out.view(),
            self.grad_relu1_out.view(),
            Some(&mut self.grad_bn1_out),
        );
        self.bn1.backward(
            self.conv1_out.view(),
            self.bn1_out.view(),
            self.grad_bn1_out.view(),
            Some(&mut self.grad_conv1_out),
        );
        self.conv1.backward(
            input,
            self.conv1_out.view(),
            self.grad_conv1_out.view(),
            grad_input.as_deref_mut(),
        );
        // shortcut: ∂L/∂X += ∂L/∂Z, or its path back through BN_d and conv_d
        match &mut self.projection {
            None => {
                if let Some(grad_input) = grad_input {
                    kernels::add_assign(grad_input.view_mut(), self.grad_sum.view());
                }
            }
            Some(p) => {
                p.batch_norm.backward(
                    p.projected.view(),
                    p.shortcut.view(),
                    self.grad_sum.view(),
                    Some(&mut p.grad_projected),
                );
                let want_input = grad_input.is_some();
                p.conv.backward(
                    input,
                    p.projected.view(),
                    p.grad_projected.view(),
                    want_input.then_some(&mut p.grad_input),
                );
                if let Some(grad_input) = grad_input {
                    kernels::add_assign(grad_input.view_mut(), p.grad_input.view());
                }
            }
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamView<'_, T>)) {
        self.conv1.visit_params(visit);
        self.bn1.visit_params(visit);
        self.conv2.visit_params(visit);
        self.bn2.visit_params(visit);
        if let Some(p) = &mut self.projection {
            p.conv.visit_params(visit);
            p.batch_norm.visit_params(visit);
        }
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&'static str, &mut [T])) {
        self.bn1.visit_buffers(visit);
        self.bn2.visit_buffers(visit);
        if let Some(p) = &mut self.projection {
            p.batch_norm.visit_buffers(visit);
        }
    }

    /// torchvision's names: `conv1`, `bn1`, `conv2`, `bn2`, `downsample.0` (conv), `downsample.1` (BN).
    fn visit_state(&mut self, visit: &mut dyn FnMut(StateTensor<'_, T>)) {
        self.conv1.visit_state(&mut |t| visit(t.within("conv1")));
        self.bn1.visit_state(&mut |t| visit(t.within("bn1")));
        self.conv2.visit_state(&mut |t| visit(t.within("conv2")));
        self.bn2.visit_state(&mut |t| visit(t.within("bn2")));
        if let Some(p) = &mut self.projection {
            p.conv.visit_state(&mut |t| visit(t.within("downsample.0")));
            p.batch_norm.visit_state(&mut |t| visit(t.within("downsample.1")));
        }
    }
}
