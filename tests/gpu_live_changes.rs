//! The page's "Change now" on a WebGPU run ([`BackendSession`], as the worker drives it), natively on lavapipe:
//! a learning rate, momentum or weight decay changed after step k reaches the GPU's optimizer from step k + 1
//! on, as on the CPU, so the GPU run follows the CPU run with the same change; the control, the GPU run without
//! the change, does not. A momentum switched on mid-run also reaches a snapshot (its buffers are part of the
//! saved state), which continues on the CPU as the uninterrupted run. Tolerance as `tests/gpu_session.rs`:
//! 1e-3 · (1 + |loss|).
#![cfg(not(target_arch = "wasm32"))]

#[path = "common/gpu.rs"]
mod common_gpu;

use backprop_lab::data::{synthetic, SyntheticConfig};
use backprop_lab::model::Normalization;
use backprop_lab::optim::OptimizerKind;
use backprop_lab::session::{Backend, BackendSession, PageConfig, Progress, Request, Response, Session};
use backprop_lab::train::Hyperparameters;

const STEPS: usize = 24;
/// The change comes after this step.
const CHANGE_AT: usize = 8;
const TOLERANCE: f64 = 1e-3;

/// A run and the change "Change now" makes in it.
struct Case {
    name: &'static str,
    optimizer: OptimizerKind,
    start: Hyperparameters,
    change: Hyperparameters,
}

fn cases() -> Vec<Case> {
    let sgd = |momentum, weight_decay| Hyperparameters {
        learning_rate: 0.05,
        momentum,
        weight_decay,
    };
    let adam = |weight_decay| Hyperparameters {
        learning_rate: 3e-3,
        momentum: 0.0,
        weight_decay,
    };
    vec![
        Case {
            name: "SGD momentum switched on",
            optimizer: OptimizerKind::Sgd,
            start: sgd(0.0, 0.0),
            change: sgd(0.9, 0.0),
        },
        Case {
            name: "SGD momentum switched off",
            optimizer: OptimizerKind::Sgd,
            start: sgd(0.9, 0.0),
            change: sgd(0.0, 0.0),
        },
        Case {
            name: "SGD weight decay",
            optimizer: OptimizerKind::Sgd,
            start: sgd(0.9, 0.0),
            change: sgd(0.9, 0.5),
        },
        Case {
            name: "Adam weight decay",
            optimizer: OptimizerKind::Adam,
            start: adam(0.0),
            change: adam(0.5),
        },
    ]
}

fn session(case: &Case) -> Session {
    let data = synthetic(&SyntheticConfig {
        seed: 7,
        train_size: 200,
        test_size: 50,
    });
    let config = PageConfig {
        hidden: vec![32],
        normalization: Normalization::BatchNorm,
        optimizer: case.optimizer,
        learning_rate: case.start.learning_rate,
        momentum: case.start.momentum,
        weight_decay: case.start.weight_decay,
        batch_size: 16,
        steps: STEPS,
        eval_every: 6,
        ..PageConfig::default()
    };
    Session::new(data, config)
}

fn clock() -> f64 {
    0.0
}

fn ask(session: &mut BackendSession, request: Request) -> (Response, Vec<u8>) {
    let reply = pollster::block_on(session.dispatch(request, (&[], &[]), &clock, std::future::pending()));
    (reply.response, reply.pixels)
}

fn progress(response: Response) -> Progress {
    match response {
        Response::Progress(progress) => progress,
        other => panic!("expected progress, found {other:?}"),
    }
}

fn changed(response: &Response) {
    assert!(
        matches!(
            response,
            Response::Hyperparameters {
                steps_done: CHANGE_AT,
                ..
            }
        ),
        "expected the change recorded after step {CHANGE_AT}, found {response:?}"
    );
}

/// Every step's loss.
fn losses(progress: &[Progress]) -> Vec<(usize, f64)> {
    progress
        .iter()
        .flat_map(|p| p.batches.iter().map(|b| (b.step, b.loss)))
        .collect()
}

/// The largest `|found − expected| / (1 + |expected|)`, the steps checked equal.
fn largest_difference(found: &[(usize, f64)], expected: &[(usize, f64)]) -> f64 {
    assert_eq!(
        found.iter().map(|n| n.0).collect::<Vec<_>>(),
        expected.iter().map(|n| n.0).collect::<Vec<_>>(),
        "the same steps"
    );
    found
        .iter()
        .zip(expected)
        .map(|((_, f), (_, e))| (f - e).abs() / (1.0 + e.abs()))
        .fold(0.0, f64::max)
}

/// The CPU run with the change after [`CHANGE_AT`] steps (none: `None`): every step's loss.
fn cpu_run(case: &Case, change: Option<Hyperparameters>) -> Vec<(usize, f64)> {
    let mut cpu = session(case);
    let mut replies = vec![cpu.step(CHANGE_AT, f64::INFINITY, &clock)];
    if let Some(settings) = change {
        changed(
            &cpu.dispatch(Request::SetHyperparameters(settings), &[], &[], &clock)
                .response,
        );
    }
    replies.push(cpu.step(STEPS, f64::INFINITY, &clock));
    losses(&replies)
}

/// The GPU run with the change after [`CHANGE_AT`] steps (none: `None`), in step requests of 4 or 5 as the page
/// asks: every step's loss, and its snapshot after step `STEPS - 4`.
fn gpu_run(case: &Case, change: Option<Hyperparameters>) -> (Vec<(usize, f64)>, Vec<u8>) {
    let mut gpu = BackendSession::new(session(case));
    match ask(&mut gpu, Request::SetBackend { backend: Backend::Gpu }).0 {
        Response::Backends(status) => assert_eq!(status.backend, Backend::Gpu),
        other => panic!("expected the backends, found {other:?}"),
    }
    let step = |gpu: &mut BackendSession, steps| {
        progress(
            ask(
                gpu,
                Request::Step {
                    steps,
                    budget_ms: f64::INFINITY,
                },
            )
            .0,
        )
    };
    let mut replies = vec![step(&mut gpu, 5), step(&mut gpu, CHANGE_AT - 5)];
    if let Some(settings) = change {
        changed(&ask(&mut gpu, Request::SetHyperparameters(settings)).0);
    }
    let mut snapshot = Vec::new();
    while !replies.last().is_some_and(|p| p.finished) {
        replies.push(step(&mut gpu, 4));
        if replies.last().is_some_and(|p| p.steps_done == STEPS - 4) {
            match ask(&mut gpu, Request::SaveRun) {
                (Response::Snapshot { .. }, bytes) => snapshot = bytes,
                (other, _) => panic!("expected a snapshot, found {other:?}"),
            }
        }
    }
    assert!(replies.iter().all(|p| p.backend == Backend::Gpu && p.stopped.is_none()));
    assert_eq!(gpu.backend(), Backend::Gpu, "no fallback");
    (losses(&replies), snapshot)
}

/// Continues `snapshot` on a CPU session to the end: every step's loss.
fn continue_on_the_cpu(case: &Case, snapshot: Vec<u8>) -> Vec<(usize, f64)> {
    let mut cpu = session(case);
    let attachment = [("snapshot".to_string(), snapshot)];
    let reply = cpu.dispatch(Request::ResumeRun, &attachment, &[], &clock);
    assert!(matches!(reply.response, Response::State(_)), "{:?}", reply.response);
    losses(&[cpu.step(STEPS, f64::INFINITY, &clock)])
}

#[test]
fn change_now_reaches_the_gpus_optimizer_in_the_same_step_as_the_cpus() {
    if common_gpu::gpu().is_none() {
        return;
    }
    for case in cases() {
        let expected = cpu_run(&case, Some(case.change));
        let (found, snapshot) = gpu_run(&case, Some(case.change));
        let largest = largest_difference(&found, &expected);
        assert!(
            largest <= TOLERANCE,
            "{}: the GPU run {largest:e} from the CPU run with the same change",
            case.name
        );

        // the control: the GPU run without the change misses the CPU run with it
        let (unchanged, _) = gpu_run(&case, None);
        let missed = largest_difference(&unchanged, &expected);
        assert!(
            missed > 10.0 * TOLERANCE,
            "{}: the unchanged GPU run only {missed:e} from the changed CPU run (the test cannot tell)",
            case.name
        );

        // the snapshot after the change holds what the GPU's optimizer holds (a momentum switched on
        // mid-run: its buffers), and goes on on the CPU as the uninterrupted run
        let continued = continue_on_the_cpu(&case, snapshot);
        let tail: Vec<(usize, f64)> = expected.iter().copied().filter(|&(s, _)| s > STEPS - 4).collect();
        let resumed = largest_difference(&continued, &tail);
        assert!(
            resumed <= TOLERANCE,
            "{}: the snapshot continued on the CPU {resumed:e} from the CPU run",
            case.name
        );
        println!(
            "{}: GPU with the change {largest:.1e}, GPU without it {missed:.1e}, its snapshot continued on \
             the CPU {resumed:.1e} from the CPU run with the change",
            case.name
        );
    }
}
