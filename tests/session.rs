//! The page's session driven natively, message by message, as the page's worker drives it.
use backprop_lab::data::{self, write_archive, write_binary_batch, ArchiveFormat, Part, SyntheticConfig};
use backprop_lab::session::{resize_to_cifar, NextShare, PageConfig, Reply, Request, Session};
use serde_json::Value;

fn small_data() -> data::Dataset {
    data::synthetic(&SyntheticConfig {
        seed: 3,
        train_size: 400,
        test_size: 100,
    })
}

const QUERY: &str = "model=mlp&hidden=32&act=elu&norm=batch-norm&opt=adam&lr=0.001&batch=40&steps=30&eval=10&seed=5";

fn session() -> Session {
    Session::new(small_data(), PageConfig::from_query(QUERY).expect("valid query"))
}

fn send(session: &mut Session, request: Request) -> (Value, Reply) {
    send_with(session, request, &[], &[])
}

fn send_with(session: &mut Session, request: Request, files: &[(String, Vec<u8>)], pixels: &[u8]) -> (Value, Reply) {
    let clock = std::time::Instant::now();
    let now = move || clock.elapsed().as_secs_f64() * 1000.0;
    let reply = session.dispatch(request, files, pixels, &now);
    let json: Value = serde_json::to_value(&reply.response).expect("replies are JSON");
    (json, reply)
}

fn step(session: &mut Session, steps: usize) -> Value {
    send(
        session,
        Request::Step {
            steps,
            budget_ms: f64::INFINITY,
        },
    )
    .0
}

#[test]
fn stepping_in_chunks_gives_the_same_curve_as_in_one_go() {
    let mut one = session();
    let all = step(&mut one, 30);
    assert_eq!(all["type"], "progress");
    assert_eq!(all["steps_done"], 30);
    assert_eq!(all["finished"], true);
    assert_eq!(all["points"].as_array().unwrap().len(), 3);

    let mut chunked = session();
    let mut points = Vec::new();
    let mut batches = Vec::new();
    for chunk in [1, 10, 7, 12, 5] {
        let progress = step(&mut chunked, chunk);
        points.extend(progress["points"].as_array().unwrap().clone());
        batches.extend(progress["batches"].as_array().unwrap().clone());
    }
    assert_eq!(Value::Array(points), all["points"]);
    assert_eq!(Value::Array(batches), all["batches"]);

    // A budget of 0 ms still makes progress, one step at a time.
    let mut slow = session();
    let progress = send(
        &mut slow,
        Request::Step {
            steps: 30,
            budget_ms: 0.0,
        },
    )
    .0;
    assert_eq!(progress["steps_done"], 1);

    // Reset starts over from the seed: the same first batch loss again.
    let (state, _) = send(&mut one, Request::Reset);
    assert_eq!(state["steps_done"], 0);
    let again = step(&mut one, 1);
    assert_eq!(again["batches"][0], all["batches"][0]);
}

#[test]
fn a_huge_learning_rate_stops_training_with_a_reason() {
    let mut session = Session::new(
        small_data(),
        PageConfig::from_query("model=mlp&hidden=64&opt=sgd&lr=100&batch=40&steps=200&eval=50").unwrap(),
    );
    let progress = step(&mut session, 200);
    let reason = progress["stopped"].as_str().expect("training stops");
    assert!(reason.contains("learning rate"), "{reason}");
    assert!(progress["steps_done"].as_u64().unwrap() < 200);
}

#[test]
fn the_state_describes_data_model_and_samples() {
    let mut session = session();
    let (state, reply) = send(&mut session, Request::State);
    assert_eq!(state["type"], "state");
    assert_eq!(state["data"]["train"], 400);
    assert_eq!(state["data"]["test"], 100);
    let per_class: u64 = state["data"]["train_per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_class, 400);
    let tiles = state["data"]["sample_labels"].as_array().unwrap().len();
    assert_eq!(tiles, 80);
    assert_eq!(reply.pixels.len(), tiles * 32 * 32 * 4);
    // Linear, BatchNorm, ELU, Linear: 3072·32 + 32 + 2·32 + 32·10 + 10 parameters.
    let layers = state["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4);
    assert_eq!(state["parameters"], 3072 * 32 + 32 + 64 + 320 + 10);
    assert_eq!(layers[3]["output"], "10");
    assert!(state["problem"].is_null());
}

#[test]
fn dropped_files_switch_the_data_and_bad_ones_keep_it() {
    let mut session = session();
    step(&mut session, 5);
    let extra = data::synthetic(&SyntheticConfig {
        seed: 11,
        train_size: 120,
        test_size: 60,
    });
    // A corrupt file: a clear message, nothing changes (the run keeps its steps).
    let (error, _) = send_with(
        &mut session,
        Request::AddFiles,
        &[("data_batch_1.bin".into(), vec![7u8; 5000])],
        &[],
    );
    assert_eq!(error["type"], "error");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("data_batch_1.bin") && message.contains("kept"),
        "{message}"
    );
    assert_eq!(session.dataset().train.len(), 400);
    assert_eq!(session.trainer().unwrap().steps_done(), 5);

    // Training batch alone: waits for the test batch.
    let train = write_binary_batch(&extra.train);
    let (pending, _) = send_with(
        &mut session,
        Request::AddFiles,
        &[("data_batch_1.bin".into(), train)],
        &[],
    );
    assert_eq!(pending["type"], "pending", "{pending}");
    assert!(pending["message"].as_str().unwrap().contains("test batch"));
    assert_eq!(session.dataset().train.len(), 400);

    let test = write_binary_batch(&extra.test);
    let (state, _) = send_with(&mut session, Request::AddFiles, &[("test_batch.bin".into(), test)], &[]);
    assert_eq!(state["type"], "state", "{state}");
    assert_eq!(state["data"]["train"], 120);
    assert_eq!(state["data"]["test"], 60);
    assert_eq!(state["data"]["class_names"][0], "airplane");
    assert_eq!(session.dataset().train.images, extra.train.images);

    // A whole archive at once.
    let archive = write_archive(&extra, ArchiveFormat::Python, 2);
    let (state, _) = send_with(
        &mut session,
        Request::AddFiles,
        &[("cifar-10-python.tar.gz".into(), archive)],
        &[],
    );
    assert_eq!(state["type"], "state", "{state}");
    assert_eq!(state["data"]["train"], 120);
    assert_eq!(session.dataset().split(Part::Test).labels, extra.test.labels);
    let progress = step(&mut session, 3);
    assert_eq!(progress["steps_done"], 3);
}

#[test]
fn the_current_model_passes_its_gradient_check() {
    let mut session = session();
    step(&mut session, 10);
    let (reply, _) = send(&mut session, Request::CheckGradients);
    assert_eq!(reply["type"], "gradients", "{reply}");
    let rows = reply["rows"].as_array().unwrap();
    // input + (W, b) + (γ, β) + (W, b)
    assert_eq!(rows.len(), 7);
    for row in rows {
        assert_eq!(row["passed"], true, "{row}");
        assert!(row["margin"].as_f64().unwrap() < 1.0);
    }
    assert!(
        rows[1]["parameter"].as_str().unwrap().contains("entries"),
        "large tensors are sampled"
    );
}

#[test]
fn the_sampled_check_tells_good_gradients_from_bad_differences() {
    use backprop_lab::gradcheck::{check_network, Criterion, Sampling};
    use backprop_lab::layers::Mode;
    use backprop_lab::model::MlpConfig;
    use rand::SeedableRng;
    let config = MlpConfig {
        input_features: 20,
        hidden: vec![8],
        classes: 4,
        ..MlpConfig::default()
    };
    let mut network = config.build::<f64>(1).unwrap();
    let x = ndarray::Array2::from_shape_fn((3, 20), |(i, j)| ((i * 20 + j) as f64 * 0.37).sin());
    let targets = [0, 3, 1];
    let criterion = |_: &str| Criterion::AllClose { atol: 1e-5, rtol: 1e-3 };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let good = check_network(
        &mut network,
        &x,
        &targets,
        Mode::Train,
        1e-5,
        &criterion,
        Sampling::AtMost {
            entries: 10,
            rng: &mut rng,
        },
    );
    assert!(good.iter().all(|row| row.passed), "{good:?}");
    // The same check must notice a disagreement: with weights ×50 (ELU far into its curve) and a far too
    // coarse step, central differences no longer match the exact gradients.
    let mut broken = config.build::<f64>(1).unwrap();
    broken.visit_params(&mut |layer, p| {
        if layer == 0 && p.name == "weight" {
            p.value.iter_mut().for_each(|v| *v *= 50.0);
        }
    });
    let rows = check_network(
        &mut broken,
        &x,
        &targets,
        Mode::Train,
        1e-1,
        &criterion,
        Sampling::AtMost {
            entries: 10,
            rng: &mut rng,
        },
    );
    assert!(
        rows.iter().any(|row| !row.passed),
        "a far too large step must fail: {rows:?}"
    );
}

#[test]
fn layer_view_filters_results_and_classification() {
    let mut session = session();
    step(&mut session, 30);
    let (layer, _) = send(&mut session, Request::Layer { index: 0 });
    assert_eq!(layer["type"], "layer", "{layer}");
    assert_eq!(layer["name"], "Linear(3072→32)");
    assert_eq!(layer["formulas"]["kind"], "Linear");
    assert_eq!(layer["batch"], 40);
    let labels: Vec<&str> = layer["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "input X",
            "output Y",
            "∂L/∂Y",
            "∂L/∂X",
            "weight",
            "∂L/∂weight",
            "bias",
            "∂L/∂bias"
        ]
    );
    for tensor in layer["tensors"].as_array().unwrap() {
        let counts: u64 = tensor["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum();
        let elements: u64 = tensor["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .product();
        assert_eq!(counts, elements, "{}", tensor["label"]);
    }
    let (last, _) = send(&mut session, Request::Layer { index: 3 });
    assert_eq!(last["loss_formulas"]["kind"], "softmax-cross-entropy");
    let (bad, _) = send(&mut session, Request::Layer { index: 9 });
    assert_eq!(bad["type"], "error");

    let (filters, reply) = send(&mut session, Request::Filters);
    assert_eq!(filters["count"], 32);
    assert_eq!(reply.pixels.len(), 32 * 32 * 32 * 4);

    let (results, reply) = send(&mut session, Request::Results { gallery: 12 });
    assert_eq!(results["images"], 100);
    let confusion: u64 = results["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert_eq!(confusion, 100);
    let gallery = results["gallery"].as_array().unwrap();
    assert_eq!(gallery.len(), 12);
    assert_eq!(reply.pixels.len(), 12 * 4096);
    let wrong: Vec<bool> = gallery.iter().map(|g| g["label"] != g["predicted"]).collect();
    assert!(wrong.windows(2).all(|w| w[0] >= w[1]), "misclassified first");
    let (evaluation, _) = send(&mut session, Request::Evaluate);
    let accuracy = results["accuracy"].as_f64().unwrap();
    assert!((evaluation["accuracy"].as_f64().unwrap() - accuracy).abs() < 1e-9);

    // A 64×48 picture of one test image, scaled up 2× (and 1.5×): classified like the image itself.
    let image = session.dataset().test.image(0).to_vec();
    let (width, height) = (64, 64);
    let mut rgba = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        for x in 0..width {
            let p = (y / 2) * 32 + x / 2;
            rgba.extend([image[p], image[1024 + p], image[2048 + p], 255]);
        }
    }
    assert_eq!(resize_to_cifar(&rgba, width, height), image);
    let (classified, reply) = send_with(&mut session, Request::Classify { width, height }, &[], &rgba);
    let probabilities: Vec<f64> = classified["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect();
    assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-4);
    assert_eq!(reply.pixels.len(), 4096);
    let (bad, _) = send_with(&mut session, Request::Classify { width: 10, height: 10 }, &[], &rgba);
    assert_eq!(bad["type"], "error");
}

#[test]
fn the_small_cnn_works_in_the_session_too() {
    let mut session = Session::new(
        small_data(),
        PageConfig::from_query("model=small-cnn&steps=4&eval=2&batch=8").unwrap(),
    );
    let (state, _) = send(&mut session, Request::State);
    assert_eq!(state["parameters"], 221_026);
    assert_eq!(state["layers"][0]["output"], "24×32×32");
    let progress = step(&mut session, 4);
    assert_eq!(progress["steps_done"], 4, "{progress}");
    let (filters, reply) = send(&mut session, Request::Filters);
    assert_eq!(filters["width"], 3);
    assert_eq!(reply.pixels.len(), 24 * 9 * 4);
    let (layer, _) = send(&mut session, Request::Layer { index: 1 });
    assert_eq!(layer["type"], "layer", "{layer}");
}

#[test]
fn two_sessions_train_data_parallel_through_their_messages() {
    let config = "model=mlp&hidden=32&act=elu&opt=adam&lr=0.001&batch=40&steps=30&eval=10&seed=5";
    let mut single = Session::new(small_data(), PageConfig::from_query(config).unwrap());
    let mut workers: Vec<Session> = (0..2)
        .map(|_| Session::new(small_data(), PageConfig::from_query(config).unwrap()))
        .collect();
    let mut points = Vec::new();
    for _ in 0..10 {
        let shares: Vec<(String, Vec<u8>)> = workers
            .iter_mut()
            .enumerate()
            .map(|(part, worker)| {
                let (reply, bytes) = send(worker, Request::PartialStep { part, parts: 2 });
                assert_eq!(reply["type"], "partial", "{reply}");
                assert_eq!(reply["rows"], 20);
                (format!("share {part}"), bytes.pixels)
            })
            .collect();
        for (index, worker) in workers.iter_mut().enumerate() {
            let request = Request::ApplyStep {
                evaluate: index == 0,
                next: None,
            };
            let (progress, _) = send_with(worker, request, &shares, &[]);
            assert!(progress["stopped"].is_null(), "{progress}");
            if index == 0 {
                points.extend(progress["points"].as_array().unwrap().clone());
            }
        }
    }
    let reference = step(&mut single, 10);
    assert_eq!(points.len(), 1);
    let (a, b) = (&points[0]["test_accuracy"], &reference["points"][0]["test_accuracy"]);
    assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() <= 0.011, "{a} vs {b}");
    let (a, b) = (&points[0]["test_loss"], &reference["points"][0]["test_loss"]);
    assert!(
        (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() <= 1e-4 * b.as_f64().unwrap(),
        "{a} vs {b}"
    );
    // A share that is not one: a clear reason, no step.
    let (progress, _) = send_with(
        &mut workers[0],
        Request::ApplyStep {
            evaluate: true,
            next: None,
        },
        &[("share 0".into(), vec![1, 2, 3])],
        &[],
    );
    assert!(progress["stopped"]
        .as_str()
        .unwrap()
        .contains("expected the bytes of a training share"));
    assert_eq!(progress["steps_done"], 10);
}

#[test]
fn pipelined_data_parallel_steps_equal_two_round_ones_bit_for_bit() {
    // apply-step with `next` applies a step and computes the worker's share of the following one in the same
    // message; the shares, steps and curves must be those of the two-round protocol
    let config = "model=small-cnn&batch=8&steps=6&eval=3&seed=9";
    let sessions = || -> Vec<Session> {
        (0..2)
            .map(|_| Session::new(small_data(), PageConfig::from_query(config).unwrap()))
            .collect()
    };
    let shares_of = |workers: &mut Vec<Session>| -> Vec<(String, Vec<u8>)> {
        workers
            .iter_mut()
            .enumerate()
            .map(|(part, worker)| {
                let (reply, bytes) = send(worker, Request::PartialStep { part, parts: 2 });
                assert_eq!(reply["type"], "partial", "{reply}");
                (format!("share {part}"), bytes.pixels)
            })
            .collect()
    };
    // two rounds per step
    let mut two_round = sessions();
    let mut expected = Vec::new();
    for _ in 0..6 {
        let shares = shares_of(&mut two_round);
        for (part, worker) in two_round.iter_mut().enumerate() {
            let request = Request::ApplyStep {
                evaluate: part == 0,
                next: None,
            };
            let (progress, _) = send_with(worker, request, &shares, &[]);
            if part == 0 {
                expected.push(progress);
            }
        }
    }
    // one round per step after the first
    let mut pipelined = sessions();
    let mut shares = shares_of(&mut pipelined);
    for (step, expected) in expected.iter().enumerate() {
        let mut next_shares = Vec::new();
        for (part, worker) in pipelined.iter_mut().enumerate() {
            // the last step asks for a next share too: a finished run computes none
            let next = Some(NextShare { part, parts: 2 });
            let request = Request::ApplyStep {
                evaluate: part == 0,
                next,
            };
            let (mut progress, reply) = send_with(worker, request, &shares, &[]);
            if step < 5 {
                assert_eq!(progress["next_share"], step + 2, "{progress}");
                next_shares.push((format!("share {part}"), reply.pixels));
            } else {
                assert!(
                    progress.get("next_share").is_none() && reply.pixels.is_empty(),
                    "{progress}"
                );
                assert!(progress["finished"].as_bool().unwrap(), "{progress}");
            }
            if part == 0 {
                let object = progress.as_object_mut().unwrap();
                object.remove("next_share");
                for timing in ["train_ms", "eval_ms"] {
                    object.insert(timing.into(), expected[timing].clone());
                }
                assert_eq!(&progress, expected, "step {}", step + 1);
            }
        }
        shares = next_shares;
    }
    assert_eq!(expected.len(), 6);
    assert_eq!(expected.last().unwrap()["points"].as_array().unwrap().len(), 1);
}

#[test]
fn every_reply_survives_the_trip_to_the_page() {
    use backprop_lab::session::Response;
    let mut session = session();
    let picture = vec![128u8; 40 * 30 * 4];
    let requests = [
        Request::State,
        Request::Step {
            steps: 10,
            budget_ms: 1e12,
        },
        Request::Evaluate,
        Request::Layer { index: 1 },
        Request::CheckGradients,
        Request::Filters,
        Request::Results { gallery: 5 },
        Request::Classify { width: 40, height: 30 },
        Request::CurvesCsv,
        Request::Layer { index: 99 },
    ];
    for request in requests {
        // The page sends the request as a value and gets the response as one: both ways must round-trip
        // (through JSON here, which is stricter than the page's serde-wasm-bindgen: no infinities).
        let sent: Request = serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
        assert_eq!(sent, request);
        let reply = session.dispatch(sent, &[], &picture, &|| 0.0);
        let received: Response = serde_json::from_value(serde_json::to_value(&reply.response).unwrap())
            .unwrap_or_else(|error| panic!("{request:?}: {error}"));
        assert_eq!(received, reply.response, "{request:?}");
    }
}
