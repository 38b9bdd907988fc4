//! The forward and backward formulas of every layer kind and loss, as MathML, for the page's
//! "inside a layer" panel.
//!
//! The math is the corrected set of derivations (row-major batches: `X` is `S × M`, one sample per
//! row), the same formulas the layers in [`crate::layers`] and the losses in [`crate::loss`] implement.
//! Every formula is a complete `<math display="block">…</math>` element built at compile time, so the
//! page can insert it as it is.

/// What the page shows for one layer kind.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerFormulas {
    /// The layer kind, e.g. `"Linear"` (a loss's name for [`for_loss`]).
    pub kind: String,
    /// One plain-text sentence on what the layer does.
    pub summary: String,
    /// A complete `<math display="block">…</math>` element: the forward pass.
    pub forward: String,
    /// One `<math display="block">…</math>` element per gradient (`∂L/∂X`, `∂L/∂W`, …).
    pub backward: Vec<String>,
    /// Plain text: shapes and conventions.
    pub notes: String,
}

/// [`LayerFormulas`] as written below: every formula a `&'static str` built at compile time.
struct Formulas {
    kind: &'static str,
    summary: &'static str,
    forward: &'static str,
    backward: Vec<&'static str>,
    notes: &'static str,
}

impl From<Formulas> for LayerFormulas {
    fn from(formulas: Formulas) -> Self {
        Self {
            kind: formulas.kind.into(),
            summary: formulas.summary.into(),
            forward: formulas.forward.into(),
            backward: formulas.backward.into_iter().map(String::from).collect(),
            notes: formulas.notes.into(),
        }
    }
}

/// Every kind [`for_layer`] knows, for tests and the page's legend.
pub const LAYER_KINDS: [&str; 13] = [
    "Linear",
    "ELU",
    "ReLU",
    "Tanh",
    "Softmax",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "LayerNormComposed",
    "Conv2d",
    "MaxPool2d",
    "GlobalAvgPool",
    "PreAct",
];

/// The loss names [`for_loss`] knows.
pub const LOSS_NAMES: [&str; 2] = ["softmax-cross-entropy", "cross-entropy"];

/// The formulas for a layer given its display name as produced by `Layer::name()`, e.g.
/// `"Linear(3072→100)"`, `"ELU"`, `"BatchNorm2d(64)"` or `"Conv2d(3→64, 3×3, stride 1, pad 1)"`.
///
/// The kind is the prefix before `'('` (or the whole name); `None` for an unknown kind.
pub fn for_layer(name: &str) -> Option<LayerFormulas> {
    let kind = name.split('(').next().unwrap_or(name).trim();
    let formulas: Formulas = match kind {
        "Linear" => linear(),
        "ELU" => elu(),
        "ReLU" => relu(),
        "Tanh" => tanh(),
        "Softmax" => softmax(),
        "BatchNorm1d" => batch_norm_1d(),
        "BatchNorm2d" => batch_norm_2d(),
        "LayerNorm" => layer_norm(),
        "LayerNormComposed" => layer_norm_composed(),
        "Conv2d" => conv2d(),
        "MaxPool2d" => max_pool_2d(),
        "GlobalAvgPool" => global_avg_pool(),
        "PreAct" => pre_act(),
        _ => return None,
    };
    Some(formulas.into())
}

/// The loss formulas: `name` is `"softmax-cross-entropy"` (fused with the softmax,
/// `∂L/∂Z = (Y − T)/S`) or `"cross-entropy"` (on probabilities, `∂L/∂X = −(1/S) T ⊘ X`).
/// `None` for an unknown name.
pub fn for_loss(name: &str) -> Option<LayerFormulas> {
    match name.trim() {
        "softmax-cross-entropy" => Some(softmax_cross_entropy().into()),
        "cross-entropy" => Some(cross_entropy().into()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// MathML building blocks, expanded inside `concat!` so every formula is a `&'static str`.
// ---------------------------------------------------------------------------------------------

/// A complete block `<math>` element from MathML parts.
macro_rules! math {
    ($($part:expr),+ $(,)?) => {
        concat!("<math display=\"block\">", $($part),+, "</math>")
    };
}

/// Equations stacked one per row of an `<mtable>`; each argument is the MathML of one row.
macro_rules! lines {
    ($($line:expr),+ $(,)?) => {
        concat!("<mtable>", $("<mtr><mtd>", $line, "</mtd></mtr>"),+, "</mtable>")
    };
}

/// `∂L/∂(denominator)` as an `<mfrac>`; the argument is the MathML of the denominator's variable.
macro_rules! dl {
    ($denominator:expr) => {
        concat!(
            "<mfrac><mrow><mo>∂</mo><mi>L</mi></mrow><mrow><mo>∂</mo>",
            $denominator,
            "</mrow></mfrac>"
        )
    };
}

/// The transpose of one MathML element.
macro_rules! tr {
    ($base:expr) => {
        concat!("<msup>", $base, "<mo>⊤</mo></msup>")
    };
}

/// A parenthesised group.
macro_rules! paren {
    ($($part:expr),+ $(,)?) => {
        concat!("<mrow><mo>(</mo>", $($part),+, "<mo>)</mo></mrow>")
    };
}

/// A hatted (normalised) variable, `x̂`.
macro_rules! hat {
    ($name:literal) => {
        concat!("<mover><mi>", $name, "</mi><mo>^</mo></mover>")
    };
}

/// A variable with a subscript: `sub!("x", "<mi>j</mi>")` is `x_j`.
macro_rules! sub {
    ($name:literal, $index:expr) => {
        concat!("<msub><mi>", $name, "</mi>", $index, "</msub>")
    };
}

/// A comma-separated index list, as one `<mrow>`: `idx!("<mi>n</mi>", "<mi>c</mi>")` is `n,c`.
macro_rules! idx {
    ($first:expr $(, $rest:expr)* $(,)?) => {
        concat!("<mrow>", $first, $("<mo>,</mo>", $rest),*, "</mrow>")
    };
}

/// `Σ_{from}^{to}` as a `<munderover>`.
macro_rules! sum {
    ($from:expr, $to:expr) => {
        concat!(
            "<munderover><mo>∑</mo><mrow>",
            $from,
            "</mrow><mrow>",
            $to,
            "</mrow></munderover>"
        )
    };
}

/// `Σ_{under}` (a sum over an index set) as a `<munder>`.
macro_rules! sum_over {
    ($under:expr) => {
        concat!("<munder><mo>∑</mo><mrow>", $under, "</mrow></munder>")
    };
}

/// A fraction.
macro_rules! frac {
    ($numerator:expr, $denominator:expr) => {
        concat!(
            "<mfrac><mrow>",
            $numerator,
            "</mrow><mrow>",
            $denominator,
            "</mrow></mfrac>"
        )
    };
}

/// A gap between two equations on one line.
macro_rules! gap {
    () => {
        "<mo>,</mo><mspace width=\"1em\"/>"
    };
}
/// The all-ones column vector `𝟏`.
macro_rules! ones {
    () => {
        "<mn>𝟏</mn>"
    };
}
/// `1/√(σ² + ε)`.
macro_rules! inv_std {
    () => {
        frac!(
            "<mn>1</mn>",
            "<msqrt><msup><mi>σ</mi><mn>2</mn></msup><mo>+</mo><mi>ε</mi></msqrt>"
        )
    };
}

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/// `Y = X Wᵀ + 𝟏 bᵀ` and its three gradients.
fn linear() -> Formulas {
    Formulas {
        kind: "Linear",
        summary: "A fully connected layer: every output is a weighted sum of all the inputs plus a bias.",
        forward: math!(
            "<mi>Y</mi><mo>=</mo><mi>X</mi>",
            tr!("<mi>W</mi>"),
            "<mo>+</mo>",
            ones!(),
            tr!("<mi>b</mi>")
        ),
        backward: vec![
            math!(dl!("<mi>X</mi>"), "<mo>=</mo>", dl!("<mi>Y</mi>"), "<mi>W</mi>"),
            math!(
                dl!("<mi>W</mi>"),
                "<mo>=</mo>",
                tr!(paren!(dl!("<mi>Y</mi>"))),
                "<mi>X</mi>"
            ),
            math!(dl!("<mi>b</mi>"), "<mo>=</mo>", tr!(ones!()), dl!("<mi>Y</mi>")),
        ],
        notes: "X is S×M (one sample per row), W is N×M (out × in), b has N entries and Y is S×N; \
                𝟏 is the all-ones column of length S, so 𝟏ᵀ sums over the batch. ∂L/∂Y (S×N) comes from \
                the layer above.",
    }
}

/// The backward pass of an element-wise activation `h`: `∂L/∂X = ∂L/∂Y ∘ h′(X)`.
macro_rules! elementwise_backward {
    () => {
        concat!(
            dl!("<mi>X</mi>"),
            "<mo>=</mo>",
            dl!("<mi>Y</mi>"),
            "<mo>∘</mo><msup><mi>h</mi><mo>′</mo></msup>",
            paren!("<mi>X</mi>")
        )
    };
}

/// `h′(x) = ` followed by the given cases.
macro_rules! derivative_is {
    ($($rhs:expr),+ $(,)?) => {
        concat!("<msup><mi>h</mi><mo>′</mo></msup>", paren!("<mi>x</mi>"), "<mo>=</mo>", $($rhs),+)
    };
}

/// Two cases, `{ a if x > 0; b otherwise }`.
macro_rules! cases_positive {
    ($positive:expr, $otherwise:expr) => {
        concat!(
            "<mrow><mo>{</mo><mtable>",
            "<mtr><mtd>",
            $positive,
            "</mtd><mtd><mtext>if </mtext><mi>x</mi><mo>&gt;</mo><mn>0</mn></mtd></mtr>",
            "<mtr><mtd>",
            $otherwise,
            "</mtd><mtd><mtext>otherwise</mtext></mtd></mtr>",
            "</mtable></mrow>"
        )
    };
}

/// ELU with α = 1.
fn elu() -> Formulas {
    Formulas {
        kind: "ELU",
        summary: "The exponential linear unit (α = 1): the identity for positive inputs, a smooth exponential \
                  saturating at −1 for negative ones.",
        forward: math!(
            "<mi>y</mi><mo>=</mo><mi>h</mi>",
            paren!("<mi>x</mi>"),
            "<mo>=</mo>",
            cases_positive!("<mi>x</mi>", "<msup><mi>e</mi><mi>x</mi></msup><mo>−</mo><mn>1</mn>")
        ),
        backward: vec![math!(
            elementwise_backward!(),
            gap!(),
            derivative_is!(cases_positive!(
                "<mn>1</mn>",
                concat!(
                    "<msup><mi>e</mi><mi>x</mi></msup><mo>=</mo><mi>h</mi>",
                    paren!("<mi>x</mi>"),
                    "<mo>+</mo><mn>1</mn>"
                )
            ))
        )],
        notes: "Applied element by element, so X and Y have the same shape (S×M). Since h′(x) = h(x) + 1 for \
                x ≤ 0, the backward pass reads the derivative off the stored output without a second \
                exponential.",
    }
}

/// ReLU.
fn relu() -> Formulas {
    Formulas {
        kind: "ReLU",
        summary: "The rectified linear unit: negative inputs are set to zero, positive ones pass unchanged.",
        forward: math!(
            "<mi>y</mi><mo>=</mo><mi>h</mi>",
            paren!("<mi>x</mi>"),
            "<mo>=</mo><mi>max</mi>",
            paren!("<mn>0</mn><mo>,</mo><mi>x</mi>")
        ),
        backward: vec![math!(
            elementwise_backward!(),
            gap!(),
            derivative_is!(cases_positive!("<mn>1</mn>", "<mn>0</mn>"))
        )],
        notes: "Applied element by element, so X and Y have the same shape. At x = 0 the derivative is taken \
                as 0: the gradient passes only where the input was positive.",
    }
}

/// Tanh.
fn tanh() -> Formulas {
    Formulas {
        kind: "Tanh",
        summary: "The hyperbolic tangent: squashes every input into (−1, 1).",
        forward: math!(
            "<mi>y</mi><mo>=</mo><mi>h</mi>",
            paren!("<mi>x</mi>"),
            "<mo>=</mo><mi>tanh</mi>",
            paren!("<mi>x</mi>"),
            "<mo>=</mo>",
            frac!(
                "<msup><mi>e</mi><mi>x</mi></msup><mo>−</mo><msup><mi>e</mi><mrow><mo>−</mo><mi>x</mi></mrow></msup>",
                "<msup><mi>e</mi><mi>x</mi></msup><mo>+</mo><msup><mi>e</mi><mrow><mo>−</mo><mi>x</mi></mrow></msup>"
            )
        ),
        backward: vec![math!(
            elementwise_backward!(),
            gap!(),
            derivative_is!(
                "<mn>1</mn><mo>−</mo><msup><mi>tanh</mi><mn>2</mn></msup>",
                paren!("<mi>x</mi>"),
                "<mo>=</mo><mn>1</mn><mo>−</mo><msup><mi>y</mi><mn>2</mn></msup>"
            )
        )],
        notes: "Applied element by element, so X and Y have the same shape. The derivative 1 − y² is read off \
                the stored output.",
    }
}

/// Row-wise softmax.
fn softmax() -> Formulas {
    Formulas {
        kind: "Softmax",
        summary: "Turns each row of scores into a probability distribution: positive entries that sum to 1.",
        forward: math!(
            sub!("y", "<mi>i</mi>"),
            "<mo>=</mo>",
            frac!(
                concat!("<msup><mi>e</mi>", sub!("x", "<mi>i</mi>"), "</msup>"),
                concat!(
                    sum!("<mi>j</mi><mo>=</mo><mn>1</mn>", "<mi>M</mi>"),
                    "<msup><mi>e</mi>",
                    sub!("x", "<mi>j</mi>"),
                    "</msup>"
                )
            )
        ),
        backward: vec![math!(lines!(
            concat!(
                dl!("<mi>X</mi>"),
                "<mo>=</mo><mi>Y</mi><mo>∘</mo>",
                paren!(
                    dl!("<mi>Y</mi>"),
                    "<mo>−</mo><mi>rowsum</mi>",
                    paren!(dl!("<mi>Y</mi>"), "<mo>∘</mo><mi>Y</mi>")
                )
            ),
            concat!(
                "<mi>rowsum</mi>",
                paren!("<mi>A</mi>"),
                "<mo>=</mo><mi>A</mi>",
                "<msub>",
                ones!(),
                "<mi>M</mi></msub>"
            )
        ))],
        notes: "Per row of M entries (X and Y are S×M); implemented with the row maximum subtracted first, which \
                does not change the result. From ∂yᵢ/∂xⱼ = yᵢ(δᵢⱼ − yⱼ); rowsum(A) is the S×1 column of row sums, \
                broadcast across the M columns.",
    }
}

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
    concat!(
        "<mi>μ</mi><mo>=</mo>",
        frac!("<mn>1</mn>", "<mi>M</mi>"),
        sum!("<mi>j</mi><mo>=</mo><mn>1</mn>", "<mi>M</mi>"),
        sub!("x", "<mi>j</mi>"),
        gap!(),
        "<msup><mi>σ</mi><mn>2</mn></msup><mo>=</mo>",
        frac!("<mn>1</mn>", "<mi>M</mi>"),
        sum!("<mi>j</mi><mo>=</mo><mn>1</mn>", "<mi>M</mi>"),
        "<msup>",
        paren!(sub!("x", "<mi>j</mi>"), "<mo>−</mo><mi>μ</mi>"),
        "<mn>2</mn></msup>"
    ),
    normalise_affine!()
));

/// The LayerNorm `∂L/∂x`, per row, with the mean over the row's `M` features.
const LAYER_NORM_BACKWARD_X: &str = math!(lines!(
    normalise_backward_x!(),
    concat!(
        g_is!(),
        gap!(),
        "<mi>mean</mi>",
        paren!("<mi>v</mi>"),
        "<mo>=</mo>",
        frac!("<mn>1</mn>", "<mi>M</mi>"),
        sum!("<mi>j</mi><mo>=</mo><mn>1</mn>", "<mi>M</mi>"),
        sub!("v", "<mi>j</mi>")
    )
));

/// LayerNorm with the hand-derived backward pass.
fn layer_norm() -> Formulas {
    Formulas {
        kind: "LayerNorm",
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
fn layer_norm_composed() -> Formulas {
    Formulas {
        kind: "LayerNormComposed",
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
fn batch_norm_1d() -> Formulas {
    Formulas {
        kind: "BatchNorm1d",
        summary: "Standardises each feature over the batch to mean 0 and variance 1, then scales by γ and shifts \
                  by β; evaluation uses running statistics instead of the batch's.",
        forward: math!(lines!(
            concat!(
                sub!("μ", "<mi>j</mi>"),
                "<mo>=</mo>",
                frac!("<mn>1</mn>", "<mi>S</mi>"),
                sum!("<mi>n</mi><mo>=</mo><mn>1</mn>", "<mi>S</mi>"),
                sub!("x", idx!("<mi>n</mi>", "<mi>j</mi>")),
                gap!(),
                "<msubsup><mi>σ</mi><mi>j</mi><mn>2</mn></msubsup><mo>=</mo>",
                frac!("<mn>1</mn>", "<mi>S</mi>"),
                sum!("<mi>n</mi><mo>=</mo><mn>1</mn>", "<mi>S</mi>"),
                "<msup>",
                paren!(
                    sub!("x", idx!("<mi>n</mi>", "<mi>j</mi>")),
                    "<mo>−</mo>",
                    sub!("μ", "<mi>j</mi>")
                ),
                "<mn>2</mn></msup>"
            ),
            normalise_affine!(),
            running_statistics!()
        )),
        backward: vec![
            math!(lines!(
                normalise_backward_x!(),
                concat!(
                    g_is!(),
                    gap!(),
                    "<mi>mean</mi>",
                    paren!("<mi>v</mi>"),
                    "<mo>=</mo>",
                    frac!("<mn>1</mn>", "<mi>S</mi>"),
                    sum!("<mi>n</mi><mo>=</mo><mn>1</mn>", "<mi>S</mi>"),
                    sub!("v", "<mi>n</mi>")
                )
            )),
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
fn batch_norm_2d() -> Formulas {
    Formulas {
        kind: "BatchNorm2d",
        summary: "Standardises each channel over the batch and all its pixels to mean 0 and variance 1, then \
                  scales by γ and shifts by β; evaluation uses running statistics.",
        forward: math!(lines!(
            concat!(
                sub!("μ", "<mi>c</mi>"),
                "<mo>=</mo>",
                frac!("<mn>1</mn>", "<mi>N</mi><mi>H</mi><mi>W</mi>"),
                sum_nhw!(),
                sub!("x", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>h</mi>", "<mi>w</mi>")),
                gap!(),
                "<msubsup><mi>σ</mi><mi>c</mi><mn>2</mn></msubsup><mo>=</mo>",
                frac!("<mn>1</mn>", "<mi>N</mi><mi>H</mi><mi>W</mi>"),
                sum_nhw!(),
                "<msup>",
                paren!(
                    sub!("x", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>h</mi>", "<mi>w</mi>")),
                    "<mo>−</mo>",
                    sub!("μ", "<mi>c</mi>")
                ),
                "<mn>2</mn></msup>"
            ),
            normalise_affine!(),
            running_statistics!()
        )),
        backward: vec![
            math!(lines!(
                normalise_backward_x!(),
                concat!(
                    g_is!(),
                    gap!(),
                    "<mi>mean</mi>",
                    paren!("<mi>v</mi>"),
                    "<mo>=</mo>",
                    frac!("<mn>1</mn>", "<mi>N</mi><mi>H</mi><mi>W</mi>"),
                    sum_nhw!(),
                    sub!("v", idx!("<mi>n</mi>", "<mi>h</mi>", "<mi>w</mi>"))
                )
            )),
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

/// 2-D convolution lowered to a matrix product with im2col.
fn conv2d() -> Formulas {
    Formulas {
        kind: "Conv2d",
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
                sub!(
                    "X",
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
fn max_pool_2d() -> Formulas {
    Formulas {
        kind: "MaxPool2d",
        summary: "Keeps the largest value of every k×k window (stride s) of each channel.",
        forward: math!(lines!(
            concat!(
                sub!("y", idx!("<mi>n</mi>", "<mi>c</mi>", "<mi>i</mi>", "<mi>j</mi>")),
                "<mo>=</mo><munder><mo>max</mo><mrow><mn>0</mn><mo>≤</mo><mi>u</mi><mo>,</mo><mi>v</mi>",
                "<mo>&lt;</mo><mi>k</mi></mrow></munder>",
                sub!(
                    "x",
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
fn global_avg_pool() -> Formulas {
    Formulas {
        kind: "GlobalAvgPool",
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
fn pre_act() -> Formulas {
    Formulas {
        kind: "PreAct",
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

// ---------------------------------------------------------------------------------------------
// Losses
// ---------------------------------------------------------------------------------------------

/// `−(1/S) Σ_{n=1}^{S} Σ_{k=1}^{C}`.
macro_rules! mean_over_batch_sum_classes {
    () => {
        concat!(
            "<mo>−</mo>",
            frac!("<mn>1</mn>", "<mi>S</mi>"),
            sum!("<mi>n</mi><mo>=</mo><mn>1</mn>", "<mi>S</mi>"),
            sum!("<mi>k</mi><mo>=</mo><mn>1</mn>", "<mi>C</mi>")
        )
    };
}

/// Softmax fused with cross-entropy, on logits.
fn softmax_cross_entropy() -> Formulas {
    Formulas {
        kind: "softmax-cross-entropy",
        summary: "Softmax and cross-entropy in one step, on the logits: the numerically stable default training loss.",
        forward: math!(lines!(
            concat!("<mi>Y</mi><mo>=</mo><mi>softmax</mi>", paren!("<mi>Z</mi>")),
            concat!(
                "<mi>L</mi><mo>=</mo>",
                mean_over_batch_sum_classes!(),
                sub!("T", idx!("<mi>n</mi>", "<mi>k</mi>")),
                "<mi>log</mi>",
                sub!("Y", idx!("<mi>n</mi>", "<mi>k</mi>"))
            )
        )),
        backward: vec![math!(
            dl!("<mi>Z</mi>"),
            "<mo>=</mo>",
            frac!("<mi>Y</mi><mo>−</mo><mi>T</mi>", "<mi>S</mi>")
        )],
        notes: "Z are the S×C logits, the softmax is taken per row, T holds the one-hot targets. Chaining the softmax \
                and cross-entropy backward passes collapses to (Y − T)/S; the log-sum-exp is shifted by the row \
                maximum so no exponential overflows.",
    }
}

/// Cross-entropy on probabilities.
fn cross_entropy() -> Formulas {
    Formulas {
        kind: "cross-entropy",
        summary: "Cross-entropy on probabilities (after a separate Softmax layer): the mean negative log-probability \
                  of the true class.",
        forward: math!(
            "<mi>L</mi><mo>=</mo>",
            mean_over_batch_sum_classes!(),
            sub!("T", idx!("<mi>n</mi>", "<mi>k</mi>")),
            "<mi>log</mi>",
            sub!("X", idx!("<mi>n</mi>", "<mi>k</mi>"))
        ),
        backward: vec![math!(
            dl!("<mi>X</mi>"),
            "<mo>=</mo><mo>−</mo>",
            frac!("<mn>1</mn>", "<mi>S</mi>"),
            "<mi>T</mi><mo>⊘</mo><mi>X</mi>"
        )],
        notes: "X are the S×C probabilities, T the one-hot targets; ⊘ is element-wise division, and the gradient is \
                zero wherever T is zero.",
    }
}
