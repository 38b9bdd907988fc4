//! The seed corpus: small valid inputs of every format, made from the generated data with the lab's own
//! writers (a few images each, so that the fuzzer's executions stay fast).

use std::io::Read;

use backprop_lab::data::{
    synthetic, write_archive, write_binary_batch, write_pickle_batch, ArchiveFormat, SyntheticConfig, CLASS_NAMES,
};
use backprop_lab::model::{MlpConfig, ModelConfig};
use backprop_lab::weights::{save, InputNormalization, WeightsMetadata};
use flate2::read::MultiGzDecoder;

/// (target, file name, bytes) of every seed.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let dataset = synthetic(&SyntheticConfig {
        seed: 5,
        train_size: 2,
        test_size: 1,
    });
    let mut seeds = vec![
        (
            "binary_batch",
            "two_images".to_string(),
            write_binary_batch(&dataset.train),
        ),
        (
            "binary_batch",
            "one_image".to_string(),
            write_binary_batch(&dataset.test),
        ),
        (
            "pickle",
            "python2_batch".to_string(),
            write_pickle_batch(&dataset.train, "training batch 1 of 1"),
        ),
        (
            "pickle",
            "test_batch".to_string(),
            write_pickle_batch(&dataset.test, "testing batch 1 of 1"),
        ),
        (
            "gzip",
            "binary_archive".to_string(),
            write_archive(&dataset, ArchiveFormat::Binary, 1),
        ),
        (
            "gzip",
            "python_archive".to_string(),
            write_archive(&dataset, ArchiveFormat::Python, 2),
        ),
        (
            "class_names",
            "batches_meta".to_string(),
            (CLASS_NAMES.join("\n") + "\n").into_bytes(),
        ),
    ];
    for (name, format) in [("binary", ArchiveFormat::Binary), ("python", ArchiveFormat::Python)] {
        // the tar layer alone: one of our archives without its gzip layer
        let archive = write_archive(&dataset, format, 1);
        let mut tar = Vec::new();
        if MultiGzDecoder::new(archive.as_slice()).read_to_end(&mut tar).is_ok() {
            seeds.push(("tar", format!("{name}_tar"), tar));
        }
    }
    for query in [
        "model=mlp&hidden=100&act=elu&norm=none&opt=sgd&lr=0.001&batch=200&steps=1400&eval=100&seed=42&augment=0",
        "model=small-cnn&opt=adam&lr=2e-3&batch=64&augment=1",
        "model=convnet&hidden=150%2C150&norm=batch-norm",
    ] {
        seeds.push(("query", format!("query_{}", seeds.len()), query.as_bytes().to_vec()));
    }
    let model = ModelConfig::Mlp(MlpConfig {
        input_features: 12,
        hidden: vec![3],
        classes: 10,
        ..MlpConfig::default()
    });
    if let Ok(mut network) = model.build::<f32>(1) {
        let metadata = WeightsMetadata {
            model: Some(model),
            input: InputNormalization::CourseMeanImage,
        };
        if let Ok(bytes) = save(&mut network, &metadata) {
            seeds.push(("safetensors", "small_mlp".to_string(), bytes));
        }
    }
    seeds
}
