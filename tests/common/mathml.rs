//! A small MathML checker for the formula tests (tests/formulas.rs): parses a formula's element tree and
//! enforces the structure MathML needs (known elements, their arity, allowed attributes and entities).
#[derive(Debug)]
enum Child {
    Element(Element),
    Text(String),
}

#[derive(Debug)]
pub struct Element {
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
    pub fn text(&self) -> String {
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
    pub fn find(&self, name: &str) -> Option<&Element> {
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
pub fn check_formula(source: impl AsRef<str>) -> Result<Element, String> {
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
