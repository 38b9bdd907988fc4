//! The convolutional layers: gradient checks (f64, central differences h = 1e-5, random small images with
//! odd sizes, strides 1 and 2, paddings 0–2), forward values against hand-computed examples, and clear
//! errors for impossible configurations.
use backprop_lab::gradcheck::random_normal;
use backprop_lab::layers::{
    BatchNorm2d, Conv2d, Conv2dConfig, GlobalAvgPool, Layer, LinearInit, MaxPool2d, MaxPool2dConfig, Mode, PreActBlock,
    Relu,
};
use ndarray::{array, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::{assert_rows_pass, suite};

fn forward<L: Layer<f64> + ?Sized>(layer: &mut L, x: &Array2<f64>, mode: Mode) -> Array2<f64> {
    let mut y = Array2::zeros((0, 0));
    layer.forward(x.view(), &mut y, mode);
    y
}

// ---------------------------------------------------------------------------------------------------------
// Gradient checks

#[test]
fn conv2d_dx_dw_db_within_1e_5() {
    assert_rows_pass("Conv2d", &["input", "weight", "bias"], 1e-5);
}

#[test]
fn maxpool2d_dx_within_1e_5() {
    assert_rows_pass("MaxPool2d", &["input"], 1e-5);
}

#[test]
fn batchnorm2d_in_training_and_evaluation_within_1e_5() {
    assert_rows_pass("BatchNorm2d (train)", &["input", "gamma", "beta"], 1e-5);
    assert_rows_pass("BatchNorm2d (eval)", &["input", "gamma", "beta"], 1e-5);
}

#[test]
fn global_average_pooling_dx_within_1e_5() {
    assert_rows_pass("GlobalAvgPool", &["input"], 1e-5);
}

#[test]
fn preact_block_dx_and_bn_and_conv_parameters_within_1e_5() {
    assert_rows_pass("PreAct block", &["input", "gamma", "beta", "weight", "bias"], 1e-5);
}

#[test]
fn small_cnn_checks_end_to_end() {
    let rows: Vec<_> = suite().iter().filter(|r| r.layer.starts_with("Small CNN")).collect();
    // input + 4 convolutions (weight, bias) + 3 BatchNorms (γ, β) + the linear layer (weight, bias)
    assert_eq!(rows.len(), 1 + 8 + 6 + 2, "a row per parameter tensor: {rows:#?}");
    assert!(rows.iter().all(|r| r.passed), "{rows:#?}");
    assert!(rows.iter().all(|r| r.tolerance <= 1e-5), "{rows:#?}");
}

// ---------------------------------------------------------------------------------------------------------
// Forward values

/// `y[n, o, i, j] = b[o] + Σ_{c, a, b} w[o, c, a, b] · x[n, c, i·s + a − p, j·s + b − p]`, straight from the
/// definition, with zeros outside the image.
fn direct_convolution(conv: &Conv2d<f64>, x: &Array2<f64>) -> Array2<f64> {
    let window = *conv.window();
    let (channels, h, w) = (window.channels, window.height as isize, window.width as isize);
    let (k, s, p) = (window.kernel, window.stride, window.padding as isize);
    let (oh, ow, out_channels) = (window.output_height(), window.output_width(), conv.out_channels());
    let mut y = Array2::zeros((x.nrows(), out_channels * oh * ow));
    for n in 0..x.nrows() {
        let image = x
            .row(n)
            .to_owned()
            .into_shape_with_order((channels, h as usize, w as usize))
            .expect("C×H×W");
        for o in 0..out_channels {
            for (i, j) in (0..oh).flat_map(|i| (0..ow).map(move |j| (i, j))) {
                let mut sum = conv.bias.as_ref().map_or(0.0, |b| b.value[o]);
                for c in 0..channels {
                    for (a, b) in (0..k).flat_map(|a| (0..k).map(move |b| (a, b))) {
                        let (r, q) = ((i * s + a) as isize - p, (j * s + b) as isize - p);
                        if (0..h).contains(&r) && (0..w).contains(&q) {
                            sum += conv.weight.value[[o, c, a, b]] * image[[c, r as usize, q as usize]];
                        }
                    }
                }
                y[[n, (o * oh + i) * ow + j]] = sum;
            }
        }
    }
    y
}

#[test]
fn conv2d_1_channel_3x3_on_4x4_input_matches_hand_computation() {
    // x[r, c] = 4r + c; w = [[1, 2, 0], [0, 1, 0], [0, 0, −1]], b = 0.5:
    // y[i, j] = x[i, j] + 2·x[i, j + 1] + x[i + 1, j + 1] − x[i + 2, j + 2] + 0.5 = 12i + 3j − 3 + 0.5
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut conv = Conv2d::<f64>::new(&Conv2dConfig::new(1, 1, 3, (4, 4)), &mut rng).expect("valid");
    conv.weight.value = array![[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]]
        .into_shape_with_order((1, 1, 3, 3))
        .expect("1×1×3×3");
    conv.bias.as_mut().expect("a bias by default").value[0] = 0.5;
    let x = Array2::from_shape_fn((1, 16), |(_, i)| i as f64);
    let y = forward(&mut conv, &x, Mode::Train);
    assert_eq!(y, array![[-2.5, 0.5, 9.5, 12.5]]);
}

#[test]
fn conv2d_matches_the_direct_definition_for_strides_paddings_and_channels() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (stride, padding, kernel) in [(1, 0, 3), (2, 1, 3), (2, 2, 3), (1, 1, 1), (3, 2, 2)] {
        let (c_in, c_out, h, w) = (
            rng.random_range(1..4),
            rng.random_range(1..4),
            rng.random_range(3..9),
            rng.random_range(3..9),
        );
        let config = Conv2dConfig::new(c_in, c_out, kernel, (h, w))
            .with_stride(stride)
            .with_padding(padding);
        let mut conv = Conv2d::<f64>::new(&config, &mut rng).expect("valid");
        let x = random_normal(&mut rng, 3, c_in * h * w);
        let y = forward(&mut conv, &x, Mode::Train);
        let expected = direct_convolution(&conv, &x);
        assert_eq!(y.dim(), expected.dim(), "{config:?}");
        let max_diff = y.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(
            max_diff < 1e-12,
            "{config:?}: im2col-GEMM differs from the definition by {max_diff}"
        );
        assert_eq!(conv.output_features(c_in * h * w), expected.ncols());
    }
}

#[test]
fn conv2d_in_groups_of_samples_matches_one_sample_at_a_time_within_1e_12() {
    // 12×12 maps have 144 positions: the layer convolves 2 samples per GEMM, so a batch of 5 makes the groups
    // 2, 2, 1; each sample alone must give the same output, ∂L/∂X and (summed) ∂L/∂W, ∂L/∂b
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let config = Conv2dConfig::new(3, 4, 3, (12, 12)).with_padding(1);
    let mut conv = Conv2d::<f64>::new(&config, &mut rng).expect("valid");
    let x = random_normal(&mut rng, 5, 3 * 12 * 12);
    let y = forward(&mut conv, &x, Mode::Train);
    let dy = random_normal(&mut rng, 5, y.ncols());
    let mut dx = Array2::zeros((0, 0));
    conv.backward(x.view(), y.view(), dy.view(), Some(&mut dx));
    let (dw, db) = (
        conv.weight.grad.clone(),
        conv.bias.as_ref().expect("a bias").grad.clone(),
    );
    let close = |a: &Array2<f64>, b: &Array2<f64>| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-12);
    assert!(
        close(&y, &direct_convolution(&conv, &x)),
        "forward differs from the definition"
    );
    let (mut dw_sum, mut db_sum) = (dw.mapv(|_| 0.0), db.mapv(|_| 0.0));
    for n in 0..5 {
        let x_n = x.slice(ndarray::s![n..n + 1, ..]).to_owned();
        let y_n = forward(&mut conv, &x_n, Mode::Train);
        assert!(
            close(&y_n, &y.slice(ndarray::s![n..n + 1, ..]).to_owned()),
            "output of sample {n}"
        );
        let mut dx_n = Array2::zeros((0, 0));
        conv.backward(
            x_n.view(),
            y_n.view(),
            dy.slice(ndarray::s![n..n + 1, ..]),
            Some(&mut dx_n),
        );
        assert!(
            close(&dx_n, &dx.slice(ndarray::s![n..n + 1, ..]).to_owned()),
            "∂L/∂X of sample {n}"
        );
        dw_sum += &conv.weight.grad;
        db_sum += &conv.bias.as_ref().expect("a bias").grad;
    }
    assert!(dw.iter().zip(&dw_sum).all(|(a, b)| (a - b).abs() < 1e-12), "∂L/∂W");
    assert!(db.iter().zip(&db_sum).all(|(a, b)| (a - b).abs() < 1e-12), "∂L/∂b");
}

#[test]
fn conv2d_pytorch_init_is_uniform_within_one_over_sqrt_fan_in() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let conv = Conv2d::<f64>::new(&Conv2dConfig::new(3, 64, 3, (32, 32)).with_padding(1), &mut rng).expect("valid");
    let bound = 1.0 / (3.0f64 * 3.0 * 3.0).sqrt();
    let bias = conv.bias.as_ref().expect("a bias by default");
    assert!(conv
        .weight
        .value
        .iter()
        .chain(bias.value.iter())
        .all(|v| v.abs() <= bound));
    // the samples fill the interval: the largest magnitude is close to the bound
    assert!(conv.weight.value.iter().fold(0.0f64, |m, v| m.max(v.abs())) > 0.95 * bound);
    assert_eq!(conv.weight.value.shape(), &[64, 3, 3, 3]);

    let normal = Conv2dConfig::new(3, 8, 3, (8, 8))
        .with_init(LinearInit::Normal { std: 1e-4 })
        .with_bias(false);
    let conv = Conv2d::<f64>::new(&normal, &mut rng).expect("valid");
    assert!(conv.bias.is_none());
    assert!(conv.weight.value.iter().all(|v| v.abs() < 1e-3));
}

#[test]
fn conv2d_in_f32_agrees_with_f64_within_1e_5() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let config = Conv2dConfig::new(2, 3, 3, (5, 6)).with_stride(2).with_padding(1);
    let mut conv64 = Conv2d::<f64>::new(&config, &mut rng.clone()).expect("valid");
    let mut conv32 = Conv2d::<f32>::new(&config, &mut rng).expect("valid");
    let x = random_normal(&mut ChaCha8Rng::seed_from_u64(5), 2, 2 * 5 * 6);
    let y64 = forward(&mut conv64, &x, Mode::Train);
    let mut y32 = Array2::zeros((0, 0));
    conv32.forward(x.mapv(|v| v as f32).view(), &mut y32, Mode::Train);
    let max_diff = y64
        .iter()
        .zip(&y32)
        .map(|(a, &b)| (a - b as f64).abs())
        .fold(0.0, f64::max);
    assert!(max_diff < 1e-5, "f32 and f64 differ by {max_diff}");
}

#[test]
fn maxpool_3x3_stride_2_pad_1_halves_32_to_16() {
    let pool = MaxPool2d::new(&MaxPool2dConfig::convnet(64, (32, 32))).expect("valid");
    assert_eq!((pool.window().output_height(), pool.window().output_width()), (16, 16));
    assert_eq!(Layer::<f32>::output_features(&pool, 64 * 32 * 32), 64 * 16 * 16);
    // and on down the ConvNet: 16 → 8 → 4 → 2 → 1
    for (side, half) in [(16, 8), (8, 4), (4, 2), (2, 1)] {
        let pool = MaxPool2d::new(&MaxPool2dConfig::convnet(1, (side, side))).expect("valid");
        assert_eq!(pool.window().output_height(), half);
    }
}

#[test]
fn maxpool_takes_window_maxima_with_padding_as_minus_infinity() {
    // x[r, c] = −(4r + c) − 1 < 0: a zero padding would win every border window; −∞ never does
    let x = Array2::from_shape_fn((1, 16), |(_, i)| -(i as f64) - 1.0);
    let mut pool = MaxPool2d::new(&MaxPool2dConfig::convnet(1, (4, 4))).expect("valid");
    let y = forward(&mut pool, &x, Mode::Train);
    // windows cover rows/columns {−1, 0, 1} and {1, 2, 3}: maxima at (0, 0), (0, 1), (1, 0), (1, 1)
    assert_eq!(y, array![[-1.0, -2.0, -5.0, -6.0]]);

    let x = Array2::from_shape_fn((1, 16), |(_, i)| i as f64);
    let config = MaxPool2dConfig {
        channels: 1,
        height: 4,
        width: 4,
        kernel: 2,
        stride: 2,
        padding: 0,
    };
    let mut pool = MaxPool2d::new(&config).expect("valid");
    assert_eq!(forward(&mut pool, &x, Mode::Train), array![[5.0, 7.0, 13.0, 15.0]]);
}

#[test]
fn maxpool_backward_routes_the_gradient_to_the_argmax_and_ties_to_the_first() {
    let config = MaxPool2dConfig {
        channels: 1,
        height: 4,
        width: 4,
        kernel: 2,
        stride: 2,
        padding: 0,
    };
    let mut pool = MaxPool2d::new(&config).expect("valid");
    let x = Array2::from_shape_fn((1, 16), |(_, i)| i as f64);
    let y = forward(&mut pool, &x, Mode::Train);
    let upstream = array![[1.0, 2.0, 3.0, 4.0]];
    let mut dx = Array2::zeros((0, 0));
    Layer::<f64>::backward(&mut pool, x.view(), y.view(), upstream.view(), Some(&mut dx));
    let mut expected = Array2::zeros((1, 16));
    for (pixel, g) in [(5, 1.0), (7, 2.0), (13, 3.0), (15, 4.0)] {
        expected[[0, pixel]] = g;
    }
    assert_eq!(dx, expected);

    // a constant image: every window's first pixel (row-major) takes the gradient
    let x = Array2::from_elem((1, 16), 3.0);
    let y = forward(&mut pool, &x, Mode::Train);
    Layer::<f64>::backward(&mut pool, x.view(), y.view(), upstream.view(), Some(&mut dx));
    let mut expected = Array2::zeros((1, 16));
    for (pixel, g) in [(0, 1.0), (2, 2.0), (8, 3.0), (10, 4.0)] {
        expected[[0, pixel]] = g;
    }
    assert_eq!(dx, expected);
}

#[test]
fn batchnorm2d_normalises_each_channel_over_batch_and_pixels() {
    // channel c of every image is 3·randn + 10·c: after BN each channel has mean 0 and variance 1 over N·H·W
    let (n, channels, pixels) = (5, 3, 6 * 7);
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let noise = random_normal(&mut rng, n, channels * pixels);
    let x = Array2::from_shape_fn((n, channels * pixels), |(s, f)| {
        3.0 * noise[[s, f]] + 10.0 * (f / pixels) as f64
    });
    let mut bn = BatchNorm2d::<f64>::new(channels).expect("valid");
    let y = forward(&mut bn, &x, Mode::Train);
    let values = |a: &Array2<f64>, c: usize| -> Vec<f64> {
        a.rows()
            .into_iter()
            .flat_map(|row| row.slice(ndarray::s![c * pixels..(c + 1) * pixels]).to_vec())
            .collect()
    };
    for c in 0..channels {
        let count = (n * pixels) as f64;
        let (input, output) = (values(&x, c), values(&y, c));
        let mean = input.iter().sum::<f64>() / count;
        let unbiased = input.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (count - 1.0);
        let out_mean = output.iter().sum::<f64>() / count;
        let out_var = output.iter().map(|v| (v - out_mean).powi(2)).sum::<f64>() / count;
        assert!(out_mean.abs() < 1e-12, "channel {c}: mean {out_mean}");
        assert!((out_var - 1.0).abs() < 1e-5, "channel {c}: variance {out_var}");
        // running statistics: momentum 0.1, unbiased variance over the N·H·W values
        assert!((bn.per_channel.running_mean[c] - 0.1 * mean).abs() < 1e-12);
        assert!((bn.per_channel.running_var[c] - (0.9 + 0.1 * unbiased)).abs() < 1e-12);
    }
    // evaluation uses the running statistics: y = (x − running_mean)/√(running_var + ε)
    let eval = forward(&mut bn, &x, Mode::Eval);
    let (mean, var) = (bn.per_channel.running_mean[1], bn.per_channel.running_var[1]);
    let expected = (x[[0, pixels]] - mean) / (var + 1e-5).sqrt();
    assert!((eval[[0, pixels]] - expected).abs() < 1e-12);
}

#[test]
fn global_average_pooling_takes_each_channels_mean() {
    let mut pool = GlobalAvgPool::new(2).expect("valid");
    let x = array![[1.0, 2.0, 3.0, 6.0, 10.0, 20.0, 30.0, 40.0]];
    assert_eq!(forward(&mut pool, &x, Mode::Train), array![[3.0, 25.0]]);
    let mut dx = Array2::zeros((0, 0));
    Layer::<f64>::backward(
        &mut pool,
        x.view(),
        array![[4.0, 8.0]].view(),
        array![[4.0, 8.0]].view(),
        Some(&mut dx),
    );
    assert_eq!(dx, array![[1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]]);
}

#[test]
fn preact_block_is_x_plus_conv_of_relu_of_batchnorm() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut block = PreActBlock::<f64>::new(3, (5, 5), 3, LinearInit::PyTorch, &mut rng).expect("valid");
    let x = random_normal(&mut rng, 4, 3 * 5 * 5);
    let y = forward(&mut block, &x, Mode::Train);
    let normalized = forward(&mut block.batch_norm.clone(), &x, Mode::Train);
    let activated = forward(&mut Relu, &normalized, Mode::Train);
    let residual = forward(&mut block.conv, &activated, Mode::Train);
    let max_diff = y
        .iter()
        .zip((&x + &residual).iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(max_diff < 1e-12, "y differs from x + Conv(ReLU(BN(x))) by {max_diff}");

    // with a zero convolution the block is the identity, forward and backward
    block.conv.weight.value.fill(0.0);
    block.conv.bias.as_mut().expect("a bias by default").value.fill(0.0);
    let y = forward(&mut block, &x, Mode::Train);
    assert_eq!(y, x);
    let upstream = random_normal(&mut rng, 4, 3 * 5 * 5);
    let mut dx = Array2::zeros((0, 0));
    block.backward(x.view(), y.view(), upstream.view(), Some(&mut dx));
    assert_eq!(dx, upstream);
}

// ---------------------------------------------------------------------------------------------------------
// Invalid configurations are errors, not panics

#[test]
fn conv2d_rejects_a_kernel_larger_than_the_padded_input() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let error = Conv2d::<f32>::new(&Conv2dConfig::new(3, 8, 5, (3, 3)), &mut rng).expect_err("5 > 3");
    assert_eq!(error.field, "kernel size");
    assert!(
        error.to_string().contains("at most the padded input size 3×3"),
        "{error}"
    );
    // padding makes room: 3 + 2·1 = 5
    assert!(Conv2d::<f32>::new(&Conv2dConfig::new(3, 8, 5, (3, 3)).with_padding(1), &mut rng).is_ok());
}

#[test]
fn conv2d_rejects_zero_channels_zero_stride_and_zero_kernel() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let cases = [
        (Conv2dConfig::new(0, 8, 3, (8, 8)), "channels"),
        (Conv2dConfig::new(3, 0, 3, (8, 8)), "output channels"),
        (Conv2dConfig::new(3, 8, 3, (8, 8)).with_stride(0), "stride"),
        (Conv2dConfig::new(3, 8, 0, (8, 8)), "kernel size"),
        (Conv2dConfig::new(3, 8, 3, (0, 8)), "input height"),
        (
            Conv2dConfig::new(3, 8, 3, (8, 8)).with_init(LinearInit::Normal { std: f64::NAN }),
            "init std",
        ),
    ];
    for (config, field) in cases {
        let error = Conv2d::<f32>::new(&config, &mut rng).expect_err(field);
        assert_eq!(error.field, field, "{config:?}: {error}");
    }
}

#[test]
fn pooling_normalisation_and_block_reject_invalid_configurations() {
    let pool = |kernel, stride, padding| MaxPool2dConfig {
        channels: 4,
        height: 8,
        width: 8,
        kernel,
        stride,
        padding,
    };
    assert_eq!(
        MaxPool2d::new(&pool(3, 2, 2)).expect_err("padding 2 > 3/2").field,
        "padding"
    );
    assert_eq!(MaxPool2d::new(&pool(3, 0, 1)).expect_err("stride 0").field, "stride");
    assert_eq!(MaxPool2d::new(&pool(9, 1, 0)).expect_err("9 > 8").field, "kernel size");
    assert_eq!(
        MaxPool2d::new(&MaxPool2dConfig {
            channels: 0,
            ..pool(2, 2, 0)
        })
        .expect_err("0 channels")
        .field,
        "channels"
    );
    assert_eq!(BatchNorm2d::<f32>::new(0).expect_err("0 channels").field, "channels");
    assert_eq!(GlobalAvgPool::new(0).expect_err("0 channels").field, "channels");
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let even = PreActBlock::<f32>::new(4, (8, 8), 2, LinearInit::PyTorch, &mut rng);
    assert_eq!(even.expect_err("an even kernel changes the size").field, "kernel size");
    let empty = PreActBlock::<f32>::new(0, (8, 8), 3, LinearInit::PyTorch, &mut rng);
    assert_eq!(empty.expect_err("0 channels").field, "channels");
}
