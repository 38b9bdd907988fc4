//! The convolutional layers: Conv2d, max pooling, global average pooling and the pre-activation block.
use super::Formulas;

/// `n,o,i,j`.
macro_rules! noij {
    () => {
        idx!("<mi>n</mi>", "<mi>o</mi>", "<mi>i</mi>", "<mi>j</mi>")
    };
}
/// `W_mat`, the weights seen as a `C_out × (C_in·k·k)` matrix.
macro_rules! w_mat {
    () => {
        "<msub><mi>W</mi><mtext>mat</mtext></msub>"
    };
}

/// `x_{pad; n, c, s·i+u, s·j+v}`: entry `(u, v)` of output `(i, j)`'s window in the padded input `x` (a literal).
macro_rules! window_entry {
    ($x:literal) => {
        sub!(
            $x,
            concat!(
                "<mrow><mtext>pad</mtext><mo>;</mo>",
                idx!(
                    "<mi>n</mi>",
                    "<mi>c</mi>",
                    "<mrow><mi>s</mi><mi>i</mi><mo>+</mo><mi>u</mi></mrow>",
                    "<mrow><mi>s</mi><mi>j</mi><mo>+</mo><mi>v</mi></mrow>"
                ),
                "</mrow>"
            )
        )
    };
}

/// 2-D convolution lowered to a matrix product with im2col.
pub(super) fn conv2d() -> Formulas {
    Formulas {
        summary: "Slides C_out learned k×k filters over the (zero-padded) input channels with stride s, each \
                  producing one output feature map.",
        forward: math!(lines!(
            concat!(
                sub!("Y", noij!()),
                "<mo>=</mo>",
                sub!("b", "<mi>o</mi>"),
                "<mo>+</mo>",
                sum_over!(idx!("<mi>c</mi>", "<mi>u</mi>", "<mi>v</mi>")),
                sub!("W", idx!("<mi>o</mi>", "<mi>c</mi>", "<mi>u</mi>", "<mi>v</mi>")),
                "<mo>⋅</mo>",
                window_entry!("X")
            ),
            concat!(
                sub!("Y", "<mi>n</mi>"),
                "<mo>=</mo>",
                w_mat!(),
                "<mi>col</mi>",
                paren!(sub!("X", "<mi>n</mi>")),
                "<mo>+</mo><mi>b</mi>",
                tr!(ones!())
            ),
            concat!(
                sub!("H", "<mtext>out</mtext>"),
                "<mo>=</mo><mrow><mo>⌊</mo>",
                frac!(
                    "<mi>H</mi><mo>+</mo><mn>2</mn><mi>p</mi><mo>−</mo><mi>k</mi>",
                    "<mi>s</mi>"
                ),
                "<mo>⌋</mo></mrow><mo>+</mo><mn>1</mn>"
            )
        )),
        backward: vec![
            math!(
                dl!(sub!("X", "<mi>n</mi>")),
                "<mo>=</mo><mi>col2im</mi>",
                paren!(tr!(w_mat!()), dl!(sub!("Y", "<mi>n</mi>")))
            ),
            math!(
                dl!(w_mat!()),
                "<mo>=</mo>",
                sum_over!("<mi>n</mi>"),
                dl!(sub!("Y", "<mi>n</mi>")),
                "<mo>⋅</mo><mi>col</mi>",
                tr!(paren!(sub!("X", "<mi>n</mi>")))
            ),
            math!(
                dl!(sub!("b", "<mi>o</mi>")),
                "<mo>=</mo>",
                sum_over!(idx!("<mi>n</mi>", "<mi>i</mi>", "<mi>j</mi>")),
                dl!(sub!("Y", noij!()))
            ),
        ],
        notes: "A cross-correlation, as in PyTorch. W is C_out×C_in×k×k, seen as the C_out×(C_in·k·k) matrix W_mat; \
                col(Xₙ) (im2col) is the (C_in·k·k)×(H_out·W_out) matrix whose columns are the windows of the padded \
                sample, so Yₙ is C_out×(H_out·W_out). col2im puts each window entry's gradient back on the pixel it \
                was read from, adding up the contributions of overlapping windows. W_out is computed like H_out.",
    }
}

/// Max pooling over `k × k` windows.
pub(super) fn max_pool_2d() -> Formulas {
    Formulas {
        summary: "Keeps the largest value of every k×k window (stride s) of each channel.",
        forward: math!(lines!(
            concat!(
                sub!("y", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>i</mi>", "<mi>j</mi>")),
                "<mo>=</mo><munder><mo>max</mo><mrow><mn>0</mn><mo>≤</mo><mi>u</mi><mo>,</mo><mi>v</mi>",
                "<mo>&lt;</mo><mi>k</mi></mrow></munder>",
                window_entry!("x")
            ),
            concat!(
                sub!("x", "<mtext>pad</mtext>"),
                "<mo>=</mo><mo>−</mo><mi>∞</mi><mtext> outside the image</mtext>"
            )
        )),
        backward: vec![math!(
            dl!(sub!("x", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>p</mi>"))),
            "<mo>=</mo>",
            sum_over!(concat!(
                idx!("<mi>i</mi>", "<mi>j</mi>"),
                "<mo>:</mo><mi>argmax</mi>",
                paren!("<mi>i</mi><mo>,</mo><mi>j</mi>"),
                "<mo>=</mo><mi>p</mi>"
            )),
            dl!(sub!("y", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>i</mi>", "<mi>j</mi>")))
        )],
        notes: "The maximum is locally the identity of its argmax and constant in the other inputs, so each output's \
                gradient is routed to the position p of its window's maximum (ties go to the first), summed where \
                overlapping windows share a maximum, and every other input gets 0. The padding is −∞, so it is never \
                the maximum. Output size ⌊(H + 2p − k)/s⌋ + 1.",
    }
}

/// Global average pooling over each channel's feature map.
pub(super) fn global_avg_pool() -> Formulas {
    Formulas {
        summary: "Reduces each channel's H×W feature map to its mean, one number per channel.",
        forward: math!(
            sub!("y", idx!("<mi>n</mi>", "<mi>c</mi>")),
            "<mo>=</mo>",
            frac!("<mn>1</mn>", "<mi>H</mi><mi>W</mi>"),
            sum!("<mi>h</mi><mo>=</mo><mn>1</mn>", "<mi>H</mi>"),
            sum!("<mi>w</mi><mo>=</mo><mn>1</mn>", "<mi>W</mi>"),
            sub!("x", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>h</mi>", "<mi>w</mi>"))
        ),
        backward: vec![math!(
            dl!(sub!("x", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>h</mi>", "<mi>w</mi>"))),
            "<mo>=</mo>",
            frac!("<mn>1</mn>", "<mi>H</mi><mi>W</mi>"),
            dl!(sub!("y", idx!("<mi>n</mi>", "<mi>c</mi>")))
        )],
        notes: "Input N×C×H×W, output N×C. Every pixel contributes with weight 1/(HW), so the gradient of each output \
                is spread evenly over its H×W pixels (broadcast).",
    }
}

/// The pre-activation residual block.
pub(super) fn pre_act() -> Formulas {
    Formulas {
        summary: "A pre-activation residual block: batch norm, ReLU and a same-size convolution, added to the \
                  block's input by a skip connection.",
        forward: math!(lines!(
            concat!(
                "<mi>y</mi><mo>=</mo><mi>x</mi><mo>+</mo><mi>Conv</mi>",
                paren!("<mi>ReLU</mi>", paren!("<mi>BN</mi>", paren!("<mi>x</mi>")))
            ),
            concat!(
                "<mi>a</mi><mo>=</mo><mi>BN</mi>",
                paren!("<mi>x</mi>"),
                gap!(),
                "<mi>r</mi><mo>=</mo><mi>ReLU</mi>",
                paren!("<mi>a</mi>"),
                gap!(),
                "<mi>y</mi><mo>=</mo><mi>x</mi><mo>+</mo><mi>Conv</mi>",
                paren!("<mi>r</mi>")
            )
        )),
        backward: vec![
            math!(
                dl!("<mi>r</mi>"),
                "<mo>=</mo><mi>col2im</mi>",
                paren!(tr!(w_mat!()), dl!("<mi>y</mi>"))
            ),
            math!(
                dl!("<mi>a</mi>"),
                "<mo>=</mo>",
                dl!("<mi>r</mi>"),
                "<mo>∘</mo><mrow><mo>[</mo><mi>a</mi><mo>&gt;</mo><mn>0</mn><mo>]</mo></mrow>"
            ),
            math!(
                dl!("<mi>x</mi>"),
                "<mo>=</mo>",
                dl!("<mi>y</mi>"),
                "<mo>+</mo>",
                tr!(paren!(frac!("<mo>∂</mo><mi>a</mi>", "<mo>∂</mo><mi>x</mi>"))),
                dl!("<mi>a</mi>")
            ),
        ],
        notes: "The chain rule through Conv (k×k, stride 1, padding (k − 1)/2, so the shape is kept), ReLU (the \
                bracket in ∂L/∂a is 1 where a is positive, 0 elsewhere) and BatchNorm2d, whose transposed \
                Jacobian applied to ∂L/∂a is the BatchNorm2d ∂L/∂x formula. The skip connection's Jacobian is the \
                identity, so ∂L/∂y is added unchanged. The parameter gradients are those of the BN (γ, β, from \
                ∂L/∂a) and of the Conv (W, b, from ∂L/∂y).",
    }
}

/// torchvision's ResNet `BasicBlock`.
pub(super) fn basic_block() -> Formulas {
    Formulas {
        summary: "A ResNet block: two 3×3 convolutions, each followed by batch norm, the first also by ReLU; their \
                  result is added to the shortcut (the input itself, or a 1×1 convolution and batch norm when the \
                  block changes width or resolution), then passed through ReLU.",
        forward: math!(lines!(
            concat!(
                sub!("a", "<mn>1</mn>"),
                "<mo>=</mo>",
                sub!("Conv", "<mn>1</mn>"),
                paren!("<mi>x</mi>"),
                gap!(),
                sub!("r", "<mn>1</mn>"),
                "<mo>=</mo><mi>ReLU</mi>",
                paren!(sub!("BN", "<mn>1</mn>"), paren!(sub!("a", "<mn>1</mn>")))
            ),
            concat!(
                "<mi>z</mi><mo>=</mo>",
                sub!("BN", "<mn>2</mn>"),
                paren!(sub!("Conv", "<mn>2</mn>"), paren!(sub!("r", "<mn>1</mn>"))),
                "<mo>+</mo><mi>shortcut</mi>",
                paren!("<mi>x</mi>"),
                gap!(),
                "<mi>y</mi><mo>=</mo><mi>ReLU</mi>",
                paren!("<mi>z</mi>")
            ),
            concat!(
                "<mi>shortcut</mi>",
                paren!("<mi>x</mi>"),
                "<mo>=</mo><mi>x</mi><mtext>&#160;or&#160;</mtext>",
                sub!("BN", "<mi>d</mi>"),
                paren!(sub!("Conv", "<mi>d</mi>"), paren!("<mi>x</mi>"))
            )
        )),
        backward: vec![
            math!(
                dl!("<mi>z</mi>"),
                "<mo>=</mo>",
                dl!("<mi>y</mi>"),
                "<mo>∘</mo><mrow><mo>[</mo><mi>z</mi><mo>&gt;</mo><mn>0</mn><mo>]</mo></mrow>"
            ),
            math!(
                dl!(sub!("r", "<mn>1</mn>")),
                "<mo>=</mo>",
                tr!(sub!("Conv", "<mn>2</mn>")),
                tr!(sub!("BN", "<mn>2</mn>")),
                dl!("<mi>z</mi>")
            ),
            math!(
                dl!("<mi>x</mi>"),
                "<mo>=</mo>",
                tr!(sub!("Conv", "<mn>1</mn>")),
                tr!(sub!("BN", "<mn>1</mn>")),
                paren!(
                    dl!(sub!("r", "<mn>1</mn>")),
                    "<mo>∘</mo><mrow><mo>[</mo>",
                    sub!("r", "<mn>1</mn>"),
                    "<mo>&gt;</mo><mn>0</mn><mo>]</mo></mrow>"
                ),
                "<mo>+</mo>",
                tr!("<mi>shortcut</mi>"),
                dl!("<mi>z</mi>")
            ),
        ],
        notes: "Each ᵀ is the transposed Jacobian of that step, applied by the step's own backward (Conv2d, \
                BatchNorm2d). The sum sends ∂L/∂z unchanged into both branches, and their gradients are added at \
                x; the identity shortcut's transposed Jacobian is the identity. The parameter gradients are those \
                of each convolution (W) and batch norm (γ, β), from the gradient reaching it.",
    }
}
