//! The lessons as data, in the report's order. Each names its formulas by layer kind or loss name (as
//! [`crate::formulas`] knows them) and its experiment by preset id (as [`crate::session::presets`] knows them);
//! a test checks that every name resolves.
use super::LessonAction;

/// One lesson as written here: static text and names, resolved by [`super::lessons`].
pub(super) struct LessonEntry {
    pub id: &'static str,
    pub section: &'static str,
    pub title: &'static str,
    pub text: &'static [&'static str],
    pub formulas: &'static [&'static str],
    pub preset: &'static str,
    pub action: LessonAction,
    pub button: &'static str,
    pub watch: &'static str,
    /// What the number is, the number, its unit.
    pub report: Option<(&'static str, f64, &'static str)>,
}

pub(super) const LESSONS: &[LessonEntry] = &[
    LessonEntry {
        id: "derivations",
        section: "1.1",
        title: "Backward passes: Linear, ELU, softmax and cross-entropy",
        text: &[
            "Every layer takes ∂L/∂Y, the gradient of the loss with respect to its output, and returns ∂L/∂X for \
             the layer before it, plus the gradients of its own parameters. Batches are rows: X is S × M, one \
             sample per row.",
            "A Linear layer is a matrix product, so its gradients are matrix products too. An element-wise \
             activation multiplies the incoming gradient by its derivative. The softmax couples the entries of a \
             row, so its backward subtracts the row's weighted sum. Fused with the cross-entropy, softmax and \
             loss collapse to (Y − T)/S.",
            "These are the corrected forms: the report's softmax derivation is cut off and two of its formulas \
             carry typos. The lab checks each one against finite differences in float64.",
        ],
        formulas: &["Linear", "ELU", "Softmax", "cross-entropy", "softmax-cross-entropy"],
        preset: "numpy-mlp",
        action: LessonAction::Suite,
        button: "Load the NumPy MLP and check every layer kind",
        watch: "The rows Linear, ELU, Softmax and the losses in the gradient table: “error ÷ allowed” below 1 means \
                the hand-written backward agrees with central differences (h = 1e-5, float64).",
        report: Some((
            "the assignment's tolerance on the relative error (Linear, softmax, cross-entropy; ELU 1e-6)",
            1e-5,
            "",
        )),
    },
    LessonEntry {
        id: "numpy-mlp",
        section: "1.2",
        title: "The NumPy MLP",
        text: &[
            "The first network of the assignment: 3072 inputs (a 32×32×3 image, its training-set mean image \
             subtracted), 100 ELU units, 10 outputs, plain mini-batch SGD with learning rate 1e-3 and batch 200 \
             for 1400 steps.",
            "Its weights start tiny, drawn from N(0, 1e-4²) with zero biases, because the inputs stay at raw \
             pixel scale. Every 100 steps the whole test set is evaluated.",
        ],
        formulas: &["Linear", "ELU", "softmax-cross-entropy"],
        preset: "numpy-mlp",
        action: LessonAction::Train,
        button: "Load the NumPy MLP and train",
        watch: "The loss falls slowly for the first steps (the weights start almost at zero), then steadily. Train \
                and test accuracy stay close together: the report saw no overfitting in 1400 steps.",
        report: Some((
            "the assignment's target with the defaults (the report shows the curves, Figure 1)",
            48.0,
            "%",
        )),
    },
    LessonEntry {
        id: "adam",
        section: "2.1",
        title: "SGD against Adam (Table 1, rows 1 and 2)",
        text: &[
            "The same MLP in PyTorch's default initialisation, first with SGD (row 1: 46.11 %), then with Adam, \
             which scales each parameter's step by a running estimate of its gradient's size.",
            "At the default learning rate Adam alone did not help: the report's row 2 ends slightly below SGD. \
             Try changing the learning rate while it runs and watch the slope of the loss.",
        ],
        formulas: &["Linear", "ELU"],
        preset: "table1-2",
        action: LessonAction::Train,
        button: "Load Table 1 row 2 (Adam) and train",
        watch: "How fast the training loss falls in the first few hundred steps compared with SGD, and how soon the \
                test accuracy stops following the training accuracy.",
        report: Some(("Table 1, row 2: Adam, ELU, hidden 100, 1400 steps", 45.89, "%")),
    },
    LessonEntry {
        id: "batchnorm",
        section: "2.1",
        title: "BatchNorm (Table 1, row 4)",
        text: &[
            "BatchNorm normalises each feature over the batch to zero mean and unit variance, then scales and \
             shifts it by learnt γ and β. At evaluation it uses running statistics instead of the batch's.",
            "In the report it was the largest single improvement: six percentage points over row 2.",
        ],
        formulas: &["BatchNorm1d"],
        preset: "table1-4",
        action: LessonAction::Train,
        button: "Load Table 1 row 4 (Adam + BatchNorm) and train",
        watch: "The test accuracy's rise in the first 300 steps against row 2, and the weight norms staying tame.",
        report: Some((
            "Table 1, row 4: Adam, ELU, BatchNorm, hidden 100, 1400 steps",
            51.57,
            "%",
        )),
    },
    LessonEntry {
        id: "table1",
        section: "2.1",
        title: "All of Table 1",
        text: &[
            "The eight configurations of the report's Table 1 in turn: longer training, a deep narrow network \
             (five layers of 25, less overfitting but five points lower) and wide ones (150 units; five layers \
             of 150 reach 54.16 %).",
            "On the generated data the numbers differ from the report's; with CIFAR-10 loaded they are directly \
             comparable.",
        ],
        formulas: &["Linear", "ELU", "BatchNorm1d"],
        preset: "table1-8",
        action: LessonAction::Table1Queue,
        button: "Run the Table 1 queue",
        watch: "Each row's final test accuracy next to the report's, and the overlaid test-accuracy curves.",
        report: Some((
            "Table 1, row 8: Adam, ELU, BatchNorm, 5 × 150 hidden, 2500 steps",
            54.16,
            "%",
        )),
    },
    LessonEntry {
        id: "batch-100",
        section: "2.1",
        title: "Batch 100 instead of 200 (Figure 4)",
        text: &[
            "The report's best model again, with batches of 100 images instead of 200. Smaller batches mean \
             noisier gradients, which act as a regulariser.",
            "The report: the gap between training and test accuracy largely closes, at a slight cost in accuracy.",
        ],
        formulas: &["BatchNorm1d"],
        preset: "table1-8-batch-100",
        action: LessonAction::Train,
        button: "Load the best model at batch 100 and train",
        watch: "The distance between the training and the test curves, against the same model at batch 200.",
        report: Some((
            "Table 1, row 8 at batch 200 (batch 100 ends slightly lower, Figure 4)",
            54.16,
            "%",
        )),
    },
    LessonEntry {
        id: "activations",
        section: "2.2",
        title: "Activations: ELU, ReLU and Tanh",
        text: &[
            "ReLU zeroes every negative input and its gradient with it; ELU keeps a small, smooth gradient eˣ for \
             negative inputs; Tanh is zero-centred but saturates at both ends, where its derivative 1 − y² \
             vanishes.",
            "The report found ReLU slightly worse than ELU (row 3) and argues that Tanh's saturating tails make \
             vanishing gradients more likely. The per-layer gradient norms make that visible: run this preset, \
             then the same with Tanh, and compare the first layer's gradient norm.",
        ],
        formulas: &["ELU", "ReLU", "Tanh"],
        preset: "table1-3",
        action: LessonAction::Train,
        button: "Load Table 1 row 3 (ReLU) and train",
        watch: "The gradient-norm curves per layer: the first layer's gradient is the one that shrinks when an \
                activation saturates.",
        report: Some(("Table 1, row 3: Adam, ReLU, hidden 100, 1400 steps", 45.52, "%")),
    },
    LessonEntry {
        id: "layernorm",
        section: "3.2",
        title: "LayerNorm: the manual backward against the composed one",
        text: &[
            "LayerNorm normalises each sample over its features instead of each feature over the batch, so it \
             does not depend on the batch size and has no running statistics.",
            "The backward can be derived by hand in one expression (the report's derivation of ∂L/∂x is cut \
             off; the corrected form is below), or composed from the backward passes of the mean, the variance \
             and the division. The lab has both and checks them against each other and against finite \
             differences, with γ = 1 and with γ₀ = 0.",
        ],
        formulas: &["LayerNorm", "LayerNormComposed"],
        preset: "layer-norm",
        action: LessonAction::Suite,
        button: "Load an MLP with LayerNorm and check every layer kind",
        watch: "The rows “LayerNorm manual”, “LayerNorm composed” and “manual vs composed”: all below 1. Then train \
                it at a small batch and compare with BatchNorm's curves.",
        report: Some((
            "the gradient check's tolerance (PyTorch's gradcheck: atol 1e-5, rtol 1e-3)",
            1e-5,
            "",
        )),
    },
    LessonEntry {
        id: "convnet",
        section: "4.1",
        title: "The ConvNet",
        text: &[
            "A small VGG13 with pre-activation skip connections: convolutions with 3×3 kernels, 1×1 convolutions \
             that widen the channels, max-pools that halve the image five times (32 → 1), and blocks \
             x + Conv(ReLU(BN(x))). Adam, learning rate 1e-4, batch 32, 5000 steps.",
            "It does about 310 million multiply-adds per image: on one core in the browser the full run takes \
             hours, so lower the evaluation frequency, use several workers, or try the small CNN.",
        ],
        formulas: &["Conv2d", "MaxPool2d", "BatchNorm2d", "PreAct"],
        preset: "convnet",
        action: LessonAction::Train,
        button: "Load the ConvNet and train",
        watch: "The test accuracy against the MLPs' after the same number of images, and (in the report) \
                overfitting from step 3000 on.",
        report: Some(("the report's ConvNet with the defaults", 81.9, "%")),
    },
];
