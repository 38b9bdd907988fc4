//! The page's link (its query string): every preset and model round-trips, bad values are named and quoted
//! short. Split from `session.rs`; the inputs the `query` fuzz target found replay in `fuzz_regressions.rs`.
use backprop_lab::session::{presets, ModelKind, PageConfig};

#[test]
fn query_strings_round_trip_and_bad_values_are_named() {
    for preset in presets() {
        let config = PageConfig::from_query(&preset.query).expect("presets are valid");
        assert_eq!(config.to_query(), preset.query, "{}", preset.id);
        config.to_train_config().expect("presets build");
    }
    let config = PageConfig::from_query("?model=mlp&hidden=25%2C25&act=tanh&norm=layer-norm&seed=9").unwrap();
    assert_eq!(config.hidden, vec![25, 25]);
    assert_eq!(config.seed, 9);
    assert_eq!(
        PageConfig::from_query("model=convnet").unwrap(),
        PageConfig::for_model(ModelKind::Convnet)
    );
    for (query, field) in [
        ("lr=banana", "lr"),
        ("lr=1e9", "learning rate"),
        ("act=sigmoid", "act"),
        ("hidden=10,x", "hidden"),
        ("batch=0", "batch size"),
        ("steps=100000000", "steps"),
        ("model=resnet", "model"),
        ("seed=9007199254740992", "seed"),
    ] {
        let error = PageConfig::from_query(query).expect_err(query).to_string();
        assert!(error.starts_with(field), "{query}: {error}");
        assert!(error.contains("expected"), "{query}: {error}");
    }
    let table1 = presets().into_iter().filter(|p| p.table1).count();
    assert_eq!(table1, 8);
    // The CNNs' links carry no MLP-only settings.
    for model in [ModelKind::SmallCnn, ModelKind::Convnet] {
        let query = PageConfig::for_model(model).to_query();
        for key in ["hidden=", "act=", "norm="] {
            assert!(!query.contains(key), "{query}");
        }
    }
}

/// Found by the `query` fuzz target: a CNN's link that also sets the MLP-only settings (the page's form always
/// sends them) parsed into a form whose own link dropped them, so it read back as another form.
#[test]
fn a_cnn_link_with_mlp_settings_reads_back_as_the_same_form() {
    for query in [
        "model=small-cnn&hidden=&act=relu",
        "model=small-cnn&hidden=0",
        "model=convnet&hidden=1,1,0,1,4&norm=batch-norm&init=normal&init-std=0.01",
    ] {
        let config = PageConfig::from_query(query).expect(query);
        assert_eq!(
            PageConfig::from_query(&config.to_query()).as_ref(),
            Ok(&config),
            "{query}"
        );
    }
}

/// Found by the `query` fuzz target: a bad value is quoted in the error, and a link can be any length.
#[test]
fn a_bad_value_thousands_of_characters_long_is_quoted_short() {
    for (query, field) in [("batch=", "batch"), ("model=", "model"), ("live=", "live")] {
        let query = format!("{query}{}", "6".repeat(15_000));
        let error = PageConfig::from_query(&query).expect_err(field).to_string();
        assert!(error.starts_with(field), "{error}");
        assert!(error.len() < 300, "{} characters: {error}", error.len());
        assert!(error.contains("(15000 characters)"), "{error}");
    }
}
