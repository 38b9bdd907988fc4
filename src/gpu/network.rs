//! A network on the GPU: the twins of a CPU [`Network`]'s layers over one flat parameter buffer, with
//! activations and gradients for each batch size it has run at.
use std::collections::HashMap;

use super::buffers::{aligned, Readback, Tensor};
use super::kernel::{grid, record, workgroup_grid, Dispatch, Library};
use super::layers::{Builder, LayerBuffers, LayerProgram, View};
use super::norms::GpuNorms;
use super::shaders::SOFTMAX_CROSS_ENTROPY;
use super::{GpuContext, GpuError, GpuOptimizer};
use crate::layers::LayerKind;
use crate::model::Network;
use crate::optim::OptimizerConfig;

/// Training steps whose batch loss and accuracy the GPU keeps between two readbacks (`RING` in
/// `softmax_cross_entropy.wgsl`).
pub const METRICS_RING: usize = 64;

/// Where one parameter (or running statistic) lives in its flat buffer.
#[derive(Clone, Copy, Debug)]
struct Slot {
    offset: usize,
    len: usize,
}

/// Flat, 256-byte-aligned places for a list of tensors.
fn layout(lens: impl IntoIterator<Item = (usize, usize)>, layers: usize) -> (Vec<Vec<Slot>>, usize) {
    let mut slots = vec![Vec::new(); layers];
    let mut offset = 0;
    for (layer, len) in lens {
        slots[layer].push(Slot { offset, len });
        offset += aligned(len);
    }
    (slots, offset)
}

/// Views of `tensor` at `slots`.
fn views<'a>(tensor: &'a Tensor, slots: &[Slot]) -> Vec<View<'a>> {
    slots
        .iter()
        .map(|s| View {
            tensor,
            offset: s.offset,
            len: s.len,
        })
        .collect()
}

/// The buffers and dispatches of one batch size.
struct Plan {
    input: Tensor,
    targets: Tensor,
    layers: Vec<LayerProgram>,
    loss_train: Vec<Dispatch>,
    loss_eval: Vec<Dispatch>,
    _buffers: Vec<Tensor>,
}

/// A CPU network's twin on the GPU. Parameters, their gradients and the running statistics stay here;
/// [`GpuNetwork::read_state_into`] copies them back.
pub struct GpuNetwork {
    pub context: GpuContext,
    pub(crate) library: Library,
    kinds: Vec<LayerKind>,
    /// `features[0]`: the input; `features[i + 1]`: layer `i`'s output.
    features: Vec<usize>,
    param_slots: Vec<Vec<Slot>>,
    buffer_slots: Vec<Vec<Slot>>,
    pub(crate) values: Tensor,
    pub(crate) grads: Tensor,
    running: Tensor,
    /// Training: a step counter and the ring of batch losses and correct counts.
    pub(crate) train_metrics: Tensor,
    /// Evaluation: the summed loss and correct predictions.
    pub(crate) eval_metrics: Tensor,
    plans: HashMap<usize, Plan>,
    /// The norm curves' squares, computed in the steps whose metrics are read back.
    pub(crate) norms: Option<GpuNorms>,
    /// Fine-tuning, as the CPU network's ([`Network::set_fine_tune`]): the leading layers that run in evaluation
    /// mode with no backward pass, and the backbone's layer count and learning-rate factor.
    frozen_layers: usize,
    backbone: (usize, f64),
}

impl GpuNetwork {
    /// Builds the twin of `network` (its current parameters and running statistics included). Fails with
    /// the name of the first layer without a GPU kernel, or if the loss is not the fused softmax–cross-entropy.
    pub fn new(context: GpuContext, network: &mut Network<f32>) -> Result<Self, GpuError> {
        let kinds: Vec<LayerKind> = network.layers().iter().map(|l| l.kind()).collect();
        if let Some(kind) = kinds.iter().find(|kind| !Builder::has_twin(kind)) {
            return Err(GpuError::Unsupported(format!("{kind:?}")));
        }
        if network.loss_name() != "SoftmaxCrossEntropy" {
            return Err(GpuError::Unsupported(format!("loss {}", network.loss_name())));
        }
        let mut features = vec![network.input_features()];
        for layer in network.layers() {
            let last = *features.last().unwrap_or(&0);
            features.push(layer.output_features(last));
        }
        let layers = kinds.len();
        let mut lens = Vec::new();
        network.visit_params(&mut |i, p| lens.push((i, p.value.len())));
        let (param_slots, param_len) = layout(lens, layers);
        let mut lens = Vec::new();
        network.visit_buffers(&mut |i, _, b| lens.push((i, b.len())));
        let (buffer_slots, buffer_len) = layout(lens, layers);
        let mut this = Self {
            values: Tensor::zeros(&context, param_len, "parameters"),
            grads: Tensor::zeros(&context, param_len, "gradients"),
            running: Tensor::zeros(&context, buffer_len, "running statistics"),
            train_metrics: Tensor::zeros(&context, 2 + 2 * METRICS_RING, "training metrics"),
            eval_metrics: Tensor::zeros(&context, 2, "evaluation metrics"),
            context,
            library: Library::default(),
            kinds,
            features,
            param_slots,
            buffer_slots,
            plans: HashMap::new(),
            norms: None,
            frozen_layers: network.frozen_layers(),
            backbone: network.backbone(),
        };
        let tensors: Vec<Vec<_>> = this
            .param_slots
            .iter()
            .map(|slots| slots.iter().map(|s| s.offset..s.offset + s.len).collect())
            .collect();
        let buffers = (&this.values, &this.grads);
        this.norms = GpuNorms::new(&this.context, &mut this.library, buffers, &tensors)?;
        this.write_state_from(network);
        Ok(this)
    }

    /// The optimizer of this network's parameters (its moments on the GPU too): as the CPU's
    /// `visit_trainable_params`, none for a frozen backbone, the backbone's rate factor for a slower one.
    pub fn optimizer(&mut self, config: &OptimizerConfig) -> Result<GpuOptimizer, GpuError> {
        let len = self.values.len;
        let (backbone_layers, rate) = self.backbone;
        // where the head's parameters start in the flat buffer (the slots are in layer order)
        let head = self.param_slots[backbone_layers.min(self.param_slots.len())..]
            .iter()
            .flatten()
            .next()
            .map_or(len, |slot| slot.offset);
        let segments = if self.frozen_layers > 0 {
            vec![(head..len, 1.0)]
        } else if backbone_layers > 0 && rate != 1.0 {
            vec![(0..head, rate), (head..len, 1.0)]
        } else {
            vec![(0..len, 1.0)]
        };
        let parameters: Vec<_> = self
            .param_slots
            .iter()
            .flatten()
            .map(|slot| slot.offset..slot.offset + slot.len)
            .collect();
        GpuOptimizer::new(
            &self.context,
            &mut self.library,
            config,
            (&self.values, &self.grads),
            &segments,
            &parameters,
        )
    }

    /// Uploads `network`'s parameters and running statistics (same architecture).
    pub fn write_state_from(&mut self, network: &mut Network<f32>) {
        let mut values = vec![0.0; self.values.len];
        let slots = self.param_slots.iter().flatten();
        let mut slots_iter = slots.clone();
        network.visit_params(&mut |_, p| {
            if let Some(slot) = slots_iter.next() {
                values[slot.offset..slot.offset + slot.len].copy_from_slice(p.value);
            }
        });
        self.values.write_f32(&self.context, &values);
        let mut running = vec![0.0; self.running.len];
        let mut slots_iter = self.buffer_slots.iter().flatten();
        network.visit_buffers(&mut |_, _, b| {
            if let Some(slot) = slots_iter.next() {
                running[slot.offset..slot.offset + slot.len].copy_from_slice(b);
            }
        });
        if !running.is_empty() {
            self.running.write_f32(&self.context, &running);
        }
    }

    /// Copies the parameters and running statistics back into `network`, without blocking.
    pub async fn read_state_into_async(&self, network: &mut Network<f32>) -> Result<(), GpuError> {
        let values = self.values.read_f32_async(&self.context).await?;
        let mut slots = self.param_slots.iter().flatten();
        network.visit_params(&mut |_, p| {
            if let Some(slot) = slots.next() {
                p.value.copy_from_slice(&values[slot.offset..slot.offset + slot.len]);
            }
        });
        let running = self.running.read_f32_async(&self.context).await?;
        let mut slots = self.buffer_slots.iter().flatten();
        network.visit_buffers(&mut |_, _, b| {
            if let Some(slot) = slots.next() {
                b.copy_from_slice(&running[slot.offset..slot.offset + slot.len]);
            }
        });
        Ok(())
    }

    /// [`GpuNetwork::read_state_into_async`], waiting for the GPU (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_state_into(&self, network: &mut Network<f32>) -> Result<(), GpuError> {
        pollster::block_on(self.read_state_into_async(network))
    }

    /// The parameter gradients of the latest backward pass, in `visit_params` order (native, for tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_gradients(&self) -> Result<Vec<Vec<f32>>, GpuError> {
        let grads = self.grads.read_f32(&self.context)?;
        Ok(self
            .param_slots
            .iter()
            .flatten()
            .map(|s| grads[s.offset..s.offset + s.len].to_vec())
            .collect())
    }

    fn build_plan(&mut self, batch: usize) -> Result<Plan, GpuError> {
        let context = &self.context;
        let sized = |features: usize, label: &str| Tensor::zeros(context, batch * features, label);
        let input = sized(self.features[0], "input batch");
        let targets = Tensor::zeros(context, batch, "targets");
        let activations: Vec<Tensor> = self.features[1..].iter().map(|&f| sized(f, "activation")).collect();
        let gradients: Vec<Tensor> = self.features[1..].iter().map(|&f| sized(f, "∂L/∂Y")).collect();
        let mut builder = Builder {
            context,
            library: &mut self.library,
        };
        let mut layers = Vec::new();
        for (i, kind) in self.kinds.iter().enumerate() {
            let (params, grads, buffers) = (
                views(&self.values, &self.param_slots[i]),
                views(&self.grads, &self.param_slots[i]),
                views(&self.running, &self.buffer_slots[i]),
            );
            let io = LayerBuffers {
                batch,
                in_features: self.features[i],
                input: View::of(if i == 0 { &input } else { &activations[i - 1] }),
                output: View::of(&activations[i]),
                grad_output: View::of(&gradients[i]),
                // nothing flows back into the input, nor into a frozen backbone
                grad_input: (i > self.frozen_layers).then(|| View::of(&gradients[i - 1])),
                params: &params,
                grads: &grads,
                buffers: &buffers,
            };
            layers.push(builder.layer(kind, &io)?);
        }
        let classes = *self.features.last().unwrap_or(&0);
        let row_loss = Tensor::zeros(context, batch, "row loss");
        let row_correct = Tensor::zeros(context, batch, "row correct");
        let logits = activations
            .last()
            .ok_or_else(|| GpuError::Unsupported("a network without layers".into()))?;
        let grad_logits = gradients.last().unwrap_or(logits);
        let mut loss = |mode: u32, metrics: &Tensor| -> Result<Vec<Dispatch>, GpuError> {
            let params = [batch as u32, classes as u32, mode, u32::from(mode == 0)];
            // evaluation binds ∂L/∂Z too (WebGPU has no optional bindings) but does not write it
            let rows = [
                (1, logits.binding()),
                (2, targets.binding()),
                (3, grad_logits.binding()),
                (4, row_loss.binding()),
                (5, row_correct.binding()),
            ];
            let source = SOFTMAX_CROSS_ENTROPY;
            let entry_rows = builder
                .library
                .dispatch(context, "loss", source, "rows", &params, &rows, grid(batch))?;
            let reduce = builder.library.dispatch(
                context,
                "loss",
                source,
                "reduce",
                &params,
                &[
                    (4, row_loss.binding()),
                    (5, row_correct.binding()),
                    (6, metrics.binding()),
                ],
                workgroup_grid(1),
            )?;
            Ok(vec![entry_rows, reduce])
        };
        let loss_train = loss(0, &self.train_metrics)?;
        let loss_eval = loss(1, &self.eval_metrics)?;
        let mut buffers = activations;
        buffers.extend(gradients);
        buffers.extend([row_loss, row_correct]);
        Ok(Plan {
            input,
            targets,
            layers,
            loss_train,
            loss_eval,
            _buffers: buffers,
        })
    }

    /// Uploads a batch (`inputs: [batch, features]` row-major, `targets: [batch]`), building the buffers
    /// and dispatches of its batch size the first time, and returns its plan.
    fn upload(&mut self, inputs: &[f32], targets: &[usize]) -> Result<usize, GpuError> {
        let batch = targets.len();
        if batch == 0 || inputs.len() != batch * self.features[0] {
            return Err(GpuError::TooLarge(format!(
                "a batch of {} values for {batch} targets of {} features each",
                inputs.len(),
                self.features[0]
            )));
        }
        if !self.plans.contains_key(&batch) {
            let plan = self.build_plan(batch)?;
            self.plans.insert(batch, plan);
        }
        let plan = self.planned(batch)?;
        plan.input.write_f32(&self.context, inputs);
        let targets: Vec<u32> = targets.iter().map(|&t| t as u32).collect();
        plan.targets.write_u32(&self.context, &targets);
        Ok(batch)
    }

    fn planned(&self, batch: usize) -> Result<&Plan, GpuError> {
        self.plans
            .get(&batch)
            .ok_or_else(|| GpuError::Device(format!("no batch of {batch} has run")))
    }

    /// Records (not submits) a training step on a batch: forward in training mode (a frozen backbone in
    /// evaluation mode), the loss (its value and accuracy into the metrics ring), backward (not through a frozen
    /// backbone), then `after` (the optimizer). One submission.
    /// With `readback`, the layers' squared norms are summed after the update and a copy of the training
    /// metrics and those squares (see [`GpuNetwork::readback_len`]) is recorded, in the same submission.
    pub fn train_step(
        &mut self,
        inputs: &[f32],
        targets: &[usize],
        after: &[Dispatch],
        readback: Option<&Readback>,
    ) -> Result<(), GpuError> {
        let batch = self.upload(inputs, targets)?;
        let frozen = self.frozen_layers;
        let plan = self.planned(batch)?;
        let forward = plan.layers.iter().enumerate().flat_map(|(i, l)| {
            if i < frozen {
                l.forward_eval.iter()
            } else {
                l.forward_train.iter()
            }
        });
        let backward = plan.layers.iter().skip(frozen).rev().flat_map(|l| l.backward.iter());
        let mut encoder = self.context.device.create_command_encoder(&Default::default());
        let norms = self.norms.as_ref().filter(|_| readback.is_some());
        let squares = norms.map(|norms| &norms.dispatch);
        record(
            &mut encoder,
            forward
                .chain(plan.loss_train.iter())
                .chain(backward)
                .chain(after)
                .chain(squares),
        );
        if let Some(readback) = readback {
            readback.copy_into(&mut encoder, &self.train_metrics, 0);
            if let Some(norms) = norms {
                readback.copy_into(&mut encoder, &norms.squares, self.train_metrics.len);
            }
        }
        let commands = encoder.finish();
        self.context.queue.submit([commands]);
        Ok(())
    }

    /// Values of a training step's readback: the training metrics, then the norms' squares.
    pub fn readback_len(&self) -> usize {
        self.train_metrics.len + self.norms.as_ref().map_or(0, |norms| norms.squares.len)
    }

    /// Records an evaluation-mode forward pass of a batch whose summed loss and correct count are added
    /// to the evaluation metrics (see [`GpuNetwork::reset_evaluation`]).
    pub fn evaluate_batch(&mut self, inputs: &[f32], targets: &[usize]) -> Result<(), GpuError> {
        let batch = self.upload(inputs, targets)?;
        let plan = self.planned(batch)?;
        let forward = plan.layers.iter().flat_map(|l| l.forward_eval.iter());
        let mut encoder = self.context.device.create_command_encoder(&Default::default());
        record(&mut encoder, forward.chain(plan.loss_eval.iter()));
        self.context.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Zeroes the evaluation sums.
    pub fn reset_evaluation(&self) {
        self.eval_metrics.write_f32(&self.context, &[0.0, 0.0]);
    }

    /// The summed loss and correct count of the batches evaluated since the reset, without blocking.
    pub async fn read_evaluation_async(&self) -> Result<(f64, f64), GpuError> {
        let sums = self.eval_metrics.read_f32_async(&self.context).await?;
        Ok((sums[0] as f64, sums[1] as f64))
    }

    /// The batch loss and correct count of every training step since `since` (at most the last
    /// [`METRICS_RING`]), as `(step, loss, correct)` with 1-based steps (native: waits for the GPU).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_training_metrics(&self, since: usize) -> Result<Vec<(usize, f32, f32)>, GpuError> {
        let words = self.train_metrics.read_u32(&self.context)?;
        Ok(parse_training_metrics(&words, since))
    }

    /// The output of the last forward pass of a batch of `batch` rows (native, for tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_output(&self, batch: usize) -> Result<Vec<f32>, GpuError> {
        let plan = self.planned(batch)?;
        let last = plan
            ._buffers
            .get(self.kinds.len() - 1)
            .ok_or_else(|| GpuError::Device("no output".into()))?;
        last.read_f32(&self.context)
    }
}

/// The steps after `since` in a copy of the training metrics (`softmax_cross_entropy.wgsl`): word 0 counts
/// steps, then the ring of batch losses and the ring of correct counts.
pub fn parse_training_metrics(words: &[u32], since: usize) -> Vec<(usize, f32, f32)> {
    let steps = words.first().copied().unwrap_or(0) as usize;
    let first = since.max(steps.saturating_sub(METRICS_RING));
    (first..steps)
        .filter_map(|step| {
            let slot = step % METRICS_RING;
            let loss = f32::from_bits(*words.get(2 + slot)?);
            let correct = f32::from_bits(*words.get(2 + METRICS_RING + slot)?);
            Some((step + 1, loss, correct))
        })
        .collect()
}
