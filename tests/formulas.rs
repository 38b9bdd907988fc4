//! The MathML formulas of the "inside a layer" panel: every real layer finds its kind's formulas,
//! every formula is a well-formed `<math>` element, and the gradients are the corrected ones.
#[path = "common/mathml.rs"]
mod common_mathml;

use backprop_lab::formulas::*;
use backprop_lab::layers::{Layer, LayerKind, LayerNormComposed};
use backprop_lab::model::{
    Activation, CnnConfig, LossKind, MlpConfig, ModelConfig, Network, Normalization, ResnetConfig, Stem,
};
use common_mathml::{check_formula, Element};

/// The kinds of the layers the lab's real models are made of — every MLP variant (both losses, every activation
/// and normalisation), the small CNN, the ConvNet and a narrow ResNet-18 with a CIFAR stem (both shortcut kinds)
/// — plus the composed LayerNorm, which the report builds alone for its comparison.
fn real_layer_kinds() -> Vec<(String, LayerKind)> {
    let mut networks: Vec<Network<f64>> = Vec::new();
    for activation in [Activation::Elu, Activation::Relu, Activation::Tanh] {
        for normalization in [Normalization::None, Normalization::BatchNorm, Normalization::LayerNorm] {
            for loss in [LossKind::SoftmaxCrossEntropy, LossKind::SoftmaxThenCrossEntropy] {
                let config = MlpConfig {
                    input_features: 12,
                    hidden: vec![6],
                    activation,
                    normalization,
                    loss,
                    ..MlpConfig::default()
                };
                networks.push(config.build(1).expect("a valid MLP"));
            }
        }
    }
    let resnet = ResnetConfig::resnet18(10)
        .with_stem(Stem::Cifar)
        .with_widths([4, 8, 8, 8])
        .with_blocks([1, 1, 1, 1])
        .cnn();
    for cnn in [CnnConfig::small_cnn(), CnnConfig::convnet(), resnet] {
        networks.push(ModelConfig::Cnn(cnn).build(1).expect("a valid CNN"));
    }
    let mut kinds: Vec<(String, LayerKind)> = networks
        .iter()
        .flat_map(|network| network.layers().iter().map(|layer| (layer.name(), layer.kind())))
        .collect();
    let composed = LayerNormComposed::<f64>::new(6);
    kinds.push((composed.name(), composed.kind()));
    kinds
}

/// The formulas of one real layer of each topic, found through the layer's kind.
fn layer(topic: Topic) -> LayerFormulas {
    let (_, kind) = real_layer_kinds()
        .into_iter()
        .find(|(_, kind)| Topic::of_layer(kind) == topic)
        .unwrap_or_else(|| panic!("no real layer of topic {topic:?}"));
    for_kind(&kind)
}

/// The text of a formula's first fraction, e.g. `∂L∂X` for a gradient `∂L/∂X = …`.
fn first_fraction(source: impl AsRef<str>) -> String {
    let root = check_formula(source).unwrap_or_else(|e| panic!("{e}"));
    root.find("mfrac").map(Element::text).unwrap_or_default()
}

/// The whole text of a formula, whitespace dropped.
fn text(source: impl AsRef<str>) -> String {
    check_formula(source).unwrap_or_else(|e| panic!("{e}")).text()
}

/// Every formula set the module offers: all layer topics and both losses.
fn all_formulas() -> Vec<LayerFormulas> {
    Topic::LAYERS
        .into_iter()
        .chain(Topic::LOSSES)
        .map(Topic::formulas)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The checker itself
// ---------------------------------------------------------------------------------------------

#[test]
fn the_checker_rejects_malformed_mathml() {
    let good = "<math display=\"block\"><mfrac><mi>a</mi><mrow><mi>b</mi><mspace width=\"1em\"/></mrow></mfrac></math>";
    assert!(check_formula(good).is_ok(), "{:?}", check_formula(good));
    let bad = [
        "<math display=\"block\"><mi>x</mo></math>",        // mismatched close
        "<math display=\"block\"><mrow><mi>x</mi></math>",  // unclosed
        "<math display=\"block\"><mi>x</mi></mrow></math>", // stray close
        "<math display=\"block\"><mfrac><mi>a</mi></mfrac></math>", // arity
        "<math display=\"block\"><mi>a & b</mi></math>",    // bare '&'
        "<math display=\"block\"><mi>a</mi></math><mi>b</mi>", // after the root
        "<math display=\"block\"><mfrc><mi>a</mi></mfrc></math>", // unknown element
        "<math display=\"block\">x<mi>a</mi></math>",       // text in a layout element
        "<math display=\"block\"><mtr><mtd><mi>a</mi></mtd></mtr></math>", // row outside a table
        "<math><mi>a</mi></math>",                          // not display="block"
        "<math display=block><mi>a</mi></math>",            // unquoted attribute
        "<mrow><mi>a</mi></mrow>",                          // not <math>
    ];
    for source in bad {
        assert!(check_formula(source).is_err(), "accepted {source:?}");
    }
    assert_eq!(
        text("<math display=\"block\"><mo>&#x2202;</mo><mo>&gt;</mo></math>"),
        "∂>"
    );
}

// ---------------------------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------------------------

#[test]
fn every_real_layer_finds_the_formulas_of_its_own_kind() {
    let kinds = real_layer_kinds();
    for (name, kind) in &kinds {
        let formulas = for_kind(kind);
        let topic = Topic::of_layer(kind);
        assert_eq!(formulas.kind, topic.name(), "{name}");
        assert!(
            name.starts_with(topic.name()),
            "{name} is shown with the formulas of {}",
            topic.name()
        );
    }
    // The real models use every layer topic: none is dead, none is missing.
    for topic in Topic::LAYERS {
        assert!(
            kinds.iter().any(|(_, kind)| Topic::of_layer(kind) == topic),
            "no real layer has topic {topic:?}"
        );
    }
    // Both shortcut kinds of the ResNet block are among them.
    let projections: Vec<bool> = kinds
        .iter()
        .filter_map(|(_, kind)| match kind {
            LayerKind::BasicBlock { projection, .. } => Some(projection.is_some()),
            _ => None,
        })
        .collect();
    assert!(
        projections.contains(&true) && projections.contains(&false),
        "{projections:?}"
    );
}

#[test]
fn every_network_loss_has_its_formulas() {
    for (loss, name) in [
        (LossKind::SoftmaxCrossEntropy, "softmax-cross-entropy"),
        (LossKind::SoftmaxThenCrossEntropy, "cross-entropy"),
    ] {
        assert_eq!(for_loss(loss).kind, name);
    }
}

#[test]
fn topics_resolve_by_their_exact_names_only() {
    for topic in Topic::LAYERS.into_iter().chain(Topic::LOSSES) {
        assert_eq!(Topic::from_name(topic.name()), Some(topic));
        assert_eq!(for_name(topic.name()), Some(topic.formulas()));
    }
    for name in [
        "Unknown",
        "",
        "Linear(3→4)",
        "linear",
        "LayerNormX",
        "Conv3d",
        "mse",
        "cross_entropy",
        "softmax",
    ] {
        assert_eq!(for_name(name), None, "{name:?}");
    }
}

#[test]
fn every_formula_is_a_well_formed_block_math_element() {
    for formulas in all_formulas() {
        let kind = formulas.kind;
        check_formula(&formulas.forward).unwrap_or_else(|e| panic!("{kind} forward: {e}"));
        assert!(!formulas.backward.is_empty(), "{kind} has no backward formula");
        for (i, backward) in formulas.backward.iter().enumerate() {
            check_formula(backward).unwrap_or_else(|e| panic!("{kind} backward[{i}]: {e}"));
            assert!(
                first_fraction(backward).starts_with("∂L∂"),
                "{kind} backward[{i}] is not a ∂L/∂… gradient"
            );
        }
        for (what, plain) in [("summary", formulas.summary), ("notes", formulas.notes)] {
            assert!(!plain.trim().is_empty(), "{kind} {what} is empty");
            assert!(
                !plain.contains(['<', '>', '&']),
                "{kind} {what} is not plain text: {plain:?}"
            );
        }
    }
}

#[test]
fn gradients_come_in_the_documented_order() {
    let denominators = |topic: Topic| -> Vec<String> {
        let formulas = topic.formulas();
        formulas
            .backward
            .iter()
            .map(|b| first_fraction(b).trim_start_matches("∂L∂").to_owned())
            .collect()
    };
    assert_eq!(denominators(Topic::Linear), ["X", "W", "b"]);
    assert_eq!(denominators(Topic::LayerNorm), ["x", "γ", "β"]);
    assert_eq!(denominators(Topic::LayerNormComposed), ["x", "γ", "β"]);
    assert_eq!(denominators(Topic::BatchNorm1d), ["x", "γ", "β"]);
    assert_eq!(denominators(Topic::BatchNorm2d), ["x", "γc", "βc"]);
    assert_eq!(denominators(Topic::Conv2d), ["Xn", "Wmat", "bo"]);
    assert_eq!(denominators(Topic::PreAct), ["r", "a", "x"]);
    assert_eq!(denominators(Topic::BasicBlock), ["z", "r1", "x"]);
    assert_eq!(denominators(Topic::SoftmaxCrossEntropy), ["Z"]);
    assert_eq!(denominators(Topic::CrossEntropy), ["X"]);
    for topic in [Topic::Elu, Topic::Relu, Topic::Tanh, Topic::Softmax] {
        assert_eq!(denominators(topic), ["X"], "{topic:?}");
    }
}

#[test]
fn the_formulas_are_the_corrected_ones() {
    let linear = layer(Topic::Linear);
    assert_eq!(text(&linear.forward), "Y=XW⊤+𝟏b⊤");
    assert_eq!(text(&linear.backward[0]), "∂L∂X=∂L∂YW");
    assert_eq!(text(&linear.backward[1]), "∂L∂W=(∂L∂Y)⊤X");
    assert_eq!(text(&linear.backward[2]), "∂L∂b=𝟏⊤∂L∂Y");

    let elu = text(&layer(Topic::Elu).backward[0]);
    assert!(
        elu.starts_with("∂L∂X=∂L∂Y∘h′(X),h′(x)={1ifx>0ex=h(x)+1otherwise"),
        "{elu}"
    );
    assert!(text(&layer(Topic::Tanh).backward[0]).ends_with("=1−y2"));
    assert!(text(&layer(Topic::Softmax).backward[0]).starts_with("∂L∂X=Y∘(∂L∂Y−rowsum(∂L∂Y∘Y))"));

    let layer_norm = layer(Topic::LayerNorm);
    let dx = text(&layer_norm.backward[0]);
    assert!(dx.starts_with("∂L∂x=1σ2+ε(g−mean(g)−x^⋅mean(g∘x^))g=∂L∂y∘γ"), "{dx}");
    assert!(
        dx.ends_with("mean(v)=1M∑j=1Mvj"),
        "per row: the mean runs over the M features: {dx}"
    );
    assert_eq!(text(&layer_norm.backward[1]), "∂L∂γ=𝟏⊤(∂L∂Y∘X^)");
    assert_eq!(text(&layer_norm.backward[2]), "∂L∂β=𝟏⊤∂L∂Y");
    assert!(text(&layer_norm.forward).contains("x^=x−μσ2+ε,y=γ∘x^+β"));
    assert_eq!(
        layer(Topic::LayerNormComposed).backward,
        layer_norm.backward,
        "the same math"
    );

    let batch_norm = text(&layer(Topic::BatchNorm1d).backward[0]);
    assert!(
        batch_norm.ends_with("mean(v)=1S∑n=1Svn"),
        "over the batch: {batch_norm}"
    );
    assert!(text(layer(Topic::BatchNorm1d).forward).contains("μrun←(1−m)μrun+mμ"));

    let conv = layer(Topic::Conv2d);
    assert!(text(&conv.forward).ends_with("Hout=⌊H+2p−ks⌋+1"));
    assert_eq!(text(&conv.backward[0]), "∂L∂Xn=col2im(Wmat⊤∂L∂Yn)");
    assert_eq!(text(&conv.backward[1]), "∂L∂Wmat=∑n∂L∂Yn⋅col(Xn)⊤");

    assert!(text(layer(Topic::MaxPool2d).forward).contains("=−∞"));
    assert_eq!(text(&layer(Topic::GlobalAvgPool).backward[0]), "∂L∂xn,c,h,w=1HW∂L∂yn,c");
    let pre_act = text(&layer(Topic::PreAct).backward[2]);
    assert!(
        pre_act.starts_with("∂L∂x=∂L∂y+"),
        "the skip adds ∂L/∂y unchanged: {pre_act}"
    );

    let block = layer(Topic::BasicBlock);
    assert_eq!(text(&block.backward[0]), "∂L∂z=∂L∂y∘[z>0]");
    assert!(
        text(&block.backward[2]).ends_with("+shortcut⊤∂L∂z"),
        "the shortcut's gradient is added at x: {}",
        text(&block.backward[2])
    );

    let fused = for_loss(LossKind::SoftmaxCrossEntropy);
    assert_eq!(fused.kind, "softmax-cross-entropy");
    assert_eq!(text(&fused.backward[0]), "∂L∂Z=Y−TS");
    let cross_entropy = for_loss(LossKind::SoftmaxThenCrossEntropy);
    assert_eq!(cross_entropy.kind, "cross-entropy");
    assert_eq!(text(&cross_entropy.backward[0]), "∂L∂X=−1ST⊘X");
}

#[test]
fn the_formulas_serialise_for_the_page() {
    let value = serde_json::to_value(layer(Topic::Linear)).expect("serialises");
    assert_eq!(value["kind"], "Linear");
    assert_eq!(value["backward"].as_array().map(Vec::len), Some(3));
    for field in ["summary", "forward", "notes"] {
        assert!(value[field].as_str().is_some_and(|s| !s.is_empty()), "{field}");
    }
}
