//! Class names come from untrusted files (`batches.meta.txt`, a pickle's `label_names`): ten names of 1 to 64
//! characters without control characters are taken as they are (markup included: the page shows them as
//! text); anything else is refused with a message naming the file.

use backprop_lab::data::{
    synthetic, write_binary_batch, DatasetBuilder, SyntheticConfig, CLASS_NAMES, MAX_CLASS_NAME_CHARS,
};
use serde_pickle::{HashableValue, SerOptions, Value};

const HOSTILE: [&str; 10] = [
    "<img src=x onerror=alert(1)>",
    "<script>alert('x')</script>",
    "\"quoted\" & 'apostrophes'",
    "</td></tr></table>",
    "javascript:alert(1)",
    "${7*7} {{7*7}}",
    "ünïcödé 猫 🐱",
    "<b>bold</b>",
    "a",
    "&lt;entity&gt;",
];

fn add_names(name: &str, bytes: &[u8]) -> Result<Vec<String>, String> {
    let dataset = synthetic(&SyntheticConfig {
        seed: 2,
        train_size: 10,
        test_size: 10,
    });
    let mut builder = DatasetBuilder::new();
    builder.add_file(name, bytes).map_err(|error| error.to_string())?;
    builder
        .add_file("data_batch_1.bin", &write_binary_batch(&dataset.train))
        .unwrap();
    builder
        .add_file("test_batch.bin", &write_binary_batch(&dataset.test))
        .unwrap();
    Ok(builder.build().unwrap().class_names)
}

fn label_names_pickle(names: &[&str]) -> Vec<u8> {
    let list = Value::List(
        names
            .iter()
            .map(|name| Value::Bytes(name.as_bytes().to_vec()))
            .collect(),
    );
    let dict = [(HashableValue::Bytes(b"label_names".to_vec()), list)]
        .into_iter()
        .collect();
    serde_pickle::value_to_vec(&Value::Dict(dict), SerOptions::new().proto_v2()).unwrap()
}

#[test]
fn markup_in_class_names_is_kept_as_text() {
    let text = HOSTILE.join("\n") + "\n\n";
    assert_eq!(
        add_names("batches.meta.txt", text.as_bytes()),
        Ok(HOSTILE.map(String::from).to_vec())
    );
    assert_eq!(
        add_names("batches.meta", &label_names_pickle(&HOSTILE)),
        Ok(HOSTILE.map(String::from).to_vec())
    );
    // without a class-name file, CIFAR-10's own names
    let names = add_names(
        "data_batch_2.bin",
        &write_binary_batch(&synthetic(&SyntheticConfig::default()).test),
    );
    assert_eq!(names, Ok(CLASS_NAMES.map(String::from).to_vec()));
}

#[test]
fn bad_class_name_files_say_what_is_wrong() {
    let expected = "expected 10 class names of 1 to 64 characters without control characters, found";
    let long = "x".repeat(MAX_CLASS_NAME_CHARS + 1);
    let mut with_long = CLASS_NAMES.to_vec();
    with_long[3] = &long;
    let mut with_escape = CLASS_NAMES.to_vec();
    with_escape[7] = "horse\u{1b}[31m";
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("batches.meta.txt", CLASS_NAMES[..9].join("\n").into_bytes(), "9 names"),
        (
            "batches.meta.txt",
            with_long.join("\n").into_bytes(),
            "a name of 65 characters for label 3",
        ),
        (
            "batches.meta.txt",
            with_escape.join("\n").into_bytes(),
            "a control character (U+001B) in the name for label 7",
        ),
        (
            "batches.meta.txt",
            b"airplane\n\xff\xfe".to_vec(),
            "bytes that are not UTF-8 text (at byte 9)",
        ),
        (
            "batches.meta",
            label_names_pickle(&[CLASS_NAMES.as_slice(), &["extra"]].concat()),
            "11 names",
        ),
    ];
    for (name, bytes, found) in cases {
        assert_eq!(add_names(name, &bytes), Err(format!("{name}: {expected} {found}")));
    }
}
