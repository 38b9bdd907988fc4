//! Loading a state dict: into a model built from the file's own configuration, or into the current model
//! after checking every tensor against it. Nothing is written until everything matches.
use super::error::QUOTED_CHARS;
use super::read::{StateDict, StoredValues};
use super::save::{InputNormalization, WeightsMetadata};
use super::{TensorMismatch, WeightsError, INPUT_KEY, MODEL_KEY};
use crate::budget::MemoryBudget;
use crate::error::shortened;
use crate::layers::StateValues;
use crate::model::{ModelConfig, Network};
use crate::Scalar;

/// What a load did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// Tensors copied into the model.
    pub tensors: usize,
    /// Values copied (parameters, statistics and counts).
    pub values: usize,
    /// When the file's classification head did not fit the model's: a sentence saying it was kept fresh.
    pub new_head: Option<String>,
}

/// The model the file describes, with its weights: the configuration comes from the metadata.
pub fn load(bytes: &[u8]) -> Result<(WeightsMetadata, Network<f32>, LoadReport), WeightsError> {
    let state = StateDict::from_bytes(bytes)?;
    let metadata = state.lab_metadata()?;
    let Some(model) = &metadata.model else {
        return Err(WeightsError::NoConfig {
            key: MODEL_KEY,
            found: "no such key".to_string(),
        });
    };
    let mut network = model.build::<f32>(0)?;
    let report = load_into(&mut network, &state, None)?;
    Ok((metadata, network, report))
}

impl StateDict {
    /// The lab's metadata: the model configuration (if present and readable) and the input normalisation.
    pub fn lab_metadata(&self) -> Result<WeightsMetadata, WeightsError> {
        let model = match self.metadata.get(MODEL_KEY) {
            None => None,
            Some(json) => Some(
                serde_json::from_str::<ModelConfig>(json).map_err(|e| WeightsError::NoConfig {
                    key: MODEL_KEY,
                    found: shortened(&format!("text that is not a model configuration ({e})"), QUOTED_CHARS),
                })?,
            ),
        };
        if let Some(model) = &model {
            // before validate(), which builds a CNN's layers: a file must not make the lab allocate past its budget
            model.check_memory(&MemoryBudget::for_target())?;
            model.validate()?;
        }
        let input = match self.metadata.get(INPUT_KEY) {
            Some(key) => {
                InputNormalization::from_key(key).ok_or_else(|| WeightsError::Input { found: key.to_string() })?
            }
            None => self.expected_input(),
        };
        Ok(WeightsMetadata { model, input })
    }

    /// The normalisation a file without the lab's key expects: ImageNet's for torchvision's ResNets (their
    /// stem and first block are there by name), the course's mean image otherwise.
    fn expected_input(&self) -> InputNormalization {
        let torchvision = ["conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "fc.weight"]
            .iter()
            .all(|name| self.tensors.contains_key(*name));
        if torchvision {
            InputNormalization::ImageNet
        } else {
            InputNormalization::CourseMeanImage
        }
    }
}

/// A tensor the model expects.
struct Expected {
    name: String,
    shape: Vec<usize>,
    count: bool,
}

/// Copies `state` into `network` after checking that the two have the same tensors with the same shapes; on
/// any difference the model is untouched and the error lists every mismatched tensor.
///
/// `new_head`: the module name of the classification head (`fc`). If the only mismatches are that module's
/// tensors (a torchvision file's 1000 classes against the model's 10), everything else is loaded and the head
/// keeps its fresh initialisation; the report says so.
pub fn load_into<T: Scalar>(
    network: &mut Network<T>,
    state: &StateDict,
    new_head: Option<&str>,
) -> Result<LoadReport, WeightsError> {
    let mut expected = Vec::new();
    network.visit_state(&mut |t| {
        expected.push(Expected {
            count: matches!(t.values, StateValues::Count(_)),
            name: t.name,
            shape: t.shape,
        })
    });
    let mut mismatches = Vec::new();
    for e in &expected {
        match state.tensors.get(&e.name) {
            None => mismatches.push(TensorMismatch {
                name: e.name.clone(),
                expected: Some(e.shape.clone()),
                found: None,
            }),
            Some(stored) => {
                let dtype_ok = matches!(
                    (&stored.values, e.count),
                    (StoredValues::F32(_), false) | (StoredValues::I64(_), true)
                );
                if !dtype_ok {
                    return Err(WeightsError::Dtype {
                        name: e.name.clone(),
                        expected: if e.count { "I64" } else { "F32" },
                        found: stored.values.dtype_name().to_string(),
                    });
                }
                // PyTorch keeps a count as a 0-dimensional tensor; accept [1] too
                let same = stored.shape == e.shape || (e.count && stored.shape.iter().product::<usize>() == 1);
                if !same {
                    mismatches.push(TensorMismatch {
                        name: e.name.clone(),
                        expected: Some(e.shape.clone()),
                        found: Some(stored.shape.clone()),
                    });
                }
            }
        }
    }
    for (name, stored) in &state.tensors {
        if !expected.iter().any(|e| &e.name == name) {
            mismatches.push(TensorMismatch {
                name: name.clone(),
                expected: None,
                found: Some(stored.shape.clone()),
            });
        }
    }
    let in_head = |name: &str| new_head.is_some_and(|head| name.strip_prefix(head).is_some_and(|r| r.starts_with('.')));
    let head_only = !mismatches.is_empty() && mismatches.iter().all(|m| in_head(&m.name));
    if !mismatches.is_empty() && !head_only {
        return Err(WeightsError::Mismatch(mismatches));
    }
    let new_head = head_only.then(|| {
        let shapes = |pick: fn(&TensorMismatch) -> &Option<Vec<usize>>| {
            mismatches
                .iter()
                .filter_map(|m| pick(m).as_ref().map(|s| format!("{} {s:?}", m.name)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "the file's head ({}) does not fit the model's ({}): it was replaced by a freshly initialised one",
            shapes(|m| &m.found),
            shapes(|m| &m.expected)
        )
    });
    let mut report = LoadReport {
        new_head,
        ..LoadReport::default()
    };
    network.visit_state(&mut |t| {
        if head_only && in_head(&t.name) {
            return;
        }
        let Some(stored) = state.tensors.get(&t.name) else {
            return;
        };
        match (t.values, &stored.values) {
            (StateValues::Learned(v) | StateValues::Buffer(v), StoredValues::F32(s)) => {
                v.iter_mut().zip(s).for_each(|(v, &s)| *v = T::of(f64::from(s)));
                report.values += v.len();
            }
            (StateValues::Count(c), StoredValues::I64(s)) => {
                *c = s.first().copied().unwrap_or(0);
                report.values += 1;
            }
            _ => return,
        }
        report.tensors += 1;
    });
    Ok(report)
}
