//! Weights and runs through the page's session path (`Request::SaveWeights`, `LoadWeights`, `SaveRun`,
//! `ResumeRun`: the page's Download/Load weights and Save/Resume run), message by message as the page's worker
//! sends them.
use backprop_lab::data::{self, InputNormalization, Preprocessor, SyntheticConfig, IMAGENET_MEAN, IMAGENET_STD};
use backprop_lab::session::{PageConfig, Request, Response, Session};
use backprop_lab::weights::{self, StateDict};
use ndarray::Array2;

fn small_data(seed: u64) -> data::Dataset {
    data::synthetic(&SyntheticConfig {
        seed,
        train_size: 400,
        test_size: 100,
    })
}

const QUERY: &str =
    "model=mlp&hidden=32&act=elu&norm=batch-norm&opt=adam&lr=0.001&batch=40&steps=30&eval=10&seed=5&augment=1";

fn session(query: &str) -> Session {
    Session::new(small_data(3), PageConfig::from_query(query).expect("valid query"))
}

fn send(session: &mut Session, request: Request, files: &[(String, Vec<u8>)]) -> (Response, Vec<u8>) {
    let reply = session.dispatch(request, files, &[], &|| 0.0);
    (reply.response, reply.pixels)
}

fn step(session: &mut Session, steps: usize) {
    let (response, _) = send(
        session,
        Request::Step {
            steps,
            budget_ms: f64::INFINITY,
        },
        &[],
    );
    match response {
        Response::Progress(progress) => assert_eq!(progress.stopped, None),
        other => panic!("expected progress, found {other:?}"),
    }
}

/// The bytes of a `File` reply to `request`.
fn file(session: &mut Session, request: Request) -> Vec<u8> {
    match send(session, request, &[]) {
        (Response::File { .. } | Response::Snapshot { .. }, bytes) => bytes,
        (other, _) => panic!("expected a file, found {other:?}"),
    }
}

/// The current model's state dict, through a download (the header's metadata order is not fixed, so the
/// tensors are compared, not the bytes).
fn weights_of(session: &mut Session) -> StateDict {
    let mut state = StateDict::from_bytes(&file(session, Request::SaveWeights)).expect("a weights file");
    state.metadata.clear();
    state
}

fn evaluate(session: &mut Session) -> (f64, f64) {
    match send(session, Request::Evaluate, &[]).0 {
        Response::Evaluation { loss, accuracy, .. } => (loss, accuracy),
        other => panic!("expected an evaluation, found {other:?}"),
    }
}

fn steps_done(session: &Session) -> usize {
    session.trainer().map_or(0, |t| t.steps_done())
}

/// The message of a request that must fail, after checking that it changed nothing.
fn refused(session: &mut Session, request: Request, name: &str, bytes: Vec<u8>) -> String {
    let weights_before = weights_of(session);
    let (steps, query, data) = (
        steps_done(session),
        session.config().to_query(),
        session.dataset().name.clone(),
    );
    let request_kind = request.clone();
    let message = match send(session, request, &[(name.to_string(), bytes)]).0 {
        Response::Error { message } => message,
        other => panic!("expected an error, found {other:?}"),
    };
    assert!(message.contains(name), "the file is named: {message}");
    if matches!(request_kind, Request::LoadWeights { .. }) {
        assert!(message.contains("unchanged"), "{message}");
    }
    assert!(weights_of(session) == weights_before, "the model changed: {message}");
    assert_eq!(steps_done(session), steps);
    assert_eq!(session.config().to_query(), query);
    assert_eq!(session.dataset().name, data);
    message
}

#[test]
fn downloaded_weights_load_into_a_fresh_page_with_identical_state_and_test_results() {
    let mut trained = session(QUERY);
    step(&mut trained, 25);
    let bytes = file(&mut trained, Request::SaveWeights);
    let listing = weights::inspect(&bytes).expect("a safetensors file");
    assert!(
        listing.tensors.iter().any(|t| t.name == "1.running_mean"),
        "PyTorch's names: {listing}"
    );
    assert!(
        listing.metadata.iter().any(|(k, _)| k == weights::MODEL_KEY),
        "the configuration is in the metadata"
    );

    // another page: the default configuration (another model); the file rebuilds the trained one
    let mut fresh = Session::new(small_data(3), PageConfig::default());
    let message = match send(
        &mut fresh,
        Request::LoadWeights { into_current: false },
        &[("w.safetensors".into(), bytes.clone())],
    )
    .0
    {
        Response::Loaded { message, state } => {
            assert_eq!(state.steps_done, 0);
            assert!(
                state.layers.iter().any(|l| l.name.contains("BatchNorm1d(32)")),
                "{:?}",
                state.layers
            );
            message
        }
        other => panic!("expected loaded, found {other:?}"),
    };
    assert!(
        message.contains("metadata describes") && message.contains("course-mean-image"),
        "{message}"
    );
    assert_eq!(fresh.config().hidden, vec![32], "the form shows the file's model");
    assert!(
        weights_of(&mut fresh) == weights_of(&mut trained),
        "the same state dict, bit for bit"
    );
    // the same logits: a picture classified by both gets the same probabilities, bit for bit
    let picture: Vec<u8> = (0..32 * 32 * 4).map(|i| (i * 37 % 251) as u8).collect();
    let classify = |session: &mut Session| match session
        .dispatch(Request::Classify { width: 32, height: 32 }, &[], &picture, &|| 0.0)
        .response
    {
        Response::Classified { probabilities, .. } => probabilities,
        other => panic!("expected probabilities, found {other:?}"),
    };
    assert_eq!(classify(&mut fresh), classify(&mut trained));
    // the same network on the same inputs; the loss is summed over chunks of the page's batch size, which differs
    let ((loss, accuracy), (trained_loss, trained_accuracy)) = (evaluate(&mut fresh), evaluate(&mut trained));
    assert_eq!(accuracy, trained_accuracy, "the same test accuracy");
    assert!(
        (loss - trained_loss).abs() <= 1e-6 * trained_loss,
        "test loss {loss} vs {trained_loss}"
    );
}

#[test]
fn weights_loaded_into_a_different_current_model_name_every_mismatched_tensor() {
    let mut other = session(&QUERY.replace("hidden=32", "hidden=32,16"));
    let bytes = file(&mut other, Request::SaveWeights);
    let mut page = session(QUERY);
    step(&mut page, 3);
    let message = refused(
        &mut page,
        Request::LoadWeights { into_current: true },
        "other.safetensors",
        bytes.clone(),
    );
    for expected in [
        "3.weight: expected shape [10, 32], found [16, 32]",
        "3.bias: expected shape [10], found [16]",
        "4.running_mean: not in the model, found shape [16] in the file",
        "6.weight: not in the model, found shape [10, 16] in the file",
    ] {
        assert!(message.contains(expected), "`{expected}` in: {message}");
    }
    // without `into_current` the file's own model is built instead
    match send(
        &mut page,
        Request::LoadWeights { into_current: false },
        &[("other.safetensors".into(), bytes)],
    )
    .0
    {
        Response::Loaded { .. } => assert_eq!(page.config().hidden, vec![32, 16]),
        other => panic!("expected loaded, found {other:?}"),
    }
}

#[test]
fn bad_files_leave_the_model_and_data_untouched() {
    let mut page = session(QUERY);
    step(&mut page, 2);
    let good = file(&mut page, Request::SaveWeights);
    let header = |json: &str, data: &[u8]| {
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend(json.as_bytes());
        bytes.extend(data);
        bytes
    };
    let mut claiming_more = good.clone();
    claiming_more[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "picture.png",
            b"\x89PNG\r\n\x1a\n not weights".to_vec(),
            "expected a safetensors file",
        ),
        ("short.safetensors", good[..good.len() - 7].to_vec(), "truncated"),
        ("claims.safetensors", claiming_more, "header length"),
        (
            "half.safetensors",
            header(
                r#"{"0.weight":{"dtype":"F16","shape":[32,3072],"data_offsets":[0,196608]}}"#,
                &[0; 196608],
            ),
            "expected dtype F32",
        ),
        (
            "huge.safetensors",
            header(
                r#"{"w":{"dtype":"F32","shape":[1,1,1,1,1],"data_offsets":[0,4]}}"#,
                &[0; 4],
            ),
            "at most 4 dimensions",
        ),
    ];
    for (name, bytes, expected) in cases {
        for request in [
            Request::LoadWeights { into_current: false },
            Request::LoadWeights { into_current: true },
            Request::ResumeRun,
        ] {
            let message = refused(&mut page, request.clone(), name, bytes.clone());
            assert!(
                message.contains(expected),
                "{request:?} {name}: `{expected}` in: {message}"
            );
        }
    }
    // a weights file is not a saved run; a run saved on other data does not resume here
    let message = refused(&mut page, Request::ResumeRun, "weights.safetensors", good);
    assert!(message.contains("backprop_lab.run"), "{message}");
    let mut fewer = small_data(4);
    fewer.train = fewer.train.classes(&(0..10).collect::<Vec<u8>>(), Some(30));
    let mut elsewhere = Session::new(fewer, PageConfig::from_query(QUERY).unwrap());
    step(&mut elsewhere, 1);
    let run = file(&mut elsewhere, Request::SaveRun);
    let message = refused(&mut page, Request::ResumeRun, "run.safetensors", run);
    assert!(
        message.contains("saved with 300 training images, found 400"),
        "{message}"
    );
}

#[test]
fn a_run_resumed_through_the_session_continues_bit_identically() {
    let mut uninterrupted = session(QUERY);
    step(&mut uninterrupted, 30);

    let mut first = session(QUERY);
    step(&mut first, 13);
    let run = file(&mut first, Request::SaveRun);
    // another page, on another configuration, with the same data loaded
    let mut resumed = Session::new(small_data(3), PageConfig::default());
    let state = match send(&mut resumed, Request::ResumeRun, &[("run.safetensors".into(), run)]).0 {
        Response::State(state) => state,
        other => panic!("expected the resumed state, found {other:?}"),
    };
    assert_eq!(state.steps_done, 13);
    assert_eq!(state.total_steps, 30);
    assert_eq!(state.curves.len(), 1, "the curve so far comes back");
    assert_eq!(
        resumed.config(),
        first.config(),
        "the form shows the run's configuration"
    );
    step(&mut resumed, 17);

    assert_eq!(steps_done(&resumed), 30);
    assert!(
        weights_of(&mut resumed) == weights_of(&mut uninterrupted),
        "bit-identical parameters and statistics"
    );
    let (a, b) = (resumed.trainer().unwrap(), uninterrupted.trainer().unwrap());
    assert_eq!(a.curves(), b.curves(), "bit-identical curves");
}

#[test]
fn imagenet_normalisation_is_recorded_and_applied_when_its_weights_load() {
    // (pixel / 255 − mean) / std, per channel
    let dataset = small_data(3);
    let imagenet = Preprocessor::for_input(InputNormalization::ImageNet, &dataset.train);
    let (mut x, mut labels) = (Array2::<f32>::zeros((0, 0)), Vec::new());
    imagenet.fill_batch(&dataset.train, &[0, 1], &mut x, &mut labels);
    for (row, &index) in x.rows().into_iter().zip(&[0, 1]) {
        for (p, (&value, &pixel)) in row.iter().zip(dataset.train.image(index)).enumerate() {
            let c = p / 1024;
            let expected = (f32::from(pixel) / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
            assert!(
                (value - expected).abs() <= 1e-5 * (1.0 + expected.abs()),
                "{value} vs {expected}"
            );
        }
    }

    // a file whose metadata says imagenet: the page switches to it, the link carries it, a download keeps it
    let mut source = session(QUERY);
    let bytes = file(&mut source, Request::SaveWeights);
    let mut state = StateDict::from_bytes(&bytes).unwrap();
    assert_eq!(state.lab_metadata().unwrap().input, InputNormalization::CourseMeanImage);
    state.metadata.insert(weights::INPUT_KEY.into(), "imagenet".into());
    let mut network = PageConfig::from_query(QUERY)
        .unwrap()
        .to_train_config()
        .unwrap()
        .model
        .build::<f32>(5)
        .unwrap();
    weights::load_into(&mut network, &state, None).unwrap();
    let tagged = weights::save(
        &mut network,
        &weights::WeightsMetadata {
            model: state.lab_metadata().unwrap().model,
            input: InputNormalization::ImageNet,
        },
    )
    .unwrap();
    let mut page = session(QUERY);
    let message = match send(
        &mut page,
        Request::LoadWeights { into_current: true },
        &[("tagged.safetensors".into(), tagged)],
    )
    .0
    {
        Response::Loaded { message, .. } => message,
        other => panic!("expected loaded, found {other:?}"),
    };
    assert!(message.contains("imagenet"), "{message}");
    assert_eq!(page.config().input, InputNormalization::ImageNet);
    assert!(page.config().to_query().contains("&input=imagenet"));
    assert_eq!(page.trainer().unwrap().preprocessor(), &imagenet);
    let again = file(&mut page, Request::SaveWeights);
    assert_eq!(
        StateDict::from_bytes(&again).unwrap().lab_metadata().unwrap().input,
        InputNormalization::ImageNet
    );
    // the link alone reproduces it
    let reopened = PageConfig::from_query(&page.config().to_query()).unwrap();
    assert_eq!(reopened.input, InputNormalization::ImageNet);
    assert!(PageConfig::from_query("input=sepia")
        .unwrap_err()
        .to_string()
        .contains("course-mean-image or imagenet"));
}
