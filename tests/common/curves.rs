//! Reading the `curves.csv` that `lab train` writes, for the test files that compare runs.

/// The numbers of `dir`'s `curves.csv`, row after row (header dropped).
pub fn curve_numbers(dir: &std::path::Path) -> Vec<f64> {
    let csv = std::fs::read_to_string(dir.join("curves.csv")).expect("curves.csv");
    csv.lines()
        .skip(1)
        .flat_map(|line| {
            line.split(',')
                .map(|v| v.parse::<f64>().expect("a number"))
                .collect::<Vec<_>>()
        })
        .collect()
}
