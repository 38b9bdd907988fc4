//! The transfer experiment through the page's session, message by message as the page's worker drives it:
//! started on the loaded data, stepped a time budget at a time, beside the page's own model.
use backprop_lab::data::{self, SyntheticConfig};
use backprop_lab::session::{PageConfig, Request, Response, Session, TransferProgress};
use backprop_lab::transfer::Start;

const QUERY: &str = "model=mlp&hidden=32&opt=adam&lr=0.001&batch=40&steps=30&eval=10&seed=5";

fn session() -> Session {
    let dataset = data::synthetic(&SyntheticConfig {
        seed: 3,
        train_size: 600,
        test_size: 120,
    });
    Session::new(dataset, PageConfig::from_query(QUERY).expect("valid query"))
}

/// Sends `request` with a clock that moves 1 ms each time it is read.
fn send(session: &mut Session, request: Request) -> Response {
    let clock = std::cell::Cell::new(0.0);
    let now = || {
        clock.set(clock.get() + 1.0);
        clock.get()
    };
    session.dispatch(request, &[], &[], &now).response
}

fn progress(response: Response) -> TransferProgress {
    match response {
        Response::Transfer(progress) => progress,
        other => panic!("expected the transfer's progress, found {other:?}"),
    }
}

#[test]
fn the_experiment_steps_within_its_budget_to_three_runs_beside_the_page_s_model() {
    let mut session = session();
    send(
        &mut session,
        Request::Step {
            steps: 3,
            budget_ms: f64::INFINITY,
        },
    );
    let started = progress(send(
        &mut session,
        Request::StartTransfer {
            labelled_per_class: 10,
            pretrain_steps: 4,
            steps: 3,
        },
    ));
    let starts: Vec<Option<Start>> = started.plan.iter().map(|run| run.start).collect();
    assert_eq!(
        starts,
        [
            None,
            Some(Start::Scratch),
            Some(Start::FrozenFeatures),
            Some(Start::FineTune)
        ]
    );
    assert_eq!(
        started.plan[1].images, 40,
        "10 labelled images of each of the 4 vehicle classes"
    );
    assert_eq!((started.steps_done, started.total_steps), (0, 4 + 3 * 3));
    assert_eq!(started.current, Some(0));
    assert!(started.parameters > 0);

    let mut replies = 0;
    let mut points = Vec::new();
    let last = loop {
        // a budget of 3 ms on a clock read at least 3 times per step: one step per reply
        let reply = progress(send(&mut session, Request::TransferStep { budget_ms: 3.0 }));
        replies += 1;
        assert_eq!(reply.steps_done, replies);
        assert_eq!(reply.stopped, None);
        points.extend(reply.points.iter().map(|p| (p.run, p.point.step)));
        if reply.finished {
            break reply;
        }
        assert!(replies < 13, "13 steps in all");
    };
    assert_eq!(replies, 13);
    // six curve points per run at most: every ⌈steps / 6⌉ = 1 step
    let expected: Vec<(usize, usize)> = (1..=4)
        .map(|s| (0, s))
        .chain((1..=3).flat_map(|run| (1..=3).map(move |s| (run, s))))
        .collect();
    assert_eq!(points, expected);
    assert_eq!(last.current, None);
    let runs: Vec<usize> = last.finished_runs.iter().map(|r| r.run).collect();
    assert_eq!(runs, [0, 1, 2, 3]);
    for outcome in &last.finished_runs {
        assert!((0.0..=1.0).contains(&outcome.final_test_accuracy));
        assert!(outcome.step_milliseconds >= 1.0 && outcome.wall_seconds > 0.0);
    }
    // done: nothing left to step, and the page's model kept its three steps
    assert!(matches!(
        send(&mut session, Request::TransferStep { budget_ms: 3.0 }),
        Response::Error { .. }
    ));
    assert_eq!(session.trainer().map(|t| t.steps_done()), Some(3));
}

#[test]
fn bad_values_and_too_few_labelled_images_are_refused_with_what_was_expected() {
    let mut session = session();
    let start = |labelled_per_class, pretrain_steps, steps| Request::StartTransfer {
        labelled_per_class,
        pretrain_steps,
        steps,
    };
    let message = |response: Response| match response {
        Response::Error { message } => message,
        other => panic!("expected an error, found {other:?}"),
    };
    let zero = message(send(&mut session, start(0, 10, 10)));
    assert!(
        zero.contains("labelled images per class: expected 1 to 5000, found 0"),
        "{zero}"
    );
    let long = message(send(&mut session, start(10, 10, 1_000_000)));
    assert!(
        long.contains("steps per run: expected 1 to 100000, found 1000000"),
        "{long}"
    );
    // 5 per class: 20 labelled images for a batch of 32
    let few = message(send(&mut session, start(5, 10, 10)));
    assert!(few.contains("at most the 20 labelled target images"), "{few}");
    let none = message(send(&mut session, Request::TransferStep { budget_ms: 100.0 }));
    assert!(none.contains("start it first"), "{none}");

    // a started experiment can be dropped
    progress(send(&mut session, start(10, 10, 10)));
    progress(send(&mut session, Request::StopTransfer));
    assert!(matches!(
        send(&mut session, Request::TransferStep { budget_ms: 3.0 }),
        Response::Error { .. }
    ));
}
