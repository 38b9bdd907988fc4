//! Named configurations: the eight rows of the report's Table 1 (the experiments queue runs them), the lessons'
//! other experiments (the NumPy MLP, batch 100, LayerNorm), the ConvNet's course defaults and the small CNN's
//! recipe.
use super::page_config::{kebab, PageConfig};
use crate::layers::LinearInit;
use crate::model::{Activation, ModelKind, Normalization};
use crate::optim::OptimizerKind;

/// A named configuration: a row of the report's Table 1, the ConvNet's defaults, or the small CNN's recipe.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preset {
    pub id: String,
    pub label: String,
    pub query: String,
    /// The report's test accuracy for this row, in % (on the real CIFAR-10 test set).
    pub report_accuracy: Option<f64>,
    /// Whether it is one of the report's Table 1 rows (the experiments queue runs those).
    pub table1: bool,
}

/// The report's Table 1 rows (optimizer, activation, BatchNorm, hidden units, steps, test accuracy %), then the
/// ConvNet's defaults and the small CNN's recipe.
pub fn presets() -> Vec<Preset> {
    /// Optimizer, activation, BatchNorm, hidden units, steps, the report's test accuracy in %.
    type Row = (OptimizerKind, Activation, bool, &'static [usize], usize, f64);
    let rows: [Row; 8] = [
        (OptimizerKind::Sgd, Activation::Elu, false, &[100], 1400, 46.11),
        (OptimizerKind::Adam, Activation::Elu, false, &[100], 1400, 45.89),
        (OptimizerKind::Adam, Activation::Relu, false, &[100], 1400, 45.52),
        (OptimizerKind::Adam, Activation::Elu, true, &[100], 1400, 51.57),
        (OptimizerKind::Adam, Activation::Elu, true, &[100], 2000, 52.25),
        (OptimizerKind::Adam, Activation::Elu, true, &[25; 5], 2000, 47.85),
        (OptimizerKind::Adam, Activation::Elu, true, &[150], 2000, 52.49),
        (OptimizerKind::Adam, Activation::Elu, true, &[150; 5], 2500, 54.16),
    ];
    let mut presets: Vec<Preset> = rows
        .iter()
        .enumerate()
        .map(|(i, &(optimizer, activation, batch_norm, hidden, steps, accuracy))| {
            let config = PageConfig {
                hidden: hidden.to_vec(),
                activation,
                normalization: if batch_norm {
                    Normalization::BatchNorm
                } else {
                    Normalization::None
                },
                optimizer,
                steps,
                ..PageConfig::default()
            };
            let hidden: Vec<String> = hidden.iter().map(usize::to_string).collect();
            Preset {
                id: format!("table1-{}", i + 1),
                label: format!(
                    "Table 1 row {}: {}, {}{}, hidden {}, {} steps",
                    i + 1,
                    if optimizer == OptimizerKind::Sgd { "SGD" } else { "Adam" },
                    kebab(&activation).to_uppercase(),
                    if batch_norm { " + BatchNorm" } else { "" },
                    hidden.join("-"),
                    steps
                ),
                query: config.to_query(),
                report_accuracy: Some(accuracy),
                table1: true,
            }
        })
        .collect();
    presets.extend(lesson_presets());
    presets.push(Preset {
        id: "convnet".into(),
        label: "ConvNet, course defaults (Adam 1e-4, batch 32, 5000 steps)".into(),
        query: PageConfig::for_model(ModelKind::Convnet).to_query(),
        report_accuracy: Some(81.9),
        table1: false,
    });
    presets.push(Preset {
        id: "small-cnn".into(),
        label: "Small CNN recipe (Adam one-cycle 2e-3, batch 64, 4500 steps, augmentation)".into(),
        query: PageConfig::for_model(ModelKind::SmallCnn).to_query(),
        report_accuracy: None,
        table1: false,
    });
    presets
}

/// The experiments of the lessons beyond Table 1: the NumPy assignment's MLP, the report's best model at batch 100
/// (Figure 4) and an MLP with LayerNorm.
fn lesson_presets() -> Vec<Preset> {
    let numpy = PageConfig {
        init: LinearInit::Normal { std: 1e-4 },
        ..PageConfig::default()
    };
    let batch_100 = PageConfig {
        hidden: vec![150; 5],
        normalization: Normalization::BatchNorm,
        optimizer: OptimizerKind::Adam,
        steps: 2500,
        batch_size: 100,
        ..PageConfig::default()
    };
    let layer_norm = PageConfig {
        normalization: Normalization::LayerNorm,
        optimizer: OptimizerKind::Adam,
        ..PageConfig::default()
    };
    let preset = |id: &str, label: &str, config: PageConfig| Preset {
        id: id.into(),
        label: label.into(),
        query: config.to_query(),
        report_accuracy: None,
        table1: false,
    };
    vec![
        preset(
            "numpy-mlp",
            "NumPy MLP: N(0, 1e-4²) initialisation, SGD 1e-3, batch 200, 1400 steps",
            numpy,
        ),
        preset(
            "table1-8-batch-100",
            "Report's best MLP at batch 100 (Figure 4): Adam, ELU + BatchNorm, 5 × 150, 2500 steps",
            batch_100,
        ),
        preset(
            "layer-norm",
            "MLP with LayerNorm: Adam, ELU + LayerNorm, hidden 100, 1400 steps",
            layer_norm,
        ),
    ]
}
