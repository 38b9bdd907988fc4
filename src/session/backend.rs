//! The page's `Backend` choice on top of [`Session`]: the CPU session answers every request, and when WebGPU
//! is chosen the steps run on the GPU ([`GpuTrainer`], GPU-resident) from the session's own trainer, so the
//! same seed gives the same initial weights and batch order, and the replies are the same [`Progress`].
//!
//! Between requests the trainer lives in the session and the GPU half waits parked beside it ([`GpuState`]:
//! weights, Adam's moments, the step it is at). The GPU's state (weights, running statistics, the optimizer's
//! moments and step count) is synced back to the trainer every [`SYNC_MS`] at the end of a step request, when
//! the run finishes, and before any request that reads or changes the model ([`needs_current_model`]): every
//! view, snapshot and saved run sees the current model and optimizer. Each sync is also a [`RollbackPoint`]: a
//! failing GPU (a lost device, out of memory, a validation error) rolls the run back to its last sync (weights,
//! optimizer, step and curves together) and training goes on on the CPU from there, with a notice naming the
//! step; nothing loaded is lost.
//!
//! GPU work completes asynchronously (the browser maps buffers between tasks), so this is `async`; natively
//! it runs under `pollster` (`tests/gpu_session.rs` drives it on lavapipe).
use std::future::Future;

use super::protocol::{AdapterSummary, Backend, BackendStatus, BatchPoint, Progress, Reply, Request, Response};
use super::rollback::{needs_current_model, RollbackPoint, SYNC_MS};
use super::Session;
use crate::budget::MemoryBudget;
use crate::gpu::trainer::GpuState;
use crate::gpu::{GpuContext, GpuError, GpuTrainError, GpuTrainer};
use crate::train::{StepOutcome, Trainer};

/// The session with its backend.
pub struct BackendSession {
    session: Session,
    backend: Backend,
    /// The GPU half of the run, parked between step requests.
    parked: Option<GpuState>,
    /// A request that reads or changes the model came since the GPU half was parked (the weights may have
    /// changed: they go up again before the next step).
    touched: bool,
    /// The run at its last sync of the GPU's state (see [`super::rollback`]), and when that was.
    rollback: Option<RollbackPoint>,
    synced_ms: f64,
    /// A fallback that happened outside a step request (a sync that failed): the notice and the step the run
    /// went back to, for the next [`Progress`].
    pending_notice: Option<(String, usize)>,
    /// The probe's device, kept for the first GPU run.
    spare: Option<GpuContext>,
    webgpu: Option<AdapterSummary>,
    unavailable: Option<String>,
    /// What a GPU run may take in the worker, its rollback copy counted.
    budget: MemoryBudget,
}

impl BackendSession {
    pub fn new(session: Session) -> Self {
        Self {
            session,
            backend: Backend::Cpu,
            parked: None,
            touched: false,
            rollback: None,
            synced_ms: 0.0,
            pending_notice: None,
            spare: None,
            webgpu: None,
            unavailable: None,
            budget: MemoryBudget::for_target(),
        }
    }

    /// With `budget` for GPU runs instead of [`MemoryBudget::for_target`] (a test's small budget).
    pub fn with_memory_budget(mut self, budget: MemoryBudget) -> Self {
        self.budget = budget;
        self
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether `request` must go through [`BackendSession::dispatch`] (it may wait for the GPU: a GPU step,
    /// a probe, or a request that needs the model while the GPU's state has not been synced back yet); every
    /// other request can take [`BackendSession::dispatch_now`], which never waits.
    pub fn needs_gpu(&self, request: &Request) -> bool {
        matches!(
            request,
            Request::Backends | Request::SetBackend { .. } | Request::LoseDevice
        ) || (self.backend == Backend::Gpu && matches!(request, Request::Step { .. }))
            || (self.behind() && needs_current_model(request))
    }

    /// The step of the last sync of a GPU run's state to the CPU copy (where a failing GPU rolls back to);
    /// `None` when no GPU run is parked.
    pub fn synced_step(&self) -> Option<usize> {
        self.parked
            .as_ref()
            .and(self.rollback.as_ref())
            .map(RollbackPoint::step)
    }

    /// Whether the parked GPU half has taken steps that the CPU copy's weights and optimizer have not seen.
    fn behind(&self) -> bool {
        self.parked
            .as_ref()
            .is_some_and(|parked| self.synced_step() != Some(parked.submitted()))
    }

    /// Carries out a request that does not need the GPU (see [`BackendSession::needs_gpu`]).
    pub fn dispatch_now(
        &mut self,
        request: Request,
        files: &[(String, Vec<u8>)],
        pixels: &[u8],
        now: &dyn Fn() -> f64,
    ) -> Reply {
        // behind the GPU, only requests that leave the model alone come here; a request that may have changed
        // the current model's weights (its running statistics, say) sends them up again before the next step
        self.touched |= needs_current_model(&request) && !self.behind();
        let mut reply = self.session.dispatch(request, files, pixels, now);
        if let Response::Progress(progress) = &mut reply.response {
            self.tell(progress);
        }
        // a new model, new data or a resumed snapshot: the parked GPU half no longer belongs to the run
        let same_run = self
            .session
            .trainer()
            .zip(self.parked.as_ref())
            .is_some_and(|(trainer, parked)| trainer.steps_done() == parked.submitted());
        if !same_run {
            self.parked = None;
            self.rollback = None;
        }
        reply
    }

    /// Carries out any request; `probe` finds the WebGPU device (or says why there is none), `timeout`
    /// completes when a probe has waited too long (a browser may never answer).
    pub async fn dispatch(
        &mut self,
        request: Request,
        (files, pixels): (&[(String, Vec<u8>)], &[u8]),
        now: &dyn Fn() -> f64,
        timeout: impl Future<Output = ()>,
    ) -> Reply {
        let response = match request {
            Request::Backends => {
                self.probe(timeout).await;
                Response::Backends(self.status())
            }
            Request::SetBackend { backend } => {
                self.sync_if_behind(now).await;
                if backend == Backend::Gpu {
                    self.probe(timeout).await;
                }
                match (&self.unavailable, backend) {
                    (Some(reason), Backend::Gpu) => {
                        Response::error(format!("WebGPU: expected a GPU adapter, found none ({reason})"))
                    }
                    _ => {
                        self.backend = backend;
                        Response::Backends(self.status())
                    }
                }
            }
            Request::LoseDevice => match (&self.parked, &self.spare) {
                (Some(parked), _) => {
                    parked.device().destroy();
                    Response::Backends(self.status())
                }
                (None, Some(spare)) => {
                    spare.device.destroy();
                    Response::Backends(self.status())
                }
                (None, None) => Response::error("lose-device: expected a GPU device in use, found none"),
            },
            Request::Step { steps, budget_ms } if self.backend == Backend::Gpu => {
                Response::Progress(self.gpu_step(steps, budget_ms, now).await)
            }
            other => {
                if needs_current_model(&other) {
                    self.sync_if_behind(now).await;
                }
                return self.dispatch_now(other, files, pixels, now);
            }
        };
        Reply {
            response,
            pixels: Vec::new(),
        }
    }

    pub fn status(&self) -> BackendStatus {
        BackendStatus {
            backend: self.backend,
            webgpu: self.webgpu.clone(),
            unavailable: self.unavailable.clone(),
        }
    }

    /// Finds the WebGPU adapter and device once (a failed probe is tried again on the next request).
    async fn probe(&mut self, timeout: impl Future<Output = ()>) {
        if self.webgpu.is_some() {
            return;
        }
        match probe_webgpu(timeout).await {
            Ok(context) => {
                self.webgpu = Some(context.adapter.clone());
                self.unavailable = None;
                self.spare = Some(context);
            }
            Err(reason) => self.unavailable = Some(reason),
        }
    }

    /// A device for a new GPU run: the probe's, or a new one.
    async fn context(&mut self) -> Result<GpuContext, GpuError> {
        match self.spare.take() {
            Some(context) => Ok(context),
            None => GpuContext::new(None).await,
        }
    }

    /// Up to `steps` GPU steps within `budget_ms`, evaluating when the CPU path would, then a sync of the
    /// GPU's state when [`SYNC_MS`] have passed since the last one or the run is finished; falls back to the
    /// CPU when the GPU fails.
    async fn gpu_step(&mut self, steps: usize, budget_ms: f64, now: &dyn Fn() -> f64) -> Progress {
        let mut progress = Progress {
            backend: Backend::Gpu,
            ..Progress::default()
        };
        let mut trainer = match self.session.take_trainer() {
            Ok(trainer) => trainer,
            Err(error) => {
                progress.stopped = Some(error.to_string());
                return progress;
            }
        };
        // the worker keeps a rollback copy of a GPU run beside it (see `super::rollback`): counted before the
        // run goes up, so a model that cannot afford it gets the budget's message, not an out-of-memory trap
        let train_images = self.session.dataset().train.len();
        if let Err(error) = trainer.config().check_gpu_memory(train_images, &self.budget) {
            progress.stopped = Some(error.to_string());
            let progress = progress.close(&trainer);
            self.session.restore_trainer(trainer);
            return progress;
        }
        let steps_done = trainer.steps_done();
        let parked = self.parked.take().filter(|p| p.submitted() == steps_done);
        let touched = std::mem::take(&mut self.touched);
        // the trainer's weights go up to the GPU: it holds the whole run now, the first rollback point
        let uploads = parked.is_none() || touched;
        let state = match parked {
            Some(state) => Ok(state),
            None => match self.context().await {
                Ok(context) => GpuTrainer::prepare(&mut trainer, context),
                Err(error) => Err(error.into()),
            },
        };
        let state = match state.and_then(|state| {
            if uploads {
                self.take_rollback(&mut trainer, now)?;
            }
            Ok(state)
        }) {
            Ok(state) => state,
            Err(error) => {
                self.session.restore_trainer(trainer);
                return self.fallen_back(&error, now);
            }
        };
        let mut gpu = GpuTrainer::resume(trainer, state, touched);
        let started = now();
        let mut eval_ms = 0.0;
        let mut result = self
            .gpu_steps(&mut gpu, (steps, budget_ms), &mut progress, (now, &mut eval_ms))
            .await;
        progress.train_ms = (now() - started - eval_ms).max(0.0);
        progress.eval_ms = eval_ms;
        let sync = gpu.is_finished() || now() - self.synced_ms >= SYNC_MS;
        if result.is_ok() && sync {
            result = gpu.sync_run_async().await;
        }
        match result {
            Ok(()) => {
                let (mut trainer, state) = gpu.park();
                if sync {
                    if let Err(error) = self.take_rollback(&mut trainer, now) {
                        progress.stopped = Some(error.to_string());
                    }
                }
                self.parked = Some(state);
                self.session.restore_trainer(trainer);
                self.tell(&mut progress);
                progress.close(self.session.trainer().expect("just restored"))
            }
            Err(GpuTrainError::Train(error)) => {
                // a non-finite loss: the run stops as on the CPU, with the GPU's last weights where they can
                // still be read; the GPU half is not worth keeping
                progress.stopped = Some(error.to_string());
                let _ = gpu.sync_run_async().await;
                self.rollback = None;
                self.session.restore_trainer(gpu.into_cpu());
                progress.close(self.session.trainer().expect("just restored"))
            }
            Err(error) => {
                self.session.restore_trainer(gpu.into_cpu());
                self.fallen_back(&error, now)
            }
        }
    }

    /// The trainer holds the GPU run as it stands (just synced, or just uploaded): the new rollback point.
    fn take_rollback(&mut self, trainer: &mut Trainer, now: &dyn Fn() -> f64) -> Result<(), GpuTrainError> {
        // one copy of the run at a time (a large model's is tens of MB); without one a fallback keeps the
        // trainer, which holds the same run now
        self.rollback = None;
        let point = RollbackPoint::of(trainer).map_err(|e| GpuError::Device(format!("saving the run: {e}")))?;
        self.rollback = Some(point);
        self.synced_ms = now();
        Ok(())
    }

    /// Before a request that needs the current model: syncs the parked GPU half's state into the trainer (a new
    /// rollback point); a GPU that fails meanwhile rolls the run back, and the next progress says so.
    async fn sync_if_behind(&mut self, now: &dyn Fn() -> f64) {
        if !self.behind() {
            return;
        }
        let Some(state) = self.parked.take() else {
            return;
        };
        let Ok(trainer) = self.session.take_trainer() else {
            self.parked = Some(state); // no run to sync into (a GPU half is parked only beside one)
            return;
        };
        let mut gpu = GpuTrainer::resume(trainer, state, false);
        let synced = gpu.sync_run_async().await;
        let (mut trainer, state) = gpu.park();
        let synced = synced.and_then(|()| self.take_rollback(&mut trainer, now));
        self.session.restore_trainer(trainer);
        match synced {
            Ok(()) => self.parked = Some(state),
            Err(error) => self.pending_notice = Some(self.fall_back(&error)),
        }
    }

    async fn gpu_steps(
        &self,
        gpu: &mut GpuTrainer,
        (steps, budget_ms): (usize, f64),
        progress: &mut Progress,
        (now, eval_ms): (&dyn Fn() -> f64, &mut f64),
    ) -> Result<(), GpuTrainError> {
        let dataset = self.session.dataset();
        let every = gpu.trainer().config().eval_every.max(1);
        let start = now();
        for _ in 0..steps {
            if gpu.is_finished() {
                break;
            }
            let outcomes = gpu.step_async(dataset).await?;
            add_outcomes(progress, &outcomes, gpu);
            if gpu.submitted() % every == 0 || gpu.is_finished() {
                let outcomes = gpu.flush_async().await?;
                add_outcomes(progress, &outcomes, gpu);
                let before = now();
                progress.points.push(gpu.evaluate_point_async(dataset).await?);
                *eval_ms += now() - before;
            }
            if now() - start >= budget_ms {
                break;
            }
        }
        let outcomes = gpu.flush_async().await?;
        add_outcomes(progress, &outcomes, gpu);
        Ok(())
    }

    /// Rolls the run back to its last sync (weights, optimizer state, step, curves and batch order together)
    /// and switches to the CPU: the notice, and the step the run went back to.
    fn fall_back(&mut self, error: &GpuTrainError) -> (String, usize) {
        self.backend = Backend::Cpu;
        self.parked = None;
        self.spare = None;
        // a lost device is gone for good: the next WebGPU choice probes again
        self.webgpu = None;
        let restored = self
            .rollback
            .take()
            .map(|point| (point.step(), point.restore(self.session.dataset())));
        let step = match restored {
            Some((step, Ok(trainer))) => {
                self.session.restore_trainer(trainer);
                step
            }
            // no GPU step was taken (the device failed before): the trainer is where it was
            _ => self.session.trainer().map_or(0, Trainer::steps_done),
        };
        let notice = format!(
            "WebGPU failed ({error}). Training switched to the CPU (WebAssembly SIMD) from the weights synced at \
             step {step}, with the optimizer's state of that step; the data and the curves up to it are kept."
        );
        (notice, step)
    }

    /// [`BackendSession::fall_back`] as the reply to a step request.
    fn fallen_back(&mut self, error: &GpuTrainError, now: &dyn Fn() -> f64) -> Progress {
        self.pending_notice = Some(self.fall_back(error));
        let mut progress = self.session.step(0, 0.0, now);
        self.tell(&mut progress);
        progress
    }

    /// Puts a fallback's notice, not told yet, into `progress`.
    fn tell(&mut self, progress: &mut Progress) {
        if let Some((notice, step)) = self.pending_notice.take() {
            progress.notice = Some(notice);
            progress.rewound_to = Some(step);
        }
    }
}

/// A WebGPU device, or why there is none (also when `timeout` completes first: a browser may never answer).
pub async fn probe_webgpu(timeout: impl Future<Output = ()>) -> Result<GpuContext, String> {
    match first(GpuContext::new(None), timeout).await {
        Some(Ok(context)) => Ok(context),
        Some(Err(error)) => Err(error.to_string()),
        None => Err("the browser did not answer the request for a WebGPU adapter".into()),
    }
}

/// What WebGPU offers here, for a page that has not chosen it yet (the device is not kept).
pub async fn webgpu_status(timeout: impl Future<Output = ()>) -> BackendStatus {
    let found = probe_webgpu(timeout).await;
    BackendStatus {
        backend: Backend::Cpu,
        webgpu: found.as_ref().ok().map(|context| context.adapter.clone()),
        unavailable: found.err(),
    }
}

/// Adds steps read back from the GPU to `progress`, and the layer norms read back with them.
fn add_outcomes(progress: &mut Progress, outcomes: &[StepOutcome], gpu: &mut GpuTrainer) {
    progress.norms.extend(gpu.take_norms());
    progress.images += outcomes.len() * gpu.trainer().config().batch_size;
    progress.batches.extend(outcomes.iter().map(|outcome| BatchPoint {
        step: outcome.step,
        loss: outcome.loss,
        accuracy: outcome.accuracy,
    }));
}

/// `work`'s result, or `None` when `timeout` completes first.
async fn first<T>(work: impl Future<Output = T>, timeout: impl Future<Output = ()>) -> Option<T> {
    let mut work = std::pin::pin!(work);
    let mut timeout = std::pin::pin!(timeout);
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(value) = work.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(value));
        }
        timeout.as_mut().poll(cx).map(|()| None)
    })
    .await
}
