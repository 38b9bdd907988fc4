//! Linear, the element-wise activations and the row-wise softmax.
use super::Formulas;

/// `Y = X Wᵀ + 𝟏 bᵀ` and its three gradients.
pub(super) fn linear() -> Formulas {
    Formulas {
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
pub(super) fn elu() -> Formulas {
    Formulas {
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
pub(super) fn relu() -> Formulas {
    Formulas {
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
pub(super) fn tanh() -> Formulas {
    Formulas {
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
pub(super) fn softmax() -> Formulas {
    Formulas {
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
