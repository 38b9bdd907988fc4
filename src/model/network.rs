//! A network: layers applied in sequence, then a loss. It owns every activation and gradient buffer,
//! so a training step reuses the same memory each time.
use ndarray::{Array2, ArrayView2};

use super::FineTune;
use crate::kernels;
use crate::layers::{Layer, Mode, ParamView, StateTensor};
use crate::loss::{CrossEntropy, Loss, SoftmaxCrossEntropy};
use crate::Scalar;

/// How the network's output becomes a loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Logits → fused, numerically stable softmax-cross-entropy (the default for training).
    #[default]
    SoftmaxCrossEntropy,
    /// A `Softmax` layer ends the network, then cross-entropy on probabilities (the report's modules).
    SoftmaxThenCrossEntropy,
}

/// Layers in sequence followed by a loss.
pub struct Network<T: Scalar> {
    layers: Vec<Box<dyn Layer<T>>>,
    loss: Box<dyn Loss<T>>,
    loss_kind: LossKind,
    input_features: usize,
    /// `activations[i]` is the output of layer `i`.
    activations: Vec<Array2<T>>,
    /// `grad_inputs[i]` is `∂L/∂X` of layer `i`.
    grad_inputs: Vec<Array2<T>>,
    grad_output: Array2<T>,
    predictions: Vec<usize>,
    /// The `torch.nn` name of each layer's module in the equivalent PyTorch model (`0`, `1`, … for an
    /// `nn.Sequential`; `conv1`, `layer1.0`, `fc` for a torchvision ResNet).
    module_names: Vec<String>,
    /// Layers `0..frozen_layers` are frozen (feature extraction): evaluation mode, no backward, no updates.
    frozen_layers: usize,
    /// Layers `0..backbone_layers` learn at `backbone_rate` × the optimizer's rate.
    backbone_layers: usize,
    backbone_rate: f64,
}

impl<T: Scalar> Network<T> {
    pub fn new(layers: Vec<Box<dyn Layer<T>>>, loss_kind: LossKind, input_features: usize) -> Self {
        let count = layers.len();
        let loss: Box<dyn Loss<T>> = match loss_kind {
            LossKind::SoftmaxCrossEntropy => Box::new(SoftmaxCrossEntropy::default()),
            LossKind::SoftmaxThenCrossEntropy => Box::new(CrossEntropy),
        };
        Self {
            layers,
            loss,
            loss_kind,
            input_features,
            activations: (0..count).map(|_| Array2::zeros((0, 0))).collect(),
            grad_inputs: (0..count).map(|_| Array2::zeros((0, 0))).collect(),
            grad_output: Array2::zeros((0, 0)),
            predictions: Vec::new(),
            module_names: (0..count).map(|i| i.to_string()).collect(),
            frozen_layers: 0,
            backbone_layers: 0,
            backbone_rate: 1.0,
        }
    }

    /// The same network with its layers' modules named `names` in its state dict (one name per layer).
    pub fn with_module_names(mut self, names: Vec<String>) -> Self {
        if names.len() == self.layers.len() {
            self.module_names = names;
        }
        self
    }

    pub fn module_names(&self) -> &[String] {
        &self.module_names
    }

    /// The index of the classification head: the last layer with parameters.
    pub fn head_layer(&mut self) -> Option<usize> {
        let mut last = None;
        self.visit_params(&mut |layer, _| last = Some(layer));
        last
    }

    /// Trains the layers before the head (the backbone) as `mode` says.
    pub fn set_fine_tune(&mut self, mode: FineTune) {
        let backbone = self.head_layer().unwrap_or(0);
        (self.frozen_layers, self.backbone_layers, self.backbone_rate) = match mode {
            FineTune::Full => (0, 0, 1.0),
            FineTune::FeatureExtraction => (backbone, backbone, 0.0),
            FineTune::LowerBackboneRate { factor } => (0, backbone, factor),
        };
    }

    /// How many leading layers are frozen.
    pub fn frozen_layers(&self) -> usize {
        self.frozen_layers
    }

    /// How many leading layers form the backbone, and the factor of the optimizer's rate they learn at
    /// (`(0, 1.0)` unless fine-tuning; a frozen backbone's layers are also [`Network::frozen_layers`]).
    pub fn backbone(&self) -> (usize, f64) {
        (self.backbone_layers, self.backbone_rate)
    }

    pub fn input_features(&self) -> usize {
        self.input_features
    }

    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer<T>>] {
        &mut self.layers
    }

    pub fn loss_kind(&self) -> LossKind {
        self.loss_kind
    }

    /// The class probabilities of the latest output, into `probabilities`: the softmax of the scores when the
    /// loss is the fused softmax-cross-entropy, else the output itself (the network ends in a softmax).
    pub fn class_probabilities(&self, probabilities: &mut Array2<T>) {
        let output = self.activations.last().expect("a network has layers");
        match self.loss_kind {
            LossKind::SoftmaxCrossEntropy => crate::layers::softmax_rows(output.view(), probabilities),
            LossKind::SoftmaxThenCrossEntropy => probabilities.clone_from(output),
        }
    }

    pub fn loss_name(&self) -> &'static str {
        self.loss.name()
    }

    /// `x: [S, input_features]` → the last layer's output `[S, classes]`.
    pub fn forward(&mut self, x: ArrayView2<'_, T>, mode: Mode) -> ArrayView2<'_, T> {
        for i in 0..self.layers.len() {
            let (before, after) = self.activations.split_at_mut(i);
            let input = if i == 0 { x } else { before[i - 1].view() };
            // a frozen backbone computes fixed features: running statistics, none updated
            let mode = if i < self.frozen_layers { Mode::Eval } else { mode };
            self.layers[i].forward(input, &mut after[0], mode);
        }
        self.output()
    }

    /// The output of the latest forward pass.
    pub fn output(&self) -> ArrayView2<'_, T> {
        self.activations
            .last()
            .map(|a| a.view())
            .unwrap_or_else(|| ArrayView2::from_shape((0, 0), &[]).expect("empty view"))
    }

    /// The output of layer `i` in the latest forward pass.
    pub fn activation(&self, i: usize) -> ArrayView2<'_, T> {
        self.activations[i].view()
    }

    /// `∂L/∂X` of layer `i` from the latest backward pass (empty for layer 0 unless asked for).
    pub fn grad_input(&self, i: usize) -> ArrayView2<'_, T> {
        self.grad_inputs[i].view()
    }

    /// The loss of the latest forward pass against `targets`.
    pub fn loss(&mut self, targets: &[usize]) -> T {
        let output = self.activations.last().expect("a network has layers");
        self.loss.forward(output.view(), targets)
    }

    /// Backpropagates the loss of the latest forward pass: every layer stores its parameter gradients.
    /// `∂L/∂x` of the network input is computed only if `input_grad` (gradient checks want it, training
    /// does not).
    pub fn backward(&mut self, x: ArrayView2<'_, T>, targets: &[usize], input_grad: bool) {
        let last = self.layers.len() - 1;
        self.loss
            .backward(self.activations[last].view(), targets, &mut self.grad_output);
        // nothing flows back into a frozen backbone
        let first = self.frozen_layers.min(last);
        for i in (first..=last).rev() {
            let (lower, upper) = self.grad_inputs.split_at_mut(i + 1);
            let grad_output = if i == last {
                self.grad_output.view()
            } else {
                upper[0].view()
            };
            let input = if i == 0 { x } else { self.activations[i - 1].view() };
            let grad_input = if i > first || (i == 0 && input_grad) {
                Some(&mut lower[i])
            } else {
                None
            };
            self.layers[i].backward(input, self.activations[i].view(), grad_output, grad_input);
        }
    }

    /// One forward and backward pass in training mode; returns the loss and the number of correct predictions.
    pub fn forward_backward(&mut self, x: ArrayView2<'_, T>, targets: &[usize]) -> (T, usize) {
        self.forward(x, Mode::Train);
        let loss = self.loss(targets);
        let correct = self.count_correct(targets);
        self.backward(x, targets, false);
        (loss, correct)
    }

    /// How many rows of the latest output have their largest value at the target class.
    pub fn count_correct(&mut self, targets: &[usize]) -> usize {
        let output = self.activations.last().expect("a network has layers");
        kernels::argmax_rows(output.view(), &mut self.predictions);
        self.predictions.iter().zip(targets).filter(|(p, t)| p == t).count()
    }

    /// The predicted class of each row of the latest output.
    pub fn predictions(&mut self) -> &[usize] {
        let output = self.activations.last().expect("a network has layers");
        kernels::argmax_rows(output.view(), &mut self.predictions);
        &self.predictions
    }

    /// Visits every parameter of every layer, in order, with the index of its layer.
    pub fn visit_params(&mut self, visit: &mut dyn FnMut(usize, ParamView<'_, T>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params(&mut |p| visit(i, p));
        }
    }

    /// Visits the parameters the optimizer updates (none of a frozen backbone), in order, each with the factor
    /// of the optimizer's learning rate it learns at.
    pub fn visit_trainable_params(&mut self, visit: &mut dyn FnMut(f64, ParamView<'_, T>)) {
        let (frozen, backbone, rate) = (self.frozen_layers, self.backbone_layers, self.backbone_rate);
        for (i, layer) in self.layers.iter_mut().enumerate().skip(frozen) {
            let factor = if i < backbone { rate } else { 1.0 };
            layer.visit_params(&mut |p| visit(factor, p));
        }
    }

    /// Visits every running statistic of every layer, in order.
    pub fn visit_buffers(&mut self, visit: &mut dyn FnMut(usize, &'static str, &mut [T])) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_buffers(&mut |name, b| visit(i, name, b));
        }
    }

    /// Visits every tensor of the network's state dict in layer order, named as the equivalent PyTorch model
    /// names it (`3.weight`, `layer1.0.bn1.running_mean`).
    pub fn visit_state(&mut self, visit: &mut dyn FnMut(StateTensor<'_, T>)) {
        for (layer, module) in self.layers.iter_mut().zip(&self.module_names) {
            layer.visit_state(&mut |t| visit(t.within(module)));
        }
    }

    /// The number of learnable scalars.
    pub fn parameter_count(&mut self) -> usize {
        let mut count = 0;
        self.visit_params(&mut |_, p| count += p.value.len());
        count
    }

    /// Copies parameters and running statistics from a network of the same architecture in another
    /// precision (e.g. the f32 model being trained into an f64 twin for a gradient check).
    pub fn copy_state_from<U: Scalar>(&mut self, other: &mut Network<U>) {
        let mut values: Vec<f64> = Vec::new();
        other.visit_params(&mut |_, p| values.extend(p.value.iter().map(|v| v.to_f64_lossy())));
        other.visit_buffers(&mut |_, _, b| values.extend(b.iter().map(|v| v.to_f64_lossy())));
        let mut source = values.into_iter();
        self.visit_params(&mut |_, p| {
            p.value
                .iter_mut()
                .for_each(|v| *v = T::of(source.next().unwrap_or(0.0)))
        });
        self.visit_buffers(&mut |_, _, b| b.iter_mut().for_each(|v| *v = T::of(source.next().unwrap_or(0.0))));
    }
}
