//! The page's WebGPU run and its CPU copy ([`BackendSession`], as the worker drives it), natively on lavapipe:
//! step requests read nothing back until [`SYNC_MS`] have passed; a snapshot of a GPU run (`save-run`, the
//! page's recovery snapshot) carries the GPU's optimizer state, so it continues on the CPU as the uninterrupted
//! GPU run, where fresh moments (what the snapshot held before the sync read them back) miss it; and a lost
//! device rolls the run back to its last sync, weights, moments, step and curves together, and continues on the
//! CPU as the uninterrupted run. Tolerance as `tests/gpu_resume.rs` for the CPU after the GPU (and
//! `tests/gpu_training.rs`): 1e-3 · (1 + |loss|).
#![cfg(not(target_arch = "wasm32"))]

#[path = "common/gpu.rs"]
mod common_gpu;

use std::cell::Cell;

use backprop_lab::data::{synthetic, SyntheticConfig};
use backprop_lab::model::Normalization;
use backprop_lab::optim::{OptimizerKind, OptimizerState};
use backprop_lab::session::{Backend, BackendSession, PageConfig, Progress, Request, Response, Session, SYNC_MS};
use backprop_lab::train::Trainer;

const STEPS: usize = 30;
const TOLERANCE: f64 = 1e-3;

fn session(optimizer: OptimizerKind) -> Session {
    let data = synthetic(&SyntheticConfig {
        seed: 7,
        train_size: 200,
        test_size: 50,
    });
    let (learning_rate, momentum) = match optimizer {
        OptimizerKind::Adam => (3e-3, 0.0),
        OptimizerKind::Sgd => (0.05, 0.9),
    };
    let config = PageConfig {
        hidden: vec![32],
        normalization: Normalization::BatchNorm,
        optimizer,
        learning_rate,
        momentum,
        batch_size: 16,
        steps: STEPS,
        eval_every: 5,
        ..PageConfig::default()
    };
    Session::new(data, config)
}

/// A session training on the GPU, and the clock its requests see (milliseconds, moved by the test).
struct GpuRun {
    session: BackendSession,
    clock: Cell<f64>,
}

impl GpuRun {
    fn new(optimizer: OptimizerKind) -> Self {
        let mut run = Self {
            session: BackendSession::new(session(optimizer)),
            clock: Cell::new(0.0),
        };
        match run.ask(Request::SetBackend { backend: Backend::Gpu }) {
            Response::Backends(status) => assert_eq!(status.backend, Backend::Gpu),
            other => panic!("expected the backends, found {other:?}"),
        }
        run
    }

    fn ask_with(&mut self, request: Request, files: &[(String, Vec<u8>)]) -> (Response, Vec<u8>) {
        let clock = &self.clock;
        let now = || clock.get();
        let reply = pollster::block_on(
            self.session
                .dispatch(request, (files, &[]), &now, std::future::pending()),
        );
        (reply.response, reply.pixels)
    }

    fn ask(&mut self, request: Request) -> Response {
        self.ask_with(request, &[]).0
    }

    fn steps(&mut self, steps: usize) -> Progress {
        progress(self.ask(Request::Step {
            steps,
            budget_ms: f64::INFINITY,
        }))
    }

    fn save_run(&mut self) -> Vec<u8> {
        match self.ask_with(Request::SaveRun, &[]) {
            (Response::Snapshot { .. }, bytes) => bytes,
            (other, _) => panic!("expected a snapshot, found {other:?}"),
        }
    }

    fn later(&self, ms: f64) {
        self.clock.set(self.clock.get() + ms);
    }
}

fn progress(response: Response) -> Progress {
    match response {
        Response::Progress(progress) => progress,
        other => panic!("expected progress, found {other:?}"),
    }
}

/// Every step's (step, loss), then every curve point's (step, train loss) and (step, test loss).
fn numbers(progress: &[Progress]) -> Vec<(usize, f64)> {
    let steps = progress.iter().flat_map(|p| p.batches.iter().map(|b| (b.step, b.loss)));
    let points = progress.iter().flat_map(|p| {
        p.points
            .iter()
            .flat_map(|c| [(c.step, c.train_loss), (c.step, c.test_loss)])
    });
    steps.chain(points).collect()
}

/// The largest `|found − expected| / (1 + |expected|)`, the steps checked equal.
fn largest_difference(found: &[(usize, f64)], expected: &[(usize, f64)]) -> f64 {
    assert_eq!(
        found.iter().map(|n| n.0).collect::<Vec<_>>(),
        expected.iter().map(|n| n.0).collect::<Vec<_>>(),
        "the same steps and curve points, none lost or repeated"
    );
    found
        .iter()
        .zip(expected)
        .map(|((_, f), (_, e))| (f - e).abs() / (1.0 + e.abs()))
        .fold(0.0, f64::max)
}

/// The uninterrupted GPU run's numbers from step `after` on (in several step requests, as the page asks).
fn uninterrupted(optimizer: OptimizerKind, after: usize) -> Vec<(usize, f64)> {
    let mut run = GpuRun::new(optimizer);
    let mut replies = Vec::new();
    while !replies.last().is_some_and(|p: &Progress| p.finished) {
        replies.push(run.steps(7));
    }
    let mut found = numbers(&replies);
    found.retain(|&(step, _)| step > after);
    found
}

/// Continues the saved run `bytes` on a CPU session to the end: its numbers.
fn continue_on_the_cpu(optimizer: OptimizerKind, bytes: Vec<u8>) -> Vec<(usize, f64)> {
    let mut cpu = session(optimizer);
    let attachment = [("snapshot".to_string(), bytes)];
    let reply = cpu.dispatch(Request::ResumeRun, &attachment, &[], &|| 0.0);
    assert!(matches!(reply.response, Response::State(_)), "{:?}", reply.response);
    numbers(&[cpu.step(STEPS, f64::INFINITY, &|| 0.0)])
}

#[test]
fn step_requests_read_nothing_back_until_the_sync_interval_has_passed() {
    if common_gpu::gpu().is_none() {
        return;
    }
    let mut run = GpuRun::new(OptimizerKind::Adam);
    run.steps(4);
    assert_eq!(run.session.synced_step(), Some(0), "the run as it was uploaded");
    run.later(SYNC_MS / 2.0);
    run.steps(4);
    assert_eq!(run.session.synced_step(), Some(0), "within the interval");
    assert!(matches!(run.ask(Request::CurvesCsv), Response::Csv { .. }));
    assert_eq!(run.session.synced_step(), Some(0), "the curves need no sync");
    run.later(SYNC_MS / 2.0);
    run.steps(4);
    assert_eq!(
        run.session.synced_step(),
        Some(12),
        "at the end of the request after the interval"
    );
    run.steps(3);
    assert!(matches!(run.ask(Request::Evaluate), Response::Evaluation { .. }));
    assert_eq!(run.session.synced_step(), Some(15), "a view of the model syncs first");
}

#[test]
fn a_snapshot_of_a_gpu_run_continues_on_the_cpu_with_the_gpus_moments() {
    for optimizer in [OptimizerKind::Adam, OptimizerKind::Sgd] {
        if common_gpu::gpu().is_none() {
            return;
        }
        let expected = uninterrupted(optimizer, 10);
        let mut run = GpuRun::new(optimizer);
        assert_eq!(run.steps(10).steps_done, 10);
        assert_eq!(run.session.synced_step(), Some(0), "not synced by the steps");
        let snapshot = run.save_run();
        assert_eq!(run.session.synced_step(), Some(10), "synced for the snapshot");
        let mut saved = Trainer::resume_run(&snapshot, run.session.session().dataset()).expect("resumes");
        let state = saved.optimizer_state();
        assert!(
            state.step >= 1 && state.slots.iter().all(|(_, moments)| !moments.is_empty()),
            "{optimizer:?}: the snapshot holds the GPU's moments, step {}",
            state.step
        );

        let found = continue_on_the_cpu(optimizer, snapshot);
        let largest = largest_difference(&found, &expected);
        assert!(
            largest <= TOLERANCE,
            "{optimizer:?}: continued on the CPU {largest:e} from the uninterrupted GPU run"
        );

        // the control: the same snapshot with fresh moments, as the CPU copy held them before they were read back
        let slots = state.slots.iter().map(|(name, _)| (*name, Vec::new())).collect();
        saved
            .restore_optimizer(OptimizerState { step: 0, slots })
            .expect("a fresh optimizer state");
        let fresh = continue_on_the_cpu(optimizer, saved.save_run().expect("saves"));
        let missed = largest_difference(&fresh, &expected);
        assert!(
            missed > TOLERANCE,
            "{optimizer:?}: fresh moments only {missed:e} from the uninterrupted run (the test cannot tell)"
        );
        println!("{optimizer:?}: the GPU's moments {largest:e}, fresh moments {missed:e} from the uninterrupted run");
    }
}

#[test]
fn a_lost_device_rolls_the_run_back_to_its_last_sync_and_continues_as_the_uninterrupted_run() {
    if common_gpu::gpu().is_none() {
        return;
    }
    let expected = uninterrupted(OptimizerKind::Adam, 10);
    let mut run = GpuRun::new(OptimizerKind::Adam);
    run.steps(6);
    run.later(SYNC_MS);
    run.steps(4);
    let ahead = run.steps(5);
    assert_eq!((ahead.steps_done, run.session.synced_step()), (15, Some(10)));
    assert!(matches!(run.ask(Request::LoseDevice), Response::Backends(_)));

    let after = run.steps(STEPS);
    let notice = after.notice.clone().expect("a notice that training moved to the CPU");
    assert!(
        notice.contains("switched to the CPU") && notice.contains("synced at step 10"),
        "{notice}"
    );
    assert_eq!(after.rewound_to, Some(10), "the page drops its curves after step 10");
    assert_eq!(
        (after.steps_done, after.batches.len()),
        (10, 0),
        "the run went back to step 10"
    );
    assert_eq!(run.session.backend(), Backend::Cpu, "the backend control follows");
    let cpu = run.steps(STEPS);
    assert_eq!(
        cpu.batches.first().map(|b| b.step),
        Some(11),
        "the CPU goes on from step 10"
    );
    assert!(cpu.finished && cpu.rewound_to.is_none(), "{cpu:?}");
    let largest = largest_difference(&numbers(&[cpu]), &expected);
    assert!(
        largest <= TOLERANCE,
        "continued on the CPU {largest:e} from the uninterrupted GPU run"
    );
    // the run's own curves: a point every 5 steps, none lost or repeated
    let trainer = run.session.session().trainer().expect("the run");
    let steps: Vec<usize> = trainer.curves().iter().map(|p| p.step).collect();
    assert_eq!(steps, (1..=STEPS / 5).map(|i| 5 * i).collect::<Vec<_>>());
}

#[test]
fn a_device_lost_before_a_snapshot_gives_the_snapshot_of_the_last_sync_and_the_next_steps_say_so() {
    if common_gpu::gpu().is_none() {
        return;
    }
    let mut run = GpuRun::new(OptimizerKind::Adam);
    run.steps(4);
    run.later(SYNC_MS);
    run.steps(4);
    assert_eq!((run.steps(3).steps_done, run.session.synced_step()), (11, Some(8)));
    assert!(matches!(run.ask(Request::LoseDevice), Response::Backends(_)));
    // the snapshot's sync fails: the run goes back to step 8, and that is what the snapshot holds
    match run.ask(Request::SaveRun) {
        Response::Snapshot { step, .. } => assert_eq!(step, 8),
        other => panic!("expected a snapshot, found {other:?}"),
    }
    assert_eq!(run.session.backend(), Backend::Cpu);
    let next = run.steps(3);
    let notice = next.notice.clone().expect("the fallback told with the next steps");
    assert!(notice.contains("synced at step 8"), "{notice}");
    assert_eq!(next.rewound_to, Some(8));
    let steps: Vec<usize> = next.batches.iter().map(|b| b.step).collect();
    assert_eq!((steps, next.steps_done), (vec![9, 10, 11], 11));
    assert!(run.steps(1).notice.is_none(), "told once");
}
