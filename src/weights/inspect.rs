//! What a safetensors file holds, without loading it into a model: tensors (name, dtype, shape) and metadata.
use std::fmt;

use safetensors::SafeTensors;

use super::WeightsError;

/// One tensor of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
}

/// A file's table of contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// Sorted by name, numbers compared as numbers (`2.weight` before `10.weight`).
    pub tensors: Vec<TensorEntry>,
    pub metadata: Vec<(String, String)>,
    pub bytes: usize,
}

impl Inspection {
    /// The number of values in all floating-point tensors (parameters and running statistics).
    pub fn float_values(&self) -> usize {
        self.tensors
            .iter()
            .filter(|t| t.dtype.starts_with('F') || t.dtype.starts_with("BF"))
            .map(|t| t.shape.iter().product::<usize>())
            .sum()
    }
}

/// Lists the tensors and metadata of a safetensors file (any dtype).
pub fn inspect(bytes: &[u8]) -> Result<Inspection, WeightsError> {
    let (_, header) = SafeTensors::read_metadata(bytes)?;
    let file = SafeTensors::deserialize(bytes)?;
    let mut tensors: Vec<TensorEntry> = file
        .iter()
        .map(|(name, view)| TensorEntry {
            name: name.to_string(),
            dtype: format!("{:?}", view.dtype()),
            shape: view.shape().to_vec(),
        })
        .collect();
    tensors.sort_by(|a, b| natural_key(&a.name).cmp(&natural_key(&b.name)));
    let mut metadata: Vec<(String, String)> = header
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    metadata.sort();
    Ok(Inspection {
        tensors,
        metadata,
        bytes: bytes.len(),
    })
}

/// A name's dot-separated parts, numbers compared as numbers.
fn natural_key(name: &str) -> Vec<(u64, &str)> {
    name.split('.')
        .map(|part| match part.parse::<u64>() {
            Ok(n) => (n, ""),
            Err(_) => (u64::MAX, part),
        })
        .collect()
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} tensors, {} floating-point values, {} bytes",
            self.tensors.len(),
            self.float_values(),
            self.bytes
        )?;
        let width = self.tensors.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for t in &self.tensors {
            writeln!(f, "  {:width$}  {:4} {:?}", t.name, t.dtype, t.shape)?;
        }
        if !self.metadata.is_empty() {
            writeln!(f, "metadata:")?;
            for (key, value) in &self.metadata {
                writeln!(f, "  {key}: {value}")?;
            }
        }
        Ok(())
    }
}
