//! Teaching with the lab: the lessons as data, hyperparameters changed while a run trains (replayed from the
//! link, recorded in the CSV), and per-layer gradient and weight norms over the steps.
use backprop_lab::data::{self, SyntheticConfig};
use backprop_lab::layers::LinearInit;
use backprop_lab::lessons::{lesson, lessons, LessonAction};
use backprop_lab::session::{presets, PageConfig, Request, Response, Session};
use backprop_lab::train::{curves_csv, Hyperparameters, TrainConfig, Trainer};

fn small_data() -> data::Dataset {
    data::synthetic(&SyntheticConfig {
        seed: 3,
        train_size: 400,
        test_size: 100,
    })
}

const QUERY: &str = "model=mlp&hidden=32&act=elu&norm=batch-norm&opt=sgd&lr=0.001&batch=40&steps=30&eval=10&seed=5";

fn send(session: &mut Session, request: Request) -> Response {
    let clock = std::time::Instant::now();
    let now = move || clock.elapsed().as_secs_f64() * 1000.0;
    session.dispatch(request, &[], &[], &now).response
}

fn step(session: &mut Session, steps: usize) -> backprop_lab::session::Progress {
    match send(
        session,
        Request::Step {
            steps,
            budget_ms: f64::INFINITY,
        },
    ) {
        Response::Progress(progress) => progress,
        other => panic!("expected progress, got {other:?}"),
    }
}

fn settings(learning_rate: f64, momentum: f64, weight_decay: f64) -> Hyperparameters {
    Hyperparameters {
        learning_rate,
        momentum,
        weight_decay,
    }
}

#[test]
fn every_lesson_opens_with_formulas_and_a_valid_experiment_in_report_order() {
    let all = lessons();
    assert!(all.len() >= 8, "the report's sections: {}", all.len());
    let mut ids: Vec<&str> = all.iter().map(|l| l.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "lesson ids are unique");
    let sections: Vec<&str> = all.iter().map(|l| l.section.as_str()).collect();
    assert!(sections.windows(2).all(|w| w[0] <= w[1]), "report order: {sections:?}");
    for lesson in &all {
        let config = PageConfig::from_query(&lesson.query).expect("a lesson's experiment is a valid configuration");
        config.to_train_config().expect("and builds");
        assert!(
            lesson.formulas.iter().all(|f| f.forward.starts_with("<math")),
            "{}",
            lesson.id
        );
        assert!(!lesson.button.is_empty() && !lesson.watch.is_empty());
    }
    let derivations = lesson("derivations").expect("the first lesson");
    assert_eq!(derivations.action, LessonAction::Suite);
    let kinds: Vec<&str> = derivations.formulas.iter().map(|f| f.kind.as_str()).collect();
    assert!(kinds.contains(&"Linear") && kinds.contains(&"Softmax"), "{kinds:?}");
    assert_eq!(
        lesson("convnet").expect("a ConvNet lesson").report.map(|r| r.value),
        Some(81.9)
    );
    let unknown = lesson("quantum").expect_err("an unknown lesson").to_string();
    assert!(
        unknown.contains("`quantum`") && unknown.contains("derivations"),
        "{unknown}"
    );
}

#[test]
fn the_numpy_mlp_preset_uses_the_assignments_initialisation() {
    let preset = presets()
        .into_iter()
        .find(|p| p.id == "numpy-mlp")
        .expect("a NumPy MLP preset");
    assert!(preset.query.contains("init=normal&init-std=0.0001"), "{}", preset.query);
    let config = PageConfig::from_query(&preset.query).expect("valid");
    assert_eq!(config.init, LinearInit::Normal { std: 1e-4 });
    let train = config.to_train_config().expect("builds");
    let mut trainer = Trainer::new(train, &small_data()).expect("a trainer");
    let mut largest = 0.0f32;
    trainer
        .network_mut()
        .visit_params(&mut |_, p| largest = p.value.iter().fold(largest, |m, v| m.max(v.abs())));
    assert!(
        largest < 1e-3,
        "N(0, 1e-4²) weights and zero biases: largest |θ| {largest}"
    );
    let batch_100 = presets()
        .into_iter()
        .find(|p| p.id == "table1-8-batch-100")
        .expect("Figure 4");
    assert!(batch_100.query.contains("batch=100"), "{}", batch_100.query);
}

#[test]
fn queries_carry_init_momentum_weight_decay_and_live_changes() {
    let query = format!("{QUERY}&init=normal&init-std=0.01&momentum=0.9&wd=0.0005&live=10:0.01:0.5:0,20:0.002:0:0.001");
    let config = PageConfig::from_query(&query).expect("valid");
    assert_eq!(config.changes.len(), 2);
    assert_eq!(config.changes[1].hyperparameters, settings(0.002, 0.0, 0.001));
    assert_eq!(PageConfig::from_query(&config.to_query()).expect("round trip"), config);
    assert!(!PageConfig::from_query(QUERY)
        .expect("valid")
        .to_query()
        .contains("live="));
    for (bad, field) in [
        ("live=10:0.01", "live"),
        ("live=20:0.01:0:0,10:0.01:0:0", "increasing"),
        ("live=30:0.01:0:0", "before the last"),
        ("live=5:-1:0:0", "learning rate"),
        ("momentum=2", "momentum"),
        ("init=xavier", "init"),
    ] {
        let message = PageConfig::from_query(&format!("{QUERY}&{bad}"))
            .expect_err(bad)
            .to_string();
        assert!(message.contains(field), "{bad}: {message}");
    }
    let adam = PageConfig::from_query(&format!("{QUERY}&opt=adam&momentum=0.9")).expect_err("Adam has β₁");
    assert!(adam.to_string().contains("Adam"), "{adam}");
}

#[test]
fn a_live_learning_rate_change_continues_the_run_and_replays_from_its_link() {
    let mut live = Session::new(small_data(), PageConfig::from_query(QUERY).expect("valid"));
    step(&mut live, 10);
    let Response::Hyperparameters {
        query,
        steps_done,
        changes,
    } = send(&mut live, Request::SetHyperparameters(settings(0.05, 0.9, 0.0)))
    else {
        panic!("expected the changed hyperparameters");
    };
    assert_eq!((steps_done, changes.len()), (10, 1), "no reset");
    assert!(query.contains("live=10:0.05:0.9:0"), "{query}");
    let progress = step(&mut live, 20);
    assert_eq!(progress.steps_done, 30);

    // The link replays the run with its change, bit for bit.
    let mut replay = Session::new(small_data(), PageConfig::from_query(&query).expect("the link is valid"));
    step(&mut replay, 30);
    let curves = |session: &Session| session.trainer().expect("trained").curves().to_vec();
    assert_eq!(curves(&live), curves(&replay));

    // Without the change the run differs after step 10 only.
    let mut plain = Session::new(small_data(), PageConfig::from_query(QUERY).expect("valid"));
    step(&mut plain, 30);
    assert_eq!(curves(&plain)[0], curves(&live)[0]);
    assert_ne!(curves(&plain)[1], curves(&live)[1]);

    let trainer = live.trainer().expect("trained");
    let csv = curves_csv(trainer.curves(), trainer.config());
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].ends_with(",learning_rate,momentum,weight_decay"), "{}", rows[0]);
    assert!(rows[1].ends_with(",0.001,0,0"), "step 10 trained at 1e-3: {}", rows[1]);
    assert!(rows[2].ends_with(",0.05,0.9,0"), "step 20 at the new rate: {}", rows[2]);

    let Response::Error { message } = send(&mut live, Request::SetHyperparameters(settings(0.01, 0.0, 0.0))) else {
        panic!("a finished run takes no changes");
    };
    assert!(message.contains("steps left"), "{message}");
}

#[test]
fn before_the_first_step_a_change_is_the_configuration_itself() {
    let mut session = Session::new(small_data(), PageConfig::from_query(QUERY).expect("valid"));
    let Response::Hyperparameters { query, changes, .. } =
        send(&mut session, Request::SetHyperparameters(settings(0.02, 0.0, 0.0)))
    else {
        panic!("expected the changed hyperparameters");
    };
    assert!(changes.is_empty() && query.contains("lr=0.02"), "{query}");
    let Response::Error { message } = send(&mut session, Request::SetHyperparameters(settings(f64::NAN, 0.0, 0.0)))
    else {
        panic!("a bad learning rate is refused");
    };
    assert!(message.contains("learning rate"), "{message}");
    assert_eq!(session.config().learning_rate, 0.02, "nothing changed");
}

#[test]
fn every_step_reports_each_layers_gradient_and_weight_norm() {
    let mut session = Session::new(small_data(), PageConfig::from_query(QUERY).expect("valid"));
    let progress = step(&mut session, 5);
    let Response::State(state) = send(&mut session, Request::State) else {
        panic!("expected the state");
    };
    // Linear, BatchNorm1d, Linear: three layers with parameters.
    assert_eq!(state.norm_layers.len(), 3, "{:?}", state.norm_layers);
    assert!(state.norm_layers[0].contains("Linear"), "{:?}", state.norm_layers);
    let steps: Vec<usize> = progress.norms.iter().map(|n| n.step).collect();
    assert_eq!(steps, vec![1, 2, 3, 4, 5]);
    for norms in &progress.norms {
        assert_eq!((norms.gradient.len(), norms.weight.len()), (3, 3));
        assert!(
            norms
                .gradient
                .iter()
                .chain(&norms.weight)
                .all(|v| v.is_finite() && *v > 0.0),
            "{norms:?}"
        );
    }
    // The weight norm of the first layer is its parameters' Euclidean norm after the step.
    let mut squares = 0.0f64;
    let mut trainer: Trainer = Trainer::new(TrainConfig::default(), &small_data()).expect("a trainer");
    trainer.step(&small_data()).expect("a step");
    trainer.network_mut().visit_params(&mut |layer, p| {
        if layer == 0 {
            squares += p.value.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>();
        }
    });
    let first = trainer.layer_norms().expect("a step was taken").weight[0];
    assert!(
        (first - squares.sqrt()).abs() <= 1e-9 * first,
        "{first} vs {}",
        squares.sqrt()
    );
}
