//! The standard gradient-check suite: the assignment's unit tests (random sizes, several trials) for every
//! layer and loss, plus whole networks end to end. `lab gradcheck`, the page and the tests all run it.
use ndarray::{Array1, Array2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{check_layer, check_loss, check_network, compare, random_normal, CheckResult, Criterion, Sampling, STEP};
use crate::layers::{
    BatchNorm1d, BatchNorm2d, Conv2d, Conv2dConfig, Elu, GlobalAvgPool, Layer, LayerNorm, LayerNormComposed, Linear,
    LinearInit, MaxPool2d, MaxPool2dConfig, Mode, PreActBlock, Relu, Softmax, Tanh,
};
use crate::loss::{CrossEntropy, SoftmaxCrossEntropy};
use crate::model::{Activation, LossKind, MlpConfig, Network, Normalization};

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
        Self {
            seed,
            trials: 10,
            layer_norm_trials: 10,
        }
    }
}

/// The full suite (the assignment's 10 trials per check), one row per checked tensor with its worst trial.
pub fn standard_suite(seed: u64) -> Vec<CheckResult> {
    suite(&SuiteOptions::full(seed))
}

const LINEAR: Criterion = Criterion::RelError { max: 1e-5 };
const SOFTMAX: Criterion = Criterion::RelError { max: 1e-5 };
const ELEMENTWISE: Criterion = Criterion::RelError { max: 1e-6 };
/// BatchNorm's `∂L/∂x` has elements near zero in every batch (it is orthogonal to the constant and to x̂
/// per feature), where an element-wise relative error measures only rounding noise; so it is checked
/// as PyTorch's gradcheck checks it, entry by entry of the Jacobian.
const NORMALIZATION: Criterion = Criterion::AllClose { atol: 1e-5, rtol: 1e-3 };
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
            match self
                .rows
                .iter_mut()
                .find(|r| r.layer == row.layer && r.parameter == row.parameter)
            {
                Some(existing) => {
                    let passed = existing.passed && row.passed;
                    if row.margin > existing.margin || !row.passed {
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
        worst.add(
            "",
            by_kind(
                check_layer(&mut linear, &x, Mode::Train, LINEAR, STEP, &mut rng),
                "Linear",
            ),
        );
        worst.add(
            "",
            by_kind(
                check_layer(&mut Elu, &x, Mode::Train, ELEMENTWISE, STEP, &mut rng),
                "ELU",
            ),
        );
        // ReLU has a kink at 0: keep inputs at least 1e-3 away, so no ±h step crosses it
        let away_from_kink = x.mapv(|v| if v.abs() < 1e-3 { v + 2e-3f64.copysign(v) } else { v });
        worst.add(
            "",
            by_kind(
                check_layer(&mut Relu, &away_from_kink, Mode::Train, ELEMENTWISE, STEP, &mut rng),
                "ReLU",
            ),
        );
        worst.add(
            "",
            by_kind(
                check_layer(&mut Tanh, &x, Mode::Train, ELEMENTWISE, STEP, &mut rng),
                "Tanh",
            ),
        );

        let logits = random_normal(&mut rng, n, c);
        worst.add(
            "",
            by_kind(
                check_layer(&mut Softmax, &logits, Mode::Train, SOFTMAX, STEP, &mut rng),
                "Softmax",
            ),
        );
        let targets = random_targets(&mut rng, n, c);
        let mut probabilities = Array2::zeros((0, 0));
        Softmax.forward(logits.view(), &mut probabilities, Mode::Train);
        worst.add(
            "",
            [check_loss(&mut CrossEntropy, &probabilities, &targets, SOFTMAX, STEP)],
        );
        worst.add(
            "",
            [check_loss(
                &mut SoftmaxCrossEntropy::default(),
                &logits,
                &targets,
                SOFTMAX,
                STEP,
            )],
        );

        // BatchNorm needs at least two rows for a batch variance
        let rows = n.max(2);
        let shifted = random_normal(&mut rng, rows, d) * 2.0 + 10.0;
        let mut batch_norm = BatchNorm1d::<f64>::new(d);
        batch_norm.gamma.value = Array1::from_shape_simple_fn(d, || rng.random_range(0.5..1.5));
        batch_norm.beta.value = Array1::from_shape_simple_fn(d, || rng.random_range(-1.0..1.0));
        worst.add(
            "",
            by_kind(
                check_layer(&mut batch_norm, &shifted, Mode::Train, NORMALIZATION, STEP, &mut rng),
                "BatchNorm1d (train)",
            ),
        );
        batch_norm.running_mean = Array1::from_shape_simple_fn(d, || rng.random_range(9.0..11.0));
        batch_norm.running_var = Array1::from_shape_simple_fn(d, || rng.random_range(1.0..5.0));
        worst.add(
            "",
            by_kind(
                check_layer(&mut batch_norm, &shifted, Mode::Eval, NORMALIZATION, STEP, &mut rng),
                "BatchNorm1d (eval)",
            ),
        );
    }

    for _ in 0..options.layer_norm_trials {
        // the assignment's LayerNorm test: x = 2·randn + 10, batch 8–31, 64–255 features
        let n = rng.random_range(8..32);
        let m = rng.random_range(64..256);
        let x = random_normal(&mut rng, n, m) * 2.0 + 10.0;
        let arange = Array1::from_shape_fn(m, |i| i as f64);
        let gammas = [
            ("γ = 1, β = 100·arange", Array1::ones(m), &arange * 100.0),
            ("γ = √(10·arange)", (&arange * 10.0).mapv(f64::sqrt), Array1::zeros(m)),
        ];
        for (case, gamma, beta) in gammas {
            let mut manual = LayerNorm::<f64>::new(m);
            manual.gamma.value = gamma.clone();
            manual.beta.value = beta.clone();
            let mut composed = LayerNormComposed::<f64>::new(m);
            composed.gamma.value = gamma;
            composed.beta.value = beta;
            let mut upstream_rng = rng.clone();
            let manual_rows = check_layer(
                &mut manual,
                &x,
                Mode::Train,
                GRADCHECK,
                GRADCHECK_STEP,
                &mut upstream_rng,
            );
            let mut same_upstream = rng.clone();
            let composed_rows = check_layer(
                &mut composed,
                &x,
                Mode::Train,
                GRADCHECK,
                GRADCHECK_STEP,
                &mut same_upstream,
            );
            worst.add("", by_kind(manual_rows, &format!("LayerNorm manual ({case})")));
            worst.add("", by_kind(composed_rows, &format!("LayerNorm composed ({case})")));
            worst.add(
                "",
                [agreement(
                    &mut manual,
                    &mut composed,
                    &x,
                    &mut rng,
                    &format!("LayerNorm manual vs composed ({case})"),
                )],
            );
        }
    }

    for (label, config) in network_configs() {
        let mut network = config
            .build::<f64>(options.seed)
            .expect("the suite's configs are valid");
        let x = random_normal(&mut rng, 8, config.input_features) * 2.0;
        let targets = random_targets(&mut rng, 8, config.classes);
        // PyTorch's gradcheck criterion for whole networks: a bias right before BatchNorm has a true
        // gradient of exactly 0 (BatchNorm removes any per-feature shift), where a relative error only
        // measures rounding noise against the 1e-8 floor.
        let criterion = |_: &str| GRADCHECK;
        worst.add(
            label,
            check_network(&mut network, &x, &targets, Mode::Train, STEP, &criterion, Sampling::All),
        );
    }

    convolutional_checks(&mut rng, options, &mut worst);
    worst.rows
}

/// Small MLPs checked end to end, covering every layer and both loss paths.
fn network_configs() -> Vec<(&'static str, MlpConfig)> {
    let base = MlpConfig {
        input_features: 12,
        hidden: vec![10, 7],
        classes: 5,
        init: LinearInit::PyTorch,
        ..MlpConfig::default()
    };
    vec![
        (
            "MLP ELU + BatchNorm",
            MlpConfig {
                activation: Activation::Elu,
                normalization: Normalization::BatchNorm,
                ..base.clone()
            },
        ),
        (
            "MLP Tanh + LayerNorm",
            MlpConfig {
                activation: Activation::Tanh,
                normalization: Normalization::LayerNorm,
                ..base.clone()
            },
        ),
        (
            "MLP ReLU, softmax → cross-entropy",
            MlpConfig {
                activation: Activation::Relu,
                loss: LossKind::SoftmaxThenCrossEntropy,
                ..base
            },
        ),
    ]
}

/// The manual and the composed LayerNorm must give the same output and the same gradients.
fn agreement(
    manual: &mut LayerNorm<f64>,
    composed: &mut LayerNormComposed<f64>,
    x: &Array2<f64>,
    rng: &mut impl Rng,
    label: &str,
) -> CheckResult {
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
    compare(
        label,
        "y, ∂L/∂x, ∂L/∂γ, ∂L/∂β",
        x.shape(),
        &a,
        &b,
        Criterion::AllClose { atol: 1e-9, rtol: 1e-9 },
    )
}

// ---------------------------------------------------------------------------------------------------------
// Convolutional layers: small random images (odd sizes included), strides 1 and 2, paddings 0, 1 and 2.

const CONVOLUTION: Criterion = Criterion::RelError { max: 1e-5 };

/// A small random image geometry: `(batch, channels, height, width)`, sides 3–7.
fn random_images(rng: &mut impl Rng) -> (usize, usize, usize, usize) {
    let (batch, channels) = (rng.random_range(1..4), rng.random_range(1..4));
    (batch, channels, rng.random_range(3..8), rng.random_range(3..8))
}

/// Every convolutional layer per trial, then a small CNN end to end.
fn convolutional_checks(rng: &mut impl Rng, options: &SuiteOptions, worst: &mut Worst) {
    for trial in 0..options.trials {
        // cycle through strides 1, 2 and paddings 0, 1, 2 so that every combination of the two is met
        let (stride, padding) = (1 + trial % 2, trial % 3);

        let (n, c, h, w) = random_images(rng);
        let x = random_normal(rng, n, c * h * w);
        let config = Conv2dConfig::new(c, rng.random_range(1..4), rng.random_range(1..4), (h, w))
            .with_stride(stride)
            .with_padding(padding)
            .with_bias(trial % 4 != 3);
        let mut conv = Conv2d::<f64>::new(&config, rng).expect("kernel ≤ 3 fits a side ≥ 3");
        check_convolutional(worst, "Conv2d", &mut conv, &x, Mode::Train, rng);

        let kernel = rng.random_range(2..4);
        let padding = padding.min(kernel / 2);
        let pool = MaxPool2dConfig {
            channels: c,
            height: h,
            width: w,
            kernel,
            stride,
            padding,
        };
        let mut max_pool = MaxPool2d::new(&pool).expect("kernel ≤ 3 fits a side ≥ 3");
        let distinct = spaced_distinct_values(rng, n, c * h * w);
        check_convolutional(worst, "MaxPool2d", &mut max_pool, &distinct, Mode::Train, rng);

        let mut average = GlobalAvgPool::new(c).expect("c ≥ 1");
        check_convolutional(worst, "GlobalAvgPool", &mut average, &x, Mode::Train, rng);

        let shifted = &x * 2.0 + 10.0;
        let mut batch_norm = BatchNorm2d::<f64>::new(c).expect("c ≥ 1");
        randomize_batch_norm(&mut batch_norm.per_channel, rng);
        check_convolutional(
            worst,
            "BatchNorm2d (train)",
            &mut batch_norm,
            &shifted,
            Mode::Train,
            rng,
        );
        check_convolutional(worst, "BatchNorm2d (eval)", &mut batch_norm, &shifted, Mode::Eval, rng);

        let kernel = [1, 3][trial % 2];
        let mut block = PreActBlock::<f64>::new(c, (h, w), kernel, LinearInit::PyTorch, rng).expect("odd kernel ≤ 3");
        randomize_batch_norm(&mut block.batch_norm.per_channel, rng);
        check_convolutional(worst, "PreAct block", &mut block, &x, Mode::Train, rng);
    }

    // The whole network with PyTorch's gradcheck (criterion and step): its max-pools and ReLUs are
    // kinks, and a step of 1e-5 straddles one (two window values or a ReLU input within the step of each
    // other) in about 1 draw of 10 of this network; at 1e-6 in none of 100.
    let mut network = small_cnn(rng).expect("the small CNN's configuration is valid");
    let x = random_normal(rng, 4, network.input_features());
    let targets = random_targets(rng, 4, 5);
    // (and, as for the MLPs, a bias before BatchNorm has a true gradient of 0, where rel_error fails)
    let rows = check_network(
        &mut network,
        &x,
        &targets,
        Mode::Train,
        GRADCHECK_STEP,
        &|_| GRADCHECK,
        Sampling::All,
    );
    worst.add("Small CNN", rows);
}

/// The values `0.01·(i − len/2)` for `i < len` in random order: max-pooling is not differentiable where a
/// window's two largest values tie, and central differences straddle that kink when they lie within the step
/// `h` of each other. Distinct values spaced far above `h` (as PyTorch's pooling tests draw from `randperm`)
/// keep every check away from it.
fn spaced_distinct_values(rng: &mut impl Rng, rows: usize, cols: usize) -> Array2<f64> {
    let len = rows * cols;
    let mut values: Vec<f64> = (0..len).map(|i| 0.01 * (i as f64 - len as f64 / 2.0)).collect();
    values.shuffle(rng);
    Array2::from_shape_vec((rows, cols), values).expect("rows·cols values")
}

/// Checks one layer against central differences with the assignment's `rel_error < 1e-5`.
fn check_convolutional(
    worst: &mut Worst,
    kind: &str,
    layer: &mut dyn Layer<f64>,
    x: &Array2<f64>,
    mode: Mode,
    rng: &mut impl Rng,
) {
    worst.add("", by_kind(check_layer(layer, x, mode, CONVOLUTION, STEP, rng), kind));
}

/// Random γ ∈ [0.5, 1.5), β ∈ [−1, 1) and running statistics near the inputs' (mean 10, variance 4).
fn randomize_batch_norm(batch_norm: &mut BatchNorm1d<f64>, rng: &mut impl Rng) {
    let channels = batch_norm.features();
    batch_norm.gamma.value = Array1::from_shape_simple_fn(channels, || rng.random_range(0.5..1.5));
    batch_norm.beta.value = Array1::from_shape_simple_fn(channels, || rng.random_range(-1.0..1.0));
    batch_norm.running_mean = Array1::from_shape_simple_fn(channels, || rng.random_range(9.0..11.0));
    batch_norm.running_var = Array1::from_shape_simple_fn(channels, || rng.random_range(1.0..5.0));
}

/// The ConvNet in miniature on 2×7×7 images: conv → PreAct → 1×1 conv → max-pool 3×3/2 pad 1 (7 → 4) →
/// PreAct → BN → ReLU → global average pooling → linear to 5 classes.
fn small_cnn(rng: &mut impl Rng) -> Result<Network<f64>, crate::error::ConfigError> {
    let size = (7, 7);
    let pooled = (4, 4);
    let layers: Vec<Box<dyn Layer<f64>>> = vec![
        Box::new(Conv2d::new(&Conv2dConfig::new(2, 4, 3, size).with_padding(1), rng)?),
        Box::new(PreActBlock::new(4, size, 3, LinearInit::PyTorch, rng)?),
        Box::new(Conv2d::new(&Conv2dConfig::new(4, 6, 1, size), rng)?),
        Box::new(MaxPool2d::new(&MaxPool2dConfig::convnet(6, size))?),
        Box::new(PreActBlock::new(6, pooled, 3, LinearInit::PyTorch, rng)?),
        Box::new(BatchNorm2d::new(6)?),
        Box::new(Relu),
        Box::new(GlobalAvgPool::new(6)?),
        Box::new(Linear::new(6, 5, LinearInit::PyTorch, rng)),
    ];
    Ok(Network::new(layers, LossKind::SoftmaxCrossEntropy, 2 * 7 * 7))
}
