//! The page's `Backend` choice as the worker drives it ([`BackendSession`]), natively on lavapipe: WebGPU
//! steps give the CPU session's curve for the same seed, the views between step requests see the GPU's
//! weights, and a lost device falls back to the CPU from the last synced weights with a notice; a GPU run whose
//! rollback copy does not fit the memory budget is refused with the budget's message before it goes up.
//! Tolerance on losses as `tests/gpu_training.rs`: 1e-3 · (1 + |loss|) (f32 reductions in another order,
//! Adam amplifying differences near zero gradients over the steps).
#![cfg(not(target_arch = "wasm32"))]

#[path = "common/gpu.rs"]
mod common_gpu;

use backprop_lab::budget::MemoryBudget;
use backprop_lab::data::{synthetic, SyntheticConfig};
use backprop_lab::model::Normalization;
use backprop_lab::optim::OptimizerKind;
use backprop_lab::session::{Backend, BackendSession, PageConfig, Progress, Request, Response, Session};

fn clock() -> f64 {
    0.0
}

fn small_session() -> Session {
    let data = synthetic(&SyntheticConfig {
        seed: 7,
        train_size: 200,
        test_size: 50,
    });
    let config = PageConfig {
        hidden: vec![32],
        normalization: Normalization::BatchNorm,
        optimizer: OptimizerKind::Adam,
        learning_rate: 1e-3,
        batch_size: 16,
        steps: 12,
        eval_every: 6,
        ..PageConfig::default()
    };
    Session::new(data, config)
}

fn ask(session: &mut BackendSession, request: Request) -> Response {
    pollster::block_on(session.dispatch(request, (&[], &[]), &clock, std::future::pending())).response
}

fn progress(response: Response) -> Progress {
    match response {
        Response::Progress(progress) => progress,
        other => panic!("expected progress, found {other:?}"),
    }
}

fn losses(progress: &[Progress]) -> Vec<f64> {
    progress.iter().flat_map(|p| p.batches.iter().map(|b| b.loss)).collect()
}

fn assert_agree(what: &str, gpu: &[f64], cpu: &[f64]) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: steps");
    for (i, (g, c)) in gpu.iter().zip(cpu).enumerate() {
        assert!(
            (g - c).abs() <= 1e-3 * (1.0 + c.abs()),
            "{what}: step {} loss {g} on the GPU, {c} on the CPU",
            i + 1
        );
    }
}

#[test]
fn webgpu_steps_follow_the_cpu_sessions_curve() {
    if common_gpu::gpu().is_none() {
        return;
    }
    let mut gpu = BackendSession::new(small_session());
    match ask(&mut gpu, Request::SetBackend { backend: Backend::Gpu }) {
        Response::Backends(status) => {
            assert_eq!(status.backend, Backend::Gpu);
            let adapter = status.webgpu.expect("the adapter's summary");
            println!("adapter: {adapter}");
        }
        other => panic!("expected the backends, found {other:?}"),
    }
    // in three requests (7, a view in between, then the rest), as the page asks while running
    let first = progress(ask(
        &mut gpu,
        Request::Step {
            steps: 7,
            budget_ms: 1e12,
        },
    ));
    assert_eq!((first.steps_done, first.backend), (7, Backend::Gpu));
    assert_eq!(first.points.len(), 1, "evaluated at step 6 as the CPU does");
    let csv = ask(&mut gpu, Request::CurvesCsv);
    assert!(
        matches!(csv, Response::Csv { .. }),
        "a view between step requests: {csv:?}"
    );
    let second = progress(ask(
        &mut gpu,
        Request::Step {
            steps: 100,
            budget_ms: 1e12,
        },
    ));
    assert!(second.finished, "{second:?}");

    let mut cpu = small_session();
    let cpu_run = cpu.step(100, 1e12, &clock);
    let gpu_runs = [first, second];
    assert_agree(
        "batch losses",
        &losses(&gpu_runs),
        &losses(std::slice::from_ref(&cpu_run)),
    );
    let gpu_points: Vec<_> = gpu_runs.iter().flat_map(|p| p.points.iter()).collect();
    assert_eq!(gpu_points.len(), cpu_run.points.len(), "curve points");
    for (g, c) in gpu_points.iter().zip(&cpu_run.points) {
        assert_eq!(g.step, c.step);
        assert_agree("test loss", &[g.test_loss], &[c.test_loss]);
    }
    // the views read the GPU's weights, synced back at the end of the request
    let (Response::Evaluation { loss: g, .. }, Response::Evaluation { loss: c, .. }) = (
        ask(&mut gpu, Request::Evaluate),
        cpu.dispatch(Request::Evaluate, &[], &[], &clock).response,
    ) else {
        panic!("expected evaluations");
    };
    assert_agree("evaluation after the run", &[g], &[c]);
}

#[test]
fn a_lost_device_falls_back_to_the_cpu_from_the_synced_weights() {
    if common_gpu::gpu().is_none() {
        return;
    }
    let mut session = BackendSession::new(small_session());
    ask(&mut session, Request::SetBackend { backend: Backend::Gpu });
    let first = progress(ask(
        &mut session,
        Request::Step {
            steps: 4,
            budget_ms: 1e12,
        },
    ));
    assert_eq!(first.steps_done, 4);
    let Response::Evaluation { loss: before, .. } = ask(&mut session, Request::Evaluate) else {
        panic!("expected an evaluation");
    };
    assert!(matches!(ask(&mut session, Request::LoseDevice), Response::Backends(_)));
    let after = progress(ask(
        &mut session,
        Request::Step {
            steps: 3,
            budget_ms: 1e12,
        },
    ));
    let notice = after.notice.clone().expect("a notice that training moved to the CPU");
    assert!(
        notice.contains("switched to the CPU") && notice.contains("step 4"),
        "{notice}"
    );
    assert_eq!(session.backend(), Backend::Cpu, "the backend control follows");
    assert!(after.stopped.is_none(), "training goes on: {after:?}");
    // nothing was lost: the model is the one of step 4, and the CPU steps continue from it
    let Response::Evaluation { loss: kept, .. } = ask(&mut session, Request::Evaluate) else {
        panic!("expected an evaluation");
    };
    assert_eq!(kept, before, "the weights synced at step 4");
    let cpu = progress(ask(
        &mut session,
        Request::Step {
            steps: 3,
            budget_ms: 1e12,
        },
    ));
    assert_eq!((cpu.steps_done, cpu.backend), (7, Backend::Cpu));
    assert!(cpu.batches.iter().all(|b| b.loss.is_finite()));
}

#[test]
fn a_gpu_run_whose_rollback_copy_exceeds_the_budget_is_refused_with_the_estimate() {
    if common_gpu::gpu().is_none() {
        return;
    }
    let session = small_session();
    let config = session.config().to_train_config().expect("a valid form");
    let (cpu, gpu_run) = (
        config.memory_estimate(1).unwrap().total(),
        config.gpu_memory_estimate(session.dataset().train.len()).unwrap(),
    );
    assert!(gpu_run.rollback_bytes > 0 && gpu_run.total() > cpu);
    let budget = |training_bytes| MemoryBudget {
        training_bytes,
        data_bytes: u64::MAX,
        place: "in this test",
    };
    // room for the CPU run, not for the rollback copy beside it
    let mut gpu = BackendSession::new(session).with_memory_budget(budget(cpu));
    assert!(matches!(
        ask(&mut gpu, Request::SetBackend { backend: Backend::Gpu }),
        Response::Backends(_)
    ));
    let refused = progress(ask(
        &mut gpu,
        Request::Step {
            steps: 5,
            budget_ms: 1e12,
        },
    ));
    let message = refused.stopped.clone().expect("the budget's message");
    assert!(
        message.contains("rollback copy") && message.contains("or train on the CPU"),
        "{message}"
    );
    assert_eq!((refused.steps_done, refused.batches.len()), (0, 0), "nothing trained");
    // the run is kept: on the CPU it trains
    assert!(matches!(
        ask(&mut gpu, Request::SetBackend { backend: Backend::Cpu }),
        Response::Backends(_)
    ));
    let cpu_steps = progress(ask(
        &mut gpu,
        Request::Step {
            steps: 3,
            budget_ms: 1e12,
        },
    ));
    assert_eq!((cpu_steps.steps_done, cpu_steps.stopped), (3, None));

    // the control: with room for the copy the same run trains on the GPU
    let mut roomy = BackendSession::new(small_session()).with_memory_budget(budget(gpu_run.total()));
    ask(&mut roomy, Request::SetBackend { backend: Backend::Gpu });
    let trained = progress(ask(
        &mut roomy,
        Request::Step {
            steps: 3,
            budget_ms: 1e12,
        },
    ));
    assert_eq!(
        (trained.steps_done, trained.backend, trained.stopped),
        (3, Backend::Gpu, None)
    );
    println!("refused: {message}");
}
