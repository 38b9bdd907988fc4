//! LayerNorm (hand-derived and composed) and BatchNorm (over the batch, and per channel over the pixels).
use super::Formulas;

/// The line `x̂ = (x − μ)/√(σ² + ε)`, `y = γ ∘ x̂ + β`, shared by the normalisations.
macro_rules! normalise_affine {
    () => {
        concat!(
            hat!("x"),
            "<mo>=</mo>",
            frac!(
                "<mi>x</mi><mo>−</mo><mi>μ</mi>",
                "<msqrt><msup><mi>σ</mi><mn>2</mn></msup><mo>+</mo><mi>ε</mi></msqrt>"
            ),
            "<mo>,</mo><mspace width=\"1em\"/>",
            "<mi>y</mi><mo>=</mo><mi>γ</mi><mo>∘</mo>",
            hat!("x"),
            "<mo>+</mo><mi>β</mi>"
        )
    };
}

/// `∂L/∂x = (1/√(σ² + ε)) (g − mean(g) − x̂ · mean(g ∘ x̂))`, shared by the normalisations.
macro_rules! normalise_backward_x {
    () => {
        concat!(
            dl!("<mi>x</mi>"),
            "<mo>=</mo>",
            inv_std!(),
            paren!(
                "<mi>g</mi><mo>−</mo><mi>mean</mi>",
                paren!("<mi>g</mi>"),
                "<mo>−</mo>",
                hat!("x"),
                "<mo>⋅</mo><mi>mean</mi>",
                paren!("<mi>g</mi><mo>∘</mo>", hat!("x"))
            )
        )
    };
}

/// `g = ∂L/∂y ∘ γ`.
macro_rules! g_is {
    () => {
        concat!("<mi>g</mi><mo>=</mo>", dl!("<mi>y</mi>"), "<mo>∘</mo><mi>γ</mi>")
    };
}

/// `μ = (1/count) Σ x`, `σ² = (1/count) Σ (x − μ)²`, the statistics a normalisation standardises with: the
/// arguments are the MathML of the mean, the variance, the count, the sum sign and the summed element.
macro_rules! statistics {
    ($mean:expr, $variance:expr, $count:expr, $sum:expr, $x:expr) => {
        concat!(
            $mean,
            "<mo>=</mo>",
            frac!("<mn>1</mn>", $count),
            $sum,
            $x,
            gap!(),
            $variance,
            "<mo>=</mo>",
            frac!("<mn>1</mn>", $count),
            $sum,
            "<msup>",
            paren!($x, "<mo>−</mo>", $mean),
            "<mn>2</mn></msup>"
        )
    };
}

/// The whole `∂L/∂x` block: [`normalise_backward_x`], then what `g` and `mean(v) = (1/count) Σ v` mean, given
/// the MathML of the count, the sum sign and the summed element.
macro_rules! backward_x {
    ($count:expr, $sum:expr, $v:expr) => {
        math!(lines!(
            normalise_backward_x!(),
            concat!(
                g_is!(),
                gap!(),
                "<mi>mean</mi>",
                paren!("<mi>v</mi>"),
                "<mo>=</mo>",
                frac!("<mn>1</mn>", $count),
                $sum,
                $v
            )
        ))
    };
}

/// `∂L/∂γ = 𝟏ᵀ(∂L/∂Y ∘ X̂)`.
const GAMMA_BACKWARD: &str = math!(
    dl!("<mi>γ</mi>"),
    "<mo>=</mo>",
    tr!(ones!()),
    paren!(dl!("<mi>Y</mi>"), "<mo>∘</mo>", hat!("X"))
);

/// `∂L/∂β = 𝟏ᵀ ∂L/∂Y`.
const BETA_BACKWARD: &str = math!(dl!("<mi>β</mi>"), "<mo>=</mo>", tr!(ones!()), dl!("<mi>Y</mi>"));

/// The LayerNorm forward pass, per row of `M` features.
const LAYER_NORM_FORWARD: &str = math!(lines!(
    statistics!(
        "<mi>μ</mi>",
        "<msup><mi>σ</mi><mn>2</mn></msup>",
        "<mi>M</mi>",
        sum!("<mi>j</mi><mo>=</mo><mn>1</mn>", "<mi>M</mi>"),
        sub!("x", "<mi>j</mi>")
    ),
    normalise_affine!()
));

/// The LayerNorm `∂L/∂x`, per row, with the mean over the row's `M` features.
const LAYER_NORM_BACKWARD_X: &str = backward_x!(
    "<mi>M</mi>",
    sum!("<mi>j</mi><mo>=</mo><mn>1</mn>", "<mi>M</mi>"),
    sub!("v", "<mi>j</mi>")
);

/// LayerNorm with the hand-derived backward pass.
pub(super) fn layer_norm() -> Formulas {
    Formulas {
        summary: "Standardises each sample's features to mean 0 and variance 1, then scales by γ and shifts by β.",
        forward: LAYER_NORM_FORWARD,
        backward: vec![LAYER_NORM_BACKWARD_X, GAMMA_BACKWARD, BETA_BACKWARD],
        notes: "Per row: x is one sample's M features (X is S×M); γ and β have M entries, and 𝟏ᵀ sums over the \
                S rows. σ² is the biased variance (divided by M), ε = 1e-5; there are no running statistics, \
                training and evaluation compute the same thing. The ∂L/∂x formula is the whole chain rule through \
                μ and σ² collapsed into one expression.",
    }
}

/// LayerNorm chained from primitive steps, as autograd would do it.
pub(super) fn layer_norm_composed() -> Formulas {
    Formulas {
        summary: "LayerNorm built from primitive steps (mean, centre, variance, normalise, affine) whose backward \
                  passes are chained, as autograd would do: a check on the hand-derived LayerNorm.",
        forward: LAYER_NORM_FORWARD,
        backward: vec![LAYER_NORM_BACKWARD_X, GAMMA_BACKWARD, BETA_BACKWARD],
        notes: "The same math as LayerNorm (per row of M features, biased variance, ε = 1e-5), but computed as \
                the chain μ = mean(x) → c = x − μ → v = mean(c²) → x̂ = c (v + ε)^(−1/2) → y = γ ∘ x̂ + β, each step \
                passing its gradient back to its inputs (∂L/∂x̂ = ∂L/∂y ∘ γ, ∂L/∂v = −½ (v + ε)^(−3/2) Σ ∂L/∂x̂ ∘ c, \
                ∂L/∂c = ∂L/∂x̂ (v + ε)^(−1/2) + ∂L/∂v · 2c/M, ∂L/∂x = ∂L/∂c − mean(∂L/∂c)). The composed gradients \
                equal the closed form shown here, up to rounding.",
    }
}

/// The running-statistics update, momentum `m`.
macro_rules! running_statistics {
    () => {
        concat!(
            sub!("μ", "<mtext>run</mtext>"),
            "<mo>←</mo>",
            paren!("<mn>1</mn><mo>−</mo><mi>m</mi>"),
            sub!("μ", "<mtext>run</mtext>"),
            "<mo>+</mo><mi>m</mi><mi>μ</mi>",
            gap!(),
            "<msubsup><mi>σ</mi><mtext>run</mtext><mn>2</mn></msubsup><mo>←</mo>",
            paren!("<mn>1</mn><mo>−</mo><mi>m</mi>"),
            "<msubsup><mi>σ</mi><mtext>run</mtext><mn>2</mn></msubsup><mo>+</mo><mi>m</mi>",
            frac!("<mi>S</mi>", "<mi>S</mi><mo>−</mo><mn>1</mn>"),
            "<msup><mi>σ</mi><mn>2</mn></msup>"
        )
    };
}

/// BatchNorm over the rows of an `S × M` batch.
pub(super) fn batch_norm_1d() -> Formulas {
    Formulas {
        summary: "Standardises each feature over the batch to mean 0 and variance 1, then scales by γ and shifts \
                  by β; evaluation uses running statistics instead of the batch's.",
        forward: math!(lines!(
            statistics!(
                sub!("μ", "<mi>j</mi>"),
                "<msubsup><mi>σ</mi><mi>j</mi><mn>2</mn></msubsup>",
                "<mi>S</mi>",
                sum!("<mi>n</mi><mo>=</mo><mn>1</mn>", "<mi>S</mi>"),
                sub!("x", idx!("<mi>n</mi>", "<mi>j</mi>"))
            ),
            normalise_affine!(),
            running_statistics!()
        )),
        backward: vec![
            backward_x!(
                "<mi>S</mi>",
                sum!("<mi>n</mi><mo>=</mo><mn>1</mn>", "<mi>S</mi>"),
                sub!("v", "<mi>n</mi>")
            ),
            GAMMA_BACKWARD,
            BETA_BACKWARD,
        ],
        notes: "The LayerNorm formula taken over the batch axis: x is one feature's column of S values (X is S×M), \
                the means run over the S rows, γ and β have M entries and 𝟏ᵀ sums over the rows. σ²_B is the \
                biased batch variance, ε = 1e-5. Running statistics use momentum m = 0.1 and the unbiased \
                variance; in evaluation μ and σ² are the running ones, constants, so ∂L/∂x = g/√(σ²_run + ε).",
    }
}

/// `Σ_{n,h,w}`.
macro_rules! sum_nhw {
    () => {
        sum_over!(idx!("<mi>n</mi>", "<mi>h</mi>", "<mi>w</mi>"))
    };
}

/// BatchNorm per channel over the batch and every pixel.
pub(super) fn batch_norm_2d() -> Formulas {
    Formulas {
        summary: "Standardises each channel over the batch and all its pixels to mean 0 and variance 1, then \
                  scales by γ and shifts by β; evaluation uses running statistics.",
        forward: math!(lines!(
            statistics!(
                sub!("μ", "<mi>c</mi>"),
                "<msubsup><mi>σ</mi><mi>c</mi><mn>2</mn></msubsup>",
                "<mi>N</mi><mi>H</mi><mi>W</mi>",
                sum_nhw!(),
                sub!("x", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>h</mi>", "<mi>w</mi>"))
            ),
            normalise_affine!(),
            running_statistics!()
        )),
        backward: vec![
            backward_x!(
                "<mi>N</mi><mi>H</mi><mi>W</mi>",
                sum_nhw!(),
                sub!("v", idx!("<mi>n</mi>", "<mi>h</mi>", "<mi>w</mi>"))
            ),
            math!(
                dl!(sub!("γ", "<mi>c</mi>")),
                "<mo>=</mo>",
                sum_nhw!(),
                dl!(sub!("y", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>h</mi>", "<mi>w</mi>"))),
                "<msub>",
                hat!("x"),
                idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>h</mi>", "<mi>w</mi>"),
                "</msub>"
            ),
            math!(
                dl!(sub!("β", "<mi>c</mi>")),
                "<mo>=</mo>",
                sum_nhw!(),
                dl!(sub!("y", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>h</mi>", "<mi>w</mi>")))
            ),
        ],
        notes: "BatchNorm1d applied to the pixels: with every pixel of every sample as a row of its C channel values \
                (an (N·H·W)×C matrix), the statistics of channel c are that column's, so S = N·H·W. γ and β have C \
                entries; biased σ², ε = 1e-5, momentum 0.1 with the unbiased variance for the running statistics, \
                which evaluation uses (then ∂L/∂x = g/√(σ²_run + ε)).",
    }
}
