//! The MathML formulas of the "inside a layer" panel: every real layer finds its kind's formulas,
//! every formula is a well-formed `<math>` element, and the gradients are the corrected ones.
use backprop_lab::formulas::*;
use backprop_lab::layers::{Layer, LayerKind, LayerNormComposed};
use backprop_lab::model::{
    Activation, CnnConfig, LossKind, MlpConfig, ModelConfig, Network, Normalization, ResnetConfig, Stem,
};

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

// ---------------------------------------------------------------------------------------------
// A small MathML checker: parses the element tree and enforces the structure MathML needs.
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
enum Child {
    Element(Element),
    Text(String),
}

#[derive(Debug)]
struct Element {
    name: String,
    attributes: String,
    children: Vec<Child>,
}

impl Element {
    /// The element's child elements (text is not an element).
    fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|child| match child {
            Child::Element(element) => Some(element),
            Child::Text(_) => None,
        })
    }

    /// All the text inside, entities decoded, whitespace dropped.
    fn text(&self) -> String {
        let mut out = String::new();
        for child in &self.children {
            match child {
                Child::Element(element) => out.push_str(&element.text()),
                Child::Text(text) => out.extend(text.chars().filter(|c| !c.is_whitespace())),
            }
        }
        out
    }

    /// The first element named `name` in document order (self included).
    fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.elements().find_map(|element| element.find(name))
    }
}

/// Decodes the character references allowed in the formulas; an `&` that starts none is an error.
fn decode_text(raw: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..]
            .find(';')
            .ok_or_else(|| format!("unterminated '&' in {raw:?}"))?
            + at;
        let entity = &rest[at + 1..end];
        let decoded = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16)
                } else if let Some(decimal) = entity.strip_prefix('#') {
                    decimal.parse()
                } else {
                    return Err(format!("unknown entity &{entity}; in {raw:?}"));
                };
                code.ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad character reference &{entity};"))?
            }
        };
        out.push(decoded);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Checks that the attributes are `name="value"` pairs without `<` or `&` in the values.
fn check_attributes(attributes: &str) -> Result<(), String> {
    let mut rest = attributes.trim();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| format!("attribute without value in {attributes:?}"))?;
        let name = &rest[..eq];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("bad attribute name {name:?}"));
        }
        let value = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or_else(|| format!("unquoted attribute {name}"))?;
        let close = value
            .find('"')
            .ok_or_else(|| format!("unterminated attribute {name}"))?;
        if value[..close].contains(['<', '&']) {
            return Err(format!("'<' or '&' in attribute {name}"));
        }
        rest = value[close + 1..].trim_start();
    }
    Ok(())
}

/// Parses `source` as one XML element (tag stack: `<tag …>`, `</tag>`, `<tag …/>`, text in between).
fn parse(source: &str) -> Result<Element, String> {
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut rest = source;
    while !rest.is_empty() {
        if root.is_some() {
            return Err(format!("content after the root element: {rest:?}"));
        }
        if let Some(tag_rest) = rest.strip_prefix('<') {
            let end = tag_rest.find('>').ok_or("unterminated tag")?;
            let tag = &tag_rest[..end];
            rest = &tag_rest[end + 1..];
            if tag.contains('<') {
                return Err(format!("'<' inside tag {tag:?}"));
            }
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().ok_or_else(|| format!("</{name}> without an open tag"))?;
                if open.name != name {
                    return Err(format!("<{}> closed by </{name}>", open.name));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Child::Element(open)),
                    None => root = Some(open),
                }
            } else {
                let (tag, self_closing) = match tag.strip_suffix('/') {
                    Some(tag) => (tag, true),
                    None => (tag, false),
                };
                let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
                let (name, attributes) = tag.split_at(name_end);
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(format!("bad tag name {name:?}"));
                }
                check_attributes(attributes)?;
                let element = Element {
                    name: name.to_owned(),
                    attributes: attributes.trim().to_owned(),
                    children: vec![],
                };
                if self_closing {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(Child::Element(element)),
                        None => root = Some(element),
                    }
                } else {
                    stack.push(element);
                }
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = decode_text(&rest[..end])?;
            rest = &rest[end..];
            match stack.last_mut() {
                Some(parent) => parent.children.push(Child::Text(text)),
                None => return Err(format!("text outside the root element: {text:?}")),
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{}> never closed", open.name));
    }
    root.ok_or_else(|| "no element".to_owned())
}

/// The MathML elements the formulas may use and how many child elements each must have.
fn arity(name: &str) -> Option<Option<usize>> {
    match name {
        "math" | "mrow" | "msqrt" | "mtable" | "mtr" | "mtd" | "mi" | "mo" | "mn" | "mtext" => Some(None),
        "mspace" => Some(Some(0)),
        "mfrac" | "msub" | "msup" | "mover" | "munder" => Some(Some(2)),
        "msubsup" | "munderover" => Some(Some(3)),
        _ => None,
    }
}

/// Checks the MathML structure below `element`.
fn check_mathml(element: &Element) -> Result<(), String> {
    let name = element.name.as_str();
    let expected = arity(name).ok_or_else(|| format!("<{name}> is not an allowed MathML element"))?;
    let count = element.elements().count();
    if let Some(expected) = expected {
        if count != expected {
            return Err(format!("<{name}> has {count} child elements, needs {expected}"));
        }
    }
    let is_token = matches!(name, "mi" | "mo" | "mn" | "mtext");
    if is_token {
        if count != 0 || (element.text().is_empty() && name != "mtext") {
            return Err(format!("<{name}> must hold text only, and some: {element:?}"));
        }
    } else if element
        .children
        .iter()
        .any(|c| matches!(c, Child::Text(t) if !t.trim().is_empty()))
    {
        return Err(format!("text directly inside <{name}>"));
    }
    let allowed_children: Option<&[&str]> = match name {
        "mtable" => Some(&["mtr"]),
        "mtr" => Some(&["mtd"]),
        _ => None,
    };
    for child in element.elements() {
        if let Some(allowed) = allowed_children {
            if !allowed.contains(&child.name.as_str()) {
                return Err(format!("<{}> inside <{name}>", child.name));
            }
        } else if matches!(child.name.as_str(), "mtr" | "mtd") {
            return Err(format!("<{}> outside a table, inside <{name}>", child.name));
        }
        if child.name == "math" {
            return Err("nested <math>".to_owned());
        }
        check_mathml(child)?;
    }
    Ok(())
}

/// Parses and checks one formula: a block `<math>` element, well-formed and structurally valid MathML.
fn check_formula(source: impl AsRef<str>) -> Result<Element, String> {
    let source = source.as_ref();
    if !source.starts_with("<math") || !source.ends_with("</math>") {
        return Err(format!("not a <math> element: {source:?}"));
    }
    let root = parse(source)?;
    if root.name != "math" || root.attributes != "display=\"block\"" {
        return Err(format!(
            "root is <{} {}>, not <math display=\"block\">",
            root.name, root.attributes
        ));
    }
    check_mathml(&root)?;
    Ok(root)
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
