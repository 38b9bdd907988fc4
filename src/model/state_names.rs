//! The name of each layer's module in the state dict of the equivalent PyTorch model.
use super::cnn::LayerSpec;

/// How a CNN's layers are named in its state dict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateNames {
    /// An `nn.Sequential`: `0`, `1`, `2`, … (the layer's index).
    #[default]
    Sequential,
    /// torchvision's ResNet: `conv1`, `bn1`, `relu`, `maxpool`, `layer1.0`, … `layerK.i`, `avgpool`, `fc`. A
    /// new stage `layerK` starts at the first block and at every block with a stride other than 1.
    Torchvision,
}

impl StateNames {
    /// One module name per layer of `layers`.
    pub fn module_names(self, layers: &[LayerSpec]) -> Vec<String> {
        match self {
            StateNames::Sequential => (0..layers.len()).map(|i| i.to_string()).collect(),
            StateNames::Torchvision => {
                let (mut stage, mut block) = (0, 0);
                layers
                    .iter()
                    .map(|spec| match spec {
                        LayerSpec::BasicBlock { stride, .. } => {
                            if stage == 0 || *stride != 1 {
                                (stage, block) = (stage + 1, 0);
                            }
                            block += 1;
                            format!("layer{stage}.{}", block - 1)
                        }
                        LayerSpec::Conv { .. } => "conv1".into(),
                        LayerSpec::BatchNorm => "bn1".into(),
                        LayerSpec::Relu | LayerSpec::Elu => "relu".into(),
                        LayerSpec::MaxPool { .. } => "maxpool".into(),
                        LayerSpec::GlobalAvgPool => "avgpool".into(),
                        LayerSpec::Linear { .. } => "fc".into(),
                        LayerSpec::PreAct { .. } => "preact".into(),
                    })
                    .collect()
            }
        }
    }
}
