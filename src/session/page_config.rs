//! The page's form as data: every setting a user can change, the limits the form accepts, and the query
//! string that carries it in the address bar (share the link, reload, get the same setup).
use crate::data::{Augmentation, InputNormalization};
use crate::error::{quoted, ConfigError};
use crate::layers::LinearInit;
use crate::model::{Activation, MlpConfig, ModelConfig, ModelKind, Normalization};
use crate::optim::OptimizerKind;
use crate::train::{HyperparameterChange, Hyperparameters, TrainConfig};

/// The page's form: every setting a user can change, flat, and encoded in the URL's query string.
///
/// MLP settings (`hidden`, `activation`, `normalization`) only apply to the MLP; the CNNs keep their fixed
/// architectures (and the small CNN its one-cycle learning-rate schedule).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PageConfig {
    pub model: ModelKind,
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub normalization: Normalization,
    pub optimizer: OptimizerKind,
    pub learning_rate: f64,
    pub batch_size: usize,
    pub steps: usize,
    pub eval_every: usize,
    pub seed: u64,
    pub augment: bool,
    /// The MLP's initialisation: PyTorch's default, or the NumPy assignment's `N(0, std²)`.
    #[serde(default = "pytorch_init")]
    pub init: LinearInit,
    /// SGD's momentum (0: plain SGD, as the course).
    #[serde(default)]
    pub momentum: f64,
    #[serde(default)]
    pub weight_decay: f64,
    /// Learning rate, momentum and weight decay changed while the run trained (replayed from the link).
    #[serde(default)]
    pub changes: Vec<HyperparameterChange>,
    /// How images become the network's input: the course's mean image, or ImageNet's normalisation (set by
    /// loading weights that expect it).
    #[serde(default)]
    pub input: InputNormalization,
}

fn pytorch_init() -> LinearInit {
    LinearInit::PyTorch
}

impl Default for PageConfig {
    fn default() -> Self {
        Self::for_model(ModelKind::Mlp)
    }
}

/// Largest step count the form accepts (a guard against typos, ~10 × the longest course run).
pub const MAX_STEPS: usize = 100_000;
/// Largest seed the form accepts: 2⁵³ − 1, the largest whole number the page's JavaScript holds exactly.
pub const MAX_SEED: u64 = (1 << 53) - 1;
/// Largest batch the form accepts.
pub const MAX_BATCH: usize = 4096;

impl PageConfig {
    /// The course's defaults for `model` (the small CNN: its recipe).
    pub fn for_model(model: ModelKind) -> Self {
        let base = TrainConfig::for_model(model);
        let mlp = MlpConfig::default();
        Self {
            model,
            hidden: mlp.hidden,
            activation: mlp.activation,
            normalization: mlp.normalization,
            optimizer: base.optimizer.kind(),
            learning_rate: base.optimizer.learning_rate(),
            batch_size: base.batch_size,
            steps: base.steps,
            eval_every: base.eval_every,
            seed: base.seed,
            augment: !base.augmentation.is_none(),
            init: LinearInit::PyTorch,
            momentum: 0.0,
            weight_decay: 0.0,
            changes: Vec::new(),
            input: InputNormalization::default(),
        }
    }

    /// The training run this form describes (validated).
    pub fn to_train_config(&self) -> Result<TrainConfig, ConfigError> {
        let mut config = TrainConfig::for_model(self.model);
        if let ModelConfig::Mlp(mlp) = &mut config.model {
            mlp.hidden.clone_from(&self.hidden);
            mlp.activation = self.activation;
            mlp.normalization = self.normalization;
            mlp.init = self.init;
        }
        let settings = Hyperparameters {
            learning_rate: self.learning_rate,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
        };
        let optimizer = self.optimizer.with_learning_rate(self.learning_rate);
        settings.validate(&optimizer)?;
        config.optimizer = settings.applied_to(&optimizer);
        config.changes.clone_from(&self.changes);
        config.input = self.input;
        if self.batch_size > MAX_BATCH {
            return Err(ConfigError::new(
                "batch size",
                format!("at most {MAX_BATCH}"),
                self.batch_size,
            ));
        }
        if self.seed > MAX_SEED {
            return Err(ConfigError::new(
                "seed",
                format!("a whole number up to {MAX_SEED} (what a JavaScript number holds exactly)"),
                self.seed,
            ));
        }
        if self.steps > MAX_STEPS {
            return Err(ConfigError::new("steps", format!("at most {MAX_STEPS}"), self.steps));
        }
        config.batch_size = self.batch_size;
        config.steps = self.steps;
        config.eval_every = self.eval_every;
        config.seed = self.seed;
        config.augmentation = if self.augment {
            Augmentation::standard()
        } else {
            Augmentation::default()
        };
        config.validate()?;
        Ok(config)
    }

    /// The query string that reproduces this form, e.g. `model=mlp&hidden=100&act=elu&norm=none&opt=sgd&…`.
    /// The MLP's settings (`hidden`, `act`, `norm`, `init`) appear for the MLP, and for the CNNs (which have
    /// fixed architectures and ignore them) only when the form holds other values than the defaults, so that
    /// the query still reads back as this form. Settings left at their defaults (initialisation, momentum,
    /// weight decay, live changes) are left out.
    pub fn to_query(&self) -> String {
        let defaults = Self::for_model(self.model);
        let mlp_settings = |config: &Self| {
            (
                config.hidden.clone(),
                config.activation,
                config.normalization,
                config.init,
            )
        };
        let mut mlp = String::new();
        if self.model == ModelKind::Mlp || mlp_settings(self) != mlp_settings(&defaults) {
            let hidden: Vec<String> = self.hidden.iter().map(usize::to_string).collect();
            mlp = format!(
                "&hidden={}&act={}&norm={}",
                hidden.join(","),
                kebab(&self.activation),
                kebab(&self.normalization)
            );
            if let LinearInit::Normal { std } = self.init {
                mlp.push_str(&format!("&init=normal&init-std={std}"));
            }
        }
        let mut extra = String::new();
        if self.momentum != 0.0 {
            extra.push_str(&format!("&momentum={}", self.momentum));
        }
        if self.weight_decay != 0.0 {
            extra.push_str(&format!("&wd={}", self.weight_decay));
        }
        if self.input != InputNormalization::default() {
            extra.push_str(&format!("&input={}", self.input.key()));
        }
        if !self.changes.is_empty() {
            let changes: Vec<String> = self
                .changes
                .iter()
                .map(|c| {
                    let h = c.hyperparameters;
                    format!("{}:{}:{}:{}", c.step, h.learning_rate, h.momentum, h.weight_decay)
                })
                .collect();
            extra.push_str(&format!("&live={}", changes.join(",")));
        }
        let base = format!(
            "model={}{mlp}&opt={}&lr={}&batch={}&steps={}&eval={}&seed={}&augment={}",
            kebab(&self.model),
            kebab(&self.optimizer),
            self.learning_rate,
            self.batch_size,
            self.steps,
            self.eval_every,
            self.seed,
            u8::from(self.augment)
        );
        base + &extra
    }

    /// Reads a query string (with or without the leading `?`). Settings it leaves out take the defaults of
    /// its model; unknown keys are ignored (so links from later versions still open); a bad value is an error
    /// naming the setting, what was expected and what was found.
    pub fn from_query(query: &str) -> Result<Self, ConfigError> {
        let pairs: Vec<(String, String)> = query
            .trim_start_matches('?')
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        let get = |key: &str| pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let model = match get("model") {
            None => ModelKind::Mlp,
            Some(value) => parse_kebab("model", value, "mlp, small-cnn, convnet, resnet18 or resnet34")?,
        };
        let mut config = Self::for_model(model);
        if let Some(value) = get("hidden") {
            config.hidden = if value.trim().is_empty() {
                Vec::new()
            } else {
                value
                    .split(',')
                    .map(|unit| parse_number("hidden", unit.trim(), "comma-separated layer widths, e.g. 100,100"))
                    .collect::<Result<_, _>>()?
            };
        }
        if let Some(value) = get("act") {
            config.activation = parse_kebab("act", value, "elu, relu or tanh")?;
        }
        if let Some(value) = get("norm") {
            config.normalization = parse_kebab("norm", value, "none, batch-norm or layer-norm")?;
        }
        if let Some(value) = get("opt") {
            config.optimizer = parse_kebab("opt", value, "sgd or adam")?;
        }
        if let Some(value) = get("lr") {
            config.learning_rate = parse_number("lr", value, "a learning rate such as 0.001")?;
        }
        if let Some(value) = get("batch") {
            config.batch_size = parse_number("batch", value, "a batch size such as 200")?;
        }
        if let Some(value) = get("steps") {
            config.steps = parse_number("steps", value, "a number of steps such as 1400")?;
        }
        if let Some(value) = get("eval") {
            config.eval_every = parse_number("eval", value, "an evaluation interval such as 100")?;
        }
        if let Some(value) = get("seed") {
            config.seed = parse_number("seed", value, "a non-negative integer seed")?;
        }
        if let Some(value) = get("augment") {
            config.augment = match value {
                "1" | "true" => true,
                "0" | "false" => false,
                other => return Err(ConfigError::new("augment", "0 or 1", quoted(other, QUOTED_CHARS))),
            };
        }
        if let Some(value) = get("init") {
            config.init = match value {
                "pytorch" => LinearInit::PyTorch,
                "normal" => LinearInit::Normal {
                    std: match get("init-std") {
                        Some(std) => parse_number("init-std", std, "a standard deviation such as 0.0001")?,
                        None => 1e-4,
                    },
                },
                other => {
                    return Err(ConfigError::new(
                        "init",
                        "pytorch or normal",
                        quoted(other, QUOTED_CHARS),
                    ))
                }
            };
        }
        if let Some(value) = get("momentum") {
            config.momentum = parse_number("momentum", value, "a momentum in [0, 1) such as 0.9")?;
        }
        if let Some(value) = get("wd") {
            config.weight_decay = parse_number("wd", value, "a weight decay ≥ 0 such as 0.0005")?;
        }
        if let Some(value) = get("input") {
            config.input = InputNormalization::from_key(value).ok_or_else(|| {
                ConfigError::new("input", "course-mean-image or imagenet", quoted(value, QUOTED_CHARS))
            })?;
        }
        if let Some(value) = get("live") {
            config.changes = parse_changes(value)?;
        }
        config.to_train_config()?;
        Ok(config)
    }
}

/// A setting's name in the query string and the page's form (`small-cnn`, `batch-norm`).
pub fn kebab<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_kebab<T: serde::de::DeserializeOwned>(field: &str, value: &str, expected: &str) -> Result<T, ConfigError> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| ConfigError::new(field, expected, quoted(value, QUOTED_CHARS)))
}

/// `STEP:LR:MOMENTUM:WD` changes separated by commas, e.g. `500:0.01:0:0,1000:0.001:0:0`.
fn parse_changes(value: &str) -> Result<Vec<HyperparameterChange>, ConfigError> {
    let expected = "changes STEP:LR:MOMENTUM:WD separated by commas, e.g. 500:0.01:0:0";
    value
        .split(',')
        .filter(|change| !change.trim().is_empty())
        .map(|change| {
            let fields: Vec<&str> = change.trim().split(':').collect();
            let [step, learning_rate, momentum, weight_decay] = fields[..] else {
                return Err(ConfigError::new("live", expected, quoted(change, QUOTED_CHARS)));
            };
            Ok(HyperparameterChange {
                step: parse_number("live", step, expected)?,
                hyperparameters: Hyperparameters {
                    learning_rate: parse_number("live", learning_rate, expected)?,
                    momentum: parse_number("live", momentum, expected)?,
                    weight_decay: parse_number("live", weight_decay, expected)?,
                },
            })
        })
        .collect()
}

/// How much of a bad value from the link an error message quotes.
const QUOTED_CHARS: usize = 40;

fn parse_number<T: std::str::FromStr>(field: &str, value: &str, expected: &str) -> Result<T, ConfigError> {
    value
        .parse()
        .map_err(|_| ConfigError::new(field, expected, quoted(value, QUOTED_CHARS)))
}

/// `%XX` escapes and `+` as space, as browsers write query strings.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (byte, None) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
