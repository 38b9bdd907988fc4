//! MathML building blocks, expanded inside `concat!` so every formula is a `&'static str`.

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
