//! The standard gradient-check suite: the assignment's unit tests (random sizes, several trials) for every
//! layer and loss, plus whole networks end to end. `lab gradcheck`, the page and the tests all run it.
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{check_layer, check_loss, check_network, compare, random_normal, CheckResult, Criterion, STEP};
use crate::layers::{BatchNorm1d, Elu, Layer, LayerNorm, LayerNormComposed, Linear, LinearInit, Mode, Relu, Softmax, Tanh};
use crate::loss::{CrossEntropy, SoftmaxCrossEntropy};
use crate::model::{Activation, LossKind, MlpConfig, Normalization};

/// How much of the suite to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuiteOptions {
    pub seed: u64,
    /// Trials with fresh random sizes per check (the assignment: 10).
    pub trials: usize,
    /// Trials for the LayerNorm checks, whose sizes (up to 31 × 255) make each trial the costliest.
    pub layer_norm_trials: usize,
}

impl SuiteOptions {
    /// The assignment's full suite: 10 trials of everything.
    pub fn full(seed: u64) -> Self {
        Self { seed, trials: 10, layer_norm_trials: 10 }
    }
}

/// The full suite (the assignment's 10 trials per check), one row per checked tensor with its worst trial.
pub fn standard_suite(seed: u64) -> Vec<CheckResult> {
    suite(&SuiteOptions::full(seed))
}

const LINEAR: Criterion = Criterion::RelError { max: 1e-5 };
const SOFTMAX: Criterion = Criterion::RelError { max: 1e-5 };
const ELEMENTWISE: Criterion = Criterion::RelError { max: 1e-6 };
const NORMALIZATION: Criterion = Criterion::RelError { max: 1e-5 };
/// The assignment checks LayerNorm with `torch.autograd.gradcheck(eps = 1e-6, atol = 1e-5, rtol = 1e-3)`.
const GRADCHECK: Criterion = Criterion::AllClose { atol: 1e-5, rtol: 1e-3 };
const GRADCHECK_STEP: f64 = 1e-6;

/// Keeps, for each (layer, parameter) seen over the trials, the worst row; a check passes only if every
/// trial passed.
#[derive(Default)]
struct Worst {
    rows: Vec<CheckResult>,
}

impl Worst {
    fn add(&mut self, label: &str, rows: impl IntoIterator<Item = CheckResult>) {
        for mut row in rows {
            if !label.is_empty() {
                row.layer = format!("{label} / {}", row.layer);
            }
            match self.rows.iter_mut().find(|r| r.layer == row.layer && r.parameter == row.parameter) {
                Some(existing) => {
                    let passed = existing.passed && row.passed;
                    if row.max_rel_error > existing.max_rel_error || !row.passed {
                        *existing = row;
                    }
                    existing.passed = passed;
                }
                None => self.rows.push(row),
            }
        }
    }
}

/// Labels a layer row by kind only, so trials with other sizes fold into one row.
fn by_kind(mut rows: Vec<CheckResult>, kind: &str) -> Vec<CheckResult> {
    for row in &mut rows {
        row.layer = kind.to_string();
    }
    rows
}

fn random_targets(rng: &mut impl Rng, count: usize, classes: usize) -> Vec<usize> {
    (0..count).map(|_| rng.random_range(0..classes)).collect()
}

/// Runs the suite.
pub fn suite(options: &SuiteOptions) -> Vec<CheckResult> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut worst = Worst::default();

    for _ in 0..options.trials {
        // the assignment's random sizes: N 1–19, D 1–99, C 1–9
        let n = rng.random_range(1..20);
        let d = rng.random_range(1..100);
        let c = rng.random_range(1..10);
        let x = random_normal(&mut rng, n, d);

        let mut linear = Linear::<f64>::new(d, c, LinearInit::Normal { std: 1.0 }, &mut rng);
        worst.add("", by_kind(check_layer(&mut linear, &x, Mode::Train, LINEAR, STEP, &mut rng), "Linear"));
        worst.add("", by_kind(check_layer(&mut Elu, &x, Mode::Train, ELEMENTWISE, STEP, &mut rng), "ELU"));
        worst.add("", by_kind(check_layer(&mut Relu, &x, Mode::Train, ELEMENTWISE, STEP, &mut rng), "ReLU"));
        worst.add("", by_kind(check_layer(&mut Tanh, &x, Mode::Train, ELEMENTWISE, STEP, &mut rng), "Tanh"));

        let logits = random_normal(&mut rng, n, c);
        worst.add("", by_kind(check_layer(&mut Softmax, &logits, Mode::Train, SOFTMAX, STEP, &mut rng), "Softmax"));
        let targets = random_targets(&mut rng, n, c);
        let mut probabilities = Array2::zeros((0, 0));
        Softmax.forward(logits.view(), &mut probabilities, Mode::Train);
        worst.add("", [check_loss(&mut CrossEntropy, &probabilities, &targets, SOFTMAX, STEP)]);
        worst.add("", [check_loss(&mut SoftmaxCrossEntropy::default(), &logits, &targets, SOFTMAX, STEP)]);

        // BatchNorm needs at least two rows for a batch variance
        let rows = n.max(2);
        let shifted = random_normal(&mut rng, rows, d) * 2.0 + 10.0;
        let mut batch_norm = BatchNorm1d::<f64>::new(d);
        batch_norm.gamma.value = Array1::from_shape_simple_fn(d, || rng.random_range(0.5..1.5));
        batch_norm.beta.value = Array1::from_shape_simple_fn(d, || rng.random_range(-1.0..1.0));
        worst.add("", by_kind(check_layer(&mut batch_norm, &shifted, Mode::Train, NORMALIZATION, STEP, &mut rng), "BatchNorm1d (train)"));
        batch_norm.running_mean = Array1::from_shape_simple_fn(d, || rng.random_range(9.0..11.0));
        batch_norm.running_var = Array1::from_shape_simple_fn(d, || rng.random_range(1.0..5.0));
        worst.add("", by_kind(check_layer(&mut batch_norm, &shifted, Mode::Eval, NORMALIZATION, STEP, &mut rng), "BatchNorm1d (eval)"));
    }

    for _ in 0..options.layer_norm_trials {
        // the assignment's LayerNorm test: x = 2·randn + 10, batch 8–31, 64–255 features
        let n = rng.random_range(8..32);
        let m = rng.random_range(64..256);
        let x = random_normal(&mut rng, n, m) * 2.0 + 10.0;
        let arange = Array1::from_shape_fn(m, |i| i as f64);
        let gammas = [("γ = 1, β = 100·arange", Array1::ones(m), &arange * 100.0), ("γ = √(10·arange)", (&arange * 10.0).mapv(f64::sqrt), Array1::zeros(m))];
        for (case, gamma, beta) in gammas {
            let mut manual = LayerNorm::<f64>::new(m);
            manual.gamma.value = gamma.clone();
            manual.beta.value = beta.clone();
            let mut composed = LayerNormComposed::<f64>::new(m);
            composed.gamma.value = gamma;
            composed.beta.value = beta;
            let mut upstream_rng = rng.clone();
            let manual_rows = check_layer(&mut manual, &x, Mode::Train, GRADCHECK, GRADCHECK_STEP, &mut upstream_rng);
            let mut same_upstream = rng.clone();
            let composed_rows = check_layer(&mut composed, &x, Mode::Train, GRADCHECK, GRADCHECK_STEP, &mut same_upstream);
            worst.add("", by_kind(manual_rows, &format!("LayerNorm manual ({case})")));
            worst.add("", by_kind(composed_rows, &format!("LayerNorm composed ({case})")));
            worst.add("", [agreement(&mut manual, &mut composed, &x, &mut rng, &format!("LayerNorm manual vs composed ({case})"))]);
        }
    }

    for (label, config) in network_configs() {
        let mut network = config.build::<f64>(options.seed).expect("the suite's configs are valid");
        let x = random_normal(&mut rng, 8, config.input_features) * 2.0;
        let targets = random_targets(&mut rng, 8, config.classes);
        // PyTorch's gradcheck criterion for whole networks: a bias right before BatchNorm has a true
        // gradient of exactly 0 (BatchNorm removes any per-feature shift), where a relative error only
        // measures rounding noise against the 1e-8 floor.
        let criterion = |_: &str| GRADCHECK;
        worst.add(label, check_network(&mut network, &x, &targets, Mode::Train, STEP, &criterion));
    }
    worst.rows
}

/// Small MLPs checked end to end, covering every layer and both loss paths.
fn network_configs() -> Vec<(&'static str, MlpConfig)> {
    let base = MlpConfig { input_features: 12, hidden: vec![10, 7], classes: 5, init: LinearInit::PyTorch, ..MlpConfig::default() };
    vec![
        ("MLP ELU + BatchNorm", MlpConfig { activation: Activation::Elu, normalization: Normalization::BatchNorm, ..base.clone() }),
        ("MLP Tanh + LayerNorm", MlpConfig { activation: Activation::Tanh, normalization: Normalization::LayerNorm, ..base.clone() }),
        (
            "MLP ReLU, softmax → cross-entropy",
            MlpConfig { activation: Activation::Relu, loss: LossKind::SoftmaxThenCrossEntropy, ..base },
        ),
    ]
}

/// The manual and the composed LayerNorm must give the same output and the same gradients.
fn agreement(manual: &mut LayerNorm<f64>, composed: &mut LayerNormComposed<f64>, x: &Array2<f64>, rng: &mut impl Rng, label: &str) -> CheckResult {
    let (mut y_manual, mut y_composed) = (Array2::zeros((0, 0)), Array2::zeros((0, 0)));
    manual.forward(x.view(), &mut y_manual, Mode::Train);
    composed.forward(x.view(), &mut y_composed, Mode::Train);
    let upstream = random_normal(rng, x.nrows(), x.ncols());
    let (mut dx_manual, mut dx_composed) = (Array2::zeros((0, 0)), Array2::zeros((0, 0)));
    manual.backward(x.view(), y_manual.view(), upstream.view(), Some(&mut dx_manual));
    composed.backward(x.view(), y_composed.view(), upstream.view(), Some(&mut dx_composed));
    let mut a: Vec<f64> = y_manual.iter().chain(dx_manual.iter()).copied().collect();
    let mut b: Vec<f64> = y_composed.iter().chain(dx_composed.iter()).copied().collect();
    a.extend(manual.gamma.grad.iter().chain(manual.beta.grad.iter()));
    b.extend(composed.gamma.grad.iter().chain(composed.beta.grad.iter()));
    compare(label, "y, ∂L/∂x, ∂L/∂γ, ∂L/∂β", x.shape(), &a, &b, Criterion::AllClose { atol: 1e-9, rtol: 1e-9 })
}
