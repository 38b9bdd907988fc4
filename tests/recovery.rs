//! Recovery from a dead worker, the session's half: a snapshot taken mid-run and resumed in a fresh session
//! (a new worker given the same data and configuration) continues exactly as the run that never died.
use backprop_lab::data::{self, SyntheticConfig};
use backprop_lab::session::{trap, trap_message, PageConfig, Request, Response, Session, TrapKind};

const QUERY: &str = "model=small-cnn&opt=adam&lr=0.001&batch=20&steps=40&eval=10&seed=7";

fn session() -> Session {
    let dataset = data::synthetic(&SyntheticConfig {
        seed: 11,
        train_size: 200,
        test_size: 60,
    });
    Session::new(dataset, PageConfig::from_query(QUERY).expect("a valid query"))
}

fn send(session: &mut Session, request: Request, files: &[(String, Vec<u8>)]) -> (Response, Vec<u8>) {
    let reply = session.dispatch(request, files, &[], &|| 0.0);
    (reply.response, reply.pixels)
}

/// The batch losses of `steps` more steps.
fn losses(session: &mut Session, steps: usize) -> Vec<f64> {
    match send(
        session,
        Request::Step {
            steps,
            budget_ms: f64::INFINITY,
        },
        &[],
    )
    .0
    {
        Response::Progress(progress) => progress.batches.iter().map(|b| b.loss).collect(),
        other => panic!("expected progress, found {other:?}"),
    }
}

#[test]
fn a_snapshot_resumed_in_a_new_session_continues_the_run_bit_for_bit() {
    let mut original = session();
    losses(&mut original, 13);
    let (reply, snapshot) = send(&mut original, Request::SaveRun, &[]);
    assert_eq!(
        reply,
        Response::Snapshot {
            step: 13,
            bytes: snapshot.len()
        }
    );
    let expected = losses(&mut original, 12);

    // The new worker: the same data and configuration, then the snapshot.
    let mut revived = session();
    let (reply, _) = send(&mut revived, Request::ResumeRun, &[("snapshot".into(), snapshot)]);
    match reply {
        Response::State(state) => {
            assert_eq!(state.steps_done, 13);
            assert_eq!(
                state.curves.len(),
                1,
                "the curve point of step 10 came back with the run"
            );
        }
        other => panic!("expected the resumed state, found {other:?}"),
    }
    assert_eq!(losses(&mut revived, 12), expected);
}

#[test]
fn a_snapshot_before_the_first_step_or_of_other_data_is_refused_and_one_of_another_configuration_brings_it() {
    let mut fresh = session();
    match send(&mut fresh, Request::SaveRun, &[]).0 {
        Response::Error { message } => assert!(message.contains("no step taken yet"), "{message}"),
        other => panic!("expected an error, found {other:?}"),
    }

    let mut original = session();
    losses(&mut original, 3);
    let (_, snapshot) = send(&mut original, Request::SaveRun, &[]);
    let mut other = session();
    let configure = Request::Configure {
        query: QUERY.replace("lr=0.001", "lr=0.01"),
    };
    send(&mut other, configure, &[]);
    let mut refused = Session::new(
        data::synthetic(&SyntheticConfig {
            seed: 3,
            train_size: 150,
            test_size: 50,
        }),
        PageConfig::from_query(QUERY).unwrap(),
    );
    match send(
        &mut refused,
        Request::ResumeRun,
        &[("snapshot".into(), snapshot.clone())],
    )
    .0
    {
        Response::Error { message } => assert!(message.contains("training images"), "{message}"),
        other => panic!("expected an error, found {other:?}"),
    }
    assert!(refused.trainer().is_none(), "a refused snapshot changes nothing");
    match send(&mut other, Request::ResumeRun, &[("snapshot".into(), snapshot)]).0 {
        Response::State(state) => assert_eq!(state.steps_done, 3),
        other => panic!("expected the resumed state, found {other:?}"),
    }
    assert_eq!(
        other.config().learning_rate,
        0.001,
        "the run's own configuration, shown in the form"
    );
    send(&mut other, Request::Reset, &[]);
    match send(
        &mut other,
        Request::ResumeRun,
        &[("snapshot".into(), b"not a run".to_vec())],
    )
    .0
    {
        Response::Error { message } => assert!(message.starts_with("resume: expected a saved run"), "{message}"),
        other => panic!("expected an error, found {other:?}"),
    }
    assert_eq!(
        other.trainer().map_or(0, |t| t.steps_done()),
        0,
        "a refused snapshot changes nothing"
    );
}

#[test]
fn the_trap_request_panics_with_a_message_naming_the_test() {
    let outcome = std::panic::catch_unwind(|| trap(TrapKind::Panic));
    let payload = outcome.expect_err("a trap never returns");
    let message = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(message, trap_message(TrapKind::Panic));
    assert!(message.contains("test of the page's recovery"));
}

/// `bytes` (a saved run) with its run JSON edited by `edit` (the tensors untouched).
fn with_run_json(bytes: &[u8], edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let length = u64::from_le_bytes(bytes[..8].try_into().expect("eight bytes")) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + length]).expect("a JSON header");
    let run = header["__metadata__"]["backprop_lab.run"]
        .as_str()
        .expect("the run's JSON");
    let mut run: serde_json::Value = serde_json::from_str(run).expect("JSON");
    edit(&mut run);
    header["__metadata__"]["backprop_lab.run"] = serde_json::Value::String(run.to_string());
    let mut text = header.to_string().into_bytes();
    text.resize(text.len().div_ceil(8) * 8, b' ');
    [
        (text.len() as u64).to_le_bytes().to_vec(),
        text,
        bytes[8 + length..].to_vec(),
    ]
    .concat()
}

fn set_all(value: &mut serde_json::Value, key: &str, to: u64) {
    match value {
        serde_json::Value::Object(map) => {
            for (name, field) in map.iter_mut() {
                if name == key {
                    *field = to.into();
                } else {
                    set_all(field, key, to);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| set_all(item, key, to)),
        _ => {}
    }
}

#[test]
fn a_snapshot_naming_absurd_channel_counts_is_refused_before_its_model_is_built() {
    let mut original = session();
    losses(&mut original, 2);
    let (_, snapshot) = send(&mut original, Request::SaveRun, &[]);
    // Every convolution with 2^20 output channels: ~10^13 weights, refused by the memory budget.
    let absurd = with_run_json(&snapshot, |run| set_all(run, "out_channels", 1 << 20));
    let started = std::time::Instant::now();
    let mut revived = session();
    match send(&mut revived, Request::ResumeRun, &[("snapshot".into(), absurd)]).0 {
        Response::Error { message } => {
            assert!(message.contains("memory: expected at most"), "{message}");
            assert!(
                message.contains("TiB") || message.contains("PiB"),
                "the estimate: {message}"
            );
        }
        other => panic!("expected an error, found {other:?}"),
    }
    assert!(
        started.elapsed().as_secs_f64() < 5.0,
        "refused before anything large was built"
    );
}
