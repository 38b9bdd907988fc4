//! Properties of the layers beyond their gradients: normalisation statistics, running statistics,
//! buffer reuse, and the two LayerNorms agreeing in f32 too.
use backprop_lab::gradcheck::random_normal;
use backprop_lab::layers::{BatchNorm1d, Layer, LayerNorm, LayerNormComposed, Linear, LinearInit, Mode};
use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn layernorm_output_rows_have_zero_mean_and_unit_variance() {
    // the assignment: x = 2·randn + 10, batch 8–31, 64–255 features, |mean| < 1e-5, |var − 1| < 0.1
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..10 {
        let (n, m) = (rng.random_range(8..32), rng.random_range(64..256));
        let x = random_normal(&mut rng, n, m) * 2.0 + 10.0;
        for layer in [
            &mut LayerNorm::<f64>::new(m) as &mut dyn Layer<f64>,
            &mut LayerNormComposed::<f64>::new(m),
        ] {
            let mut y = Array2::zeros((0, 0));
            layer.forward(x.view(), &mut y, Mode::Train);
            for row in y.rows() {
                let mean = row.mean().unwrap_or(f64::NAN);
                let var = row.mapv(|v| (v - mean).powi(2)).mean().unwrap_or(f64::NAN);
                assert!(mean.abs() < 1e-5, "{}: row mean {mean}", layer.name());
                assert!((var - 1.0).abs() < 0.1, "{}: row variance {var}", layer.name());
            }
        }
    }
}

#[test]
fn layernorm_manual_and_composed_agree_in_f32() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x = (random_normal(&mut rng, 16, 100) * 2.0 + 10.0).mapv(|v| v as f32);
    let upstream = random_normal(&mut rng, 16, 100).mapv(|v| v as f32);
    let (mut manual, mut composed) = (LayerNorm::<f32>::new(100), LayerNormComposed::<f32>::new(100));
    let (mut y1, mut y2, mut dx1, mut dx2) = (
        Array2::zeros((0, 0)),
        Array2::zeros((0, 0)),
        Array2::zeros((0, 0)),
        Array2::zeros((0, 0)),
    );
    manual.forward(x.view(), &mut y1, Mode::Train);
    composed.forward(x.view(), &mut y2, Mode::Train);
    manual.backward(x.view(), y1.view(), upstream.view(), Some(&mut dx1));
    composed.backward(x.view(), y2.view(), upstream.view(), Some(&mut dx2));
    let max_diff =
        |a: &Array2<f32>, b: &Array2<f32>| a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max_diff(&y1, &y2) < 1e-5, "outputs differ by {}", max_diff(&y1, &y2));
    assert!(
        max_diff(&dx1, &dx2) < 1e-4,
        "input gradients differ by {}",
        max_diff(&dx1, &dx2)
    );
}

#[test]
fn batchnorm_running_statistics_follow_pytorch() {
    // running_mean ← 0.9·running_mean + 0.1·μ_B; running_var ← 0.9·running_var + 0.1·σ²_B·S/(S−1)
    let x = ndarray::array![[1.0f64, 10.0], [3.0, 20.0], [5.0, 60.0]];
    let mut bn = BatchNorm1d::<f64>::new(2);
    let mut y = Array2::zeros((0, 0));
    bn.forward(x.view(), &mut y, Mode::Train);
    let mean = x.mean_axis(Axis(0)).expect("rows");
    let unbiased = x.var_axis(Axis(0), 1.0);
    for j in 0..2 {
        assert!((bn.running_mean[j] - 0.1 * mean[j]).abs() < 1e-12);
        assert!((bn.running_var[j] - (0.9 + 0.1 * unbiased[j])).abs() < 1e-12);
    }
    // training output uses the biased batch variance: each column has mean 0 and variance 1 (up to ε)
    for column in y.columns() {
        let m = column.mean().expect("rows");
        let v = column.mapv(|v| (v - m).powi(2)).mean().expect("rows");
        assert!(m.abs() < 1e-12 && (v - 1.0).abs() < 1e-4, "mean {m}, variance {v}");
    }
    // evaluation uses the running statistics
    bn.forward(x.view(), &mut y, Mode::Eval);
    let expected = (x[[0, 0]] - bn.running_mean[0]) / (bn.running_var[0] + 1e-5).sqrt();
    assert!((y[[0, 0]] - expected).abs() < 1e-12);
}

#[test]
fn linear_init_matches_the_two_conventions() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let numpy = Linear::<f64>::new(3072, 100, LinearInit::Normal { std: 1e-4 }, &mut rng);
    let std = numpy.weight.value.std(0.0);
    assert!((std - 1e-4).abs() < 2e-6, "N(0, 1e-4²) init has std {std}");
    assert!(numpy.bias.value.iter().all(|&b| b == 0.0));
    let torch = Linear::<f64>::new(400, 50, LinearInit::PyTorch, &mut rng);
    let bound = 1.0 / 400f64.sqrt();
    assert!(torch
        .weight
        .value
        .iter()
        .chain(torch.bias.value.iter())
        .all(|v| v.abs() <= bound));
    // U(±b) has std b/√3
    let std = torch.weight.value.std(0.0);
    assert!(
        (std - bound / 3f64.sqrt()).abs() < 0.05 * bound,
        "kaiming-uniform std {std}"
    );
}

#[test]
fn linear_forward_is_x_w_transpose_plus_b() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut linear = Linear::<f64>::new(3, 2, LinearInit::PyTorch, &mut rng);
    linear.weight.value = ndarray::array![[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]];
    linear.bias.value = Array1::from(vec![0.5, -2.0]);
    let x = ndarray::array![[1.0, 1.0, 1.0], [2.0, 0.0, -1.0]];
    let mut y = Array2::zeros((0, 0));
    linear.forward(x.view(), &mut y, Mode::Train);
    assert_eq!(y, ndarray::array![[6.5, -2.5], [-0.5, -4.0]]);
}
