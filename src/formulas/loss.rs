//! The losses: softmax fused with cross-entropy on scores, and cross-entropy on probabilities.
use super::Formulas;

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
pub(super) fn softmax_cross_entropy() -> Formulas {
    Formulas {
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
pub(super) fn cross_entropy() -> Formulas {
    Formulas {
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
