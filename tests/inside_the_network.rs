//! The "inside the network" views of the session: one test image through every layer, every convolution's
//! kernels, and the activation functions with their derivatives, checked against the core's own passes.
use backprop_lab::data::{self, SyntheticConfig};
use backprop_lab::layers::Mode;
use backprop_lab::session::activation_curves::{activation_curves, POINTS, RANGE};
use backprop_lab::session::{PageConfig, Reply, Request, Response, Session};
use backprop_lab::train::Trainer;
use ndarray::Array2;

fn small_data() -> data::Dataset {
    data::synthetic(&SyntheticConfig {
        seed: 3,
        train_size: 200,
        test_size: 50,
    })
}

fn send(session: &mut Session, request: Request) -> Reply {
    let clock = std::time::Instant::now();
    let now = move || clock.elapsed().as_secs_f64() * 1000.0;
    session.dispatch(request, &[], &[], &now)
}

/// A session of `query` after `steps` steps, and a trainer trained the same way on its own.
fn trained(query: &str, steps: usize) -> (Session, Trainer, data::Dataset) {
    let config = PageConfig::from_query(query).expect("valid query");
    let mut session = Session::new(small_data(), config.clone());
    let reply = send(
        &mut session,
        Request::Step {
            steps,
            budget_ms: f64::INFINITY,
        },
    );
    assert!(matches!(reply.response, Response::Progress(_)), "{:?}", reply.response);
    let dataset = small_data();
    let mut trainer = Trainer::new(config.to_train_config().unwrap(), &dataset).unwrap();
    for _ in 0..steps {
        trainer.step(&dataset).unwrap();
    }
    (session, trainer, dataset)
}

/// Every layer's output for test image `image`, from a plain forward pass in evaluation mode.
fn forward_outputs(trainer: &mut Trainer, dataset: &data::Dataset, image: usize) -> Vec<Array2<f32>> {
    let (mut x, mut labels) = (Array2::zeros((0, 0)), Vec::new());
    let preprocessor = trainer.preprocessor().clone();
    preprocessor.fill_batch(&dataset.test, &[image], &mut x, &mut labels);
    let network = trainer.network_mut();
    network.forward(x.view(), Mode::Eval);
    (0..network.layers().len())
        .map(|i| network.activation(i).to_owned())
        .collect()
}

fn check_image_activations(query: &str, expected_shapes: &[Vec<usize>]) {
    let image = 7;
    let (mut session, mut trainer, dataset) = trained(query, 3);
    let (activations, outputs) = session.image_activations(image).expect("activations");
    let shapes: Vec<Vec<usize>> = activations.layers.iter().map(|l| l.shape.clone()).collect();
    assert_eq!(shapes, expected_shapes);
    assert_eq!(activations.steps_done, 3);
    assert_eq!(activations.label, usize::from(dataset.test.labels[image]));
    let expected = forward_outputs(&mut trainer, &dataset, image);
    assert_eq!(outputs.len(), expected.len());
    for ((layer, got), want) in activations.layers.iter().zip(&outputs).zip(&expected) {
        assert_eq!(got.nrows(), 1, "one image");
        assert_eq!(got.len(), layer.shape.iter().product::<usize>(), "{}", layer.name);
        let worst = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(
            worst <= 1e-5,
            "{}: differs from the forward pass by {worst}",
            layer.name
        );
        let (min, max) = got
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert!((layer.min - f64::from(min)).abs() < 1e-6 && (layer.max - f64::from(max)).abs() < 1e-6);
    }
    // The page's reply: the image's tile, then each layer's tiles, black at the minimum and white at the maximum.
    let reply = send(&mut session, Request::ImageActivations { image });
    let Response::ImageActivations(page) = reply.response else {
        panic!("expected image activations, found {:?}", reply.response)
    };
    assert_eq!(page, activations);
    let image_bytes = 32 * 32 * 4;
    let total: usize = page.layers.iter().map(|l| l.pixel_bytes()).sum();
    assert_eq!(reply.pixels.len(), image_bytes + total);
    let mut offset = image_bytes;
    for layer in &page.layers {
        let tiles = &reply.pixels[offset..offset + layer.pixel_bytes()];
        offset += layer.pixel_bytes();
        let greys: Vec<u8> = tiles.chunks_exact(4).filter(|p| p[3] == 255).map(|p| p[0]).collect();
        if layer.max > layer.min && layer.maps == layer.shape[0].min(16) {
            // the extremes may lie in a channel beyond those sent, so only a vector is sure to hold both
            if layer.shape.len() == 1 {
                assert_eq!(greys.iter().min(), Some(&0), "{}", layer.name);
                assert_eq!(greys.iter().max(), Some(&255), "{}", layer.name);
            }
        }
    }
    // The view changes as the model trains.
    send(
        &mut session,
        Request::Step {
            steps: 2,
            budget_ms: f64::INFINITY,
        },
    );
    let (after, outputs_after) = session.image_activations(image).unwrap();
    assert_eq!(after.steps_done, 5);
    let last = outputs.len() - 1;
    assert!(
        outputs[last].iter().zip(&outputs_after[last]).any(|(a, b)| a != b),
        "the output changed with two more steps"
    );
}

#[test]
fn one_image_through_every_layer_of_an_mlp_equals_the_forward_pass() {
    let query = "model=mlp&hidden=20,12&act=tanh&norm=batch-norm&opt=adam&lr=0.001&batch=20&steps=10&eval=5&seed=4";
    let v = |n: usize| vec![n];
    let shapes = [v(20), v(20), v(20), v(12), v(12), v(12), v(10)];
    check_image_activations(query, &shapes);
}

#[test]
fn one_image_through_every_layer_of_a_cnn_has_its_feature_map_shapes() {
    let query = "model=small-cnn&steps=10&eval=5&batch=8";
    let (mut session, _, _) = trained(query, 0);
    let (activations, _) = session.image_activations(0).unwrap();
    let shapes: Vec<Vec<usize>> = activations.layers.iter().map(|l| l.shape.clone()).collect();
    assert_eq!(shapes[0], vec![24, 32, 32], "the first convolution's feature maps");
    assert_eq!(shapes.last(), Some(&vec![10]), "the class scores");
    assert!(activations.layers.iter().all(|l| l.maps <= 16));
    check_image_activations(query, &shapes);
}

#[test]
fn an_image_index_beyond_the_test_set_is_named() {
    let (mut session, _, _) = trained("model=mlp&hidden=8&steps=2&batch=10&eval=1", 0);
    let reply = send(&mut session, Request::ImageActivations { image: 50 });
    let message = reply.response.message();
    assert!(message.contains("below 50") && message.contains("50"), "{message}");
}

#[test]
fn every_convolution_shows_its_kernels_scaled_per_output_channel() {
    let (mut session, mut trainer, _) = trained("model=small-cnn&steps=10&eval=5&batch=8", 1);
    let first = send(&mut session, Request::Kernels { tensor: None });
    let Response::Kernels(kernels) = first.response else {
        panic!("expected kernels, found {:?}", first.response)
    };
    assert!(kernels.tensors.len() >= 2, "the small CNN has several convolutions");
    assert_eq!(kernels.shown, 0);
    let deeper = kernels.tensors.len() - 1;
    let reply = send(&mut session, Request::Kernels { tensor: Some(deeper) });
    let Response::Kernels(last) = reply.response else {
        panic!("expected kernels, found {:?}", reply.response)
    };
    let tensor = &last.tensors[deeper];
    let [out_channels, in_channels, size, _] = tensor.shape[..] else {
        panic!("a 4-d weight")
    };
    assert!(in_channels > 3, "a deeper convolution reads feature maps, not RGB");
    assert_eq!(
        (last.outputs, last.inputs, last.size),
        (out_channels.min(32), in_channels.min(16), size)
    );
    assert_eq!(reply.pixels.len(), last.outputs * last.inputs * size * size * 4);
    // Each output channel's tiles: grey is 0, its largest |weight| is black or white; values as in the model.
    let mut weights = Vec::new();
    trainer.network_mut().visit_params(&mut |layer, p| {
        if layer == tensor.layer && p.name == tensor.parameter {
            weights = p.value.to_vec();
        }
    });
    let plane = size * size;
    for (o, row) in reply.pixels.chunks_exact(last.inputs * plane * 4).enumerate() {
        let kernel = &weights[o * in_channels * plane..(o + 1) * in_channels * plane];
        let scale = kernel.iter().fold(0f32, |m, v| m.max(v.abs()));
        let greys: Vec<u8> = row.chunks_exact(4).map(|p| p[0]).collect();
        for (i, &grey) in greys.iter().enumerate() {
            let (input, position) = (i / plane, i % plane);
            let expected = 127.5 + 127.5 * kernel[input * plane + position] / scale;
            assert!(
                (f32::from(grey) - expected).abs() <= 0.5 + 1e-3,
                "channel {o}, entry {i}"
            );
        }
    }
    let beyond = send(&mut session, Request::Kernels { tensor: Some(99) });
    assert!(beyond.response.message().contains("below"), "{:?}", beyond.response);
    let mut mlp = Session::new(small_data(), PageConfig::from_query("model=mlp&hidden=8").unwrap());
    let none = send(&mut mlp, Request::Kernels { tensor: None });
    assert!(none.response.message().contains("without any"), "{:?}", none.response);
}

#[test]
fn activation_curves_come_from_the_layers_and_match_the_formulas() {
    let curves = activation_curves();
    let names: Vec<&str> = curves.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ELU", "ReLU", "Tanh"]);
    for curve in &curves {
        assert_eq!(curve.x.len(), POINTS);
        assert_eq!((curve.x[0], curve.x[POINTS - 1]), (-RANGE, RANGE));
        for ((&x, &h), &dh) in curve.x.iter().zip(&curve.value).zip(&curve.derivative) {
            let (value, derivative) = match curve.name.as_str() {
                "ELU" if x > 0.0 => (x, 1.0),
                "ELU" => (x.exp() - 1.0, x.exp()),
                "ReLU" if x > 0.0 => (x, 1.0),
                "ReLU" => (0.0, 0.0),
                _ => (x.tanh(), 1.0 - x.tanh().powi(2)),
            };
            assert!((h - value).abs() < 1e-12, "{} at {x}", curve.name);
            assert!((dh - derivative).abs() < 1e-12, "{}′ at {x}", curve.name);
        }
        // h′ is the slope of h: the mean of h′ at two neighbours against their difference quotient
        let dx = curve.x[1] - curve.x[0];
        for i in 0..POINTS - 1 {
            let (x0, x1) = (curve.x[i], curve.x[i + 1]);
            if x0 < 1e-9 && x1 > -1e-9 {
                continue; // ReLU's kink
            }
            let quotient = (curve.value[i + 1] - curve.value[i]) / dx;
            let mean = 0.5 * (curve.derivative[i] + curve.derivative[i + 1]);
            assert!((quotient - mean).abs() < 2e-3, "{} between {x0} and {x1}", curve.name);
        }
    }
}

#[test]
fn the_views_replies_survive_the_trip_to_the_page() {
    let (mut session, _, _) = trained("model=small-cnn&steps=4&eval=2&batch=8", 1);
    let requests = [
        Request::ActivationCurves,
        Request::ImageActivations { image: 3 },
        Request::Kernels { tensor: Some(1) },
    ];
    for request in requests {
        let sent: Request = serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
        assert_eq!(sent, request);
        let reply = send(&mut session, sent);
        assert_ne!(reply.response.kind(), "error", "{:?}", reply.response);
        let received: Response = serde_json::from_value(serde_json::to_value(&reply.response).unwrap())
            .unwrap_or_else(|error| panic!("{request:?}: {error}"));
        assert_eq!(received, reply.response, "{request:?}");
    }
}
