//! The page's `Backend` choice on top of [`Session`]: the CPU session answers every request, and when WebGPU
//! is chosen the steps run on the GPU ([`GpuTrainer`], GPU-resident) from the session's own trainer, so the
//! same seed gives the same initial weights and batch order, and the replies are the same [`Progress`].
//!
//! Between requests the trainer lives in the session with the weights synced back at the end of every step
//! request, and the GPU half waits parked beside it ([`GpuState`]: weights, Adam's moments, the step it is
//! at). Every other view therefore sees the current model, and a failing GPU (a lost device, out of memory,
//! a validation error) costs at most the steps of the request that failed: training goes on on the CPU from
//! the last synced weights, with a notice, and nothing loaded is lost.
//!
//! GPU work completes asynchronously (the browser maps buffers between tasks), so this is `async`; natively
//! it runs under `pollster` (`tests/gpu_session.rs` drives it on lavapipe).
use std::future::Future;

use super::protocol::{AdapterSummary, Backend, BackendStatus, BatchPoint, Progress, Reply, Request, Response};
use super::Session;
use crate::gpu::trainer::GpuState;
use crate::gpu::{GpuContext, GpuError, GpuTrainError, GpuTrainer};
use crate::train::StepOutcome;

/// The session with its backend.
pub struct BackendSession {
    session: Session,
    backend: Backend,
    /// The GPU half of the run, parked between step requests.
    parked: Option<GpuState>,
    /// A request other than a step came since the GPU half was parked (the weights may have changed).
    touched: bool,
    /// The probe's device, kept for the first GPU run.
    spare: Option<GpuContext>,
    webgpu: Option<AdapterSummary>,
    unavailable: Option<String>,
}

impl BackendSession {
    pub fn new(session: Session) -> Self {
        Self {
            session,
            backend: Backend::Cpu,
            parked: None,
            touched: false,
            spare: None,
            webgpu: None,
            unavailable: None,
        }
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether `request` must go through [`BackendSession::dispatch`] (it may wait for the GPU); every
    /// other request can take [`BackendSession::dispatch_now`], which never waits.
    pub fn needs_gpu(&self, request: &Request) -> bool {
        matches!(
            request,
            Request::Backends | Request::SetBackend { .. } | Request::LoseDevice
        ) || (self.backend == Backend::Gpu && matches!(request, Request::Step { .. }))
    }

    /// Carries out a request that does not need the GPU (see [`BackendSession::needs_gpu`]).
    pub fn dispatch_now(
        &mut self,
        request: Request,
        files: &[(String, Vec<u8>)],
        pixels: &[u8],
        now: &dyn Fn() -> f64,
    ) -> Reply {
        self.touched = true;
        let reply = self.session.dispatch(request, files, pixels, now);
        // a new model, new data or a resumed snapshot: the parked GPU half no longer belongs to the run
        let same_run = self
            .session
            .trainer()
            .zip(self.parked.as_ref())
            .is_some_and(|(trainer, parked)| trainer.steps_done() == parked.submitted());
        if !same_run {
            self.parked = None;
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
            other => return self.dispatch_now(other, files, pixels, now),
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

    /// Up to `steps` GPU steps within `budget_ms`, evaluating when the CPU path would; falls back to the
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
        let synced = trainer.steps_done();
        let parked = self.parked.take().filter(|p| p.submitted() == synced);
        let state = match parked {
            Some(state) => Ok(state),
            None => match self.context().await {
                Ok(context) => GpuTrainer::prepare(&mut trainer, context),
                Err(error) => Err(error.into()),
            },
        };
        let mut gpu = match state {
            Ok(state) => GpuTrainer::resume(trainer, state, std::mem::take(&mut self.touched)),
            Err(error) => {
                self.session.restore_trainer(trainer);
                return self.fall_back(progress, synced, &error, now);
            }
        };
        let started = now();
        let mut eval_ms = 0.0;
        let result = self
            .gpu_steps(&mut gpu, (steps, budget_ms), &mut progress, (now, &mut eval_ms))
            .await;
        progress.train_ms = (now() - started - eval_ms).max(0.0);
        progress.eval_ms = eval_ms;
        match result {
            Ok(()) => {
                let (trainer, state) = gpu.park();
                self.parked = Some(state);
                self.session.restore_trainer(trainer);
                let trainer = self.session.trainer().expect("just restored");
                progress.close(trainer)
            }
            Err(GpuTrainError::Train(error)) => {
                // a non-finite loss: the run stops as on the CPU; the GPU half is not worth keeping
                progress.stopped = Some(error.to_string());
                self.session.restore_trainer(gpu.into_cpu());
                progress.close(self.session.trainer().expect("just restored"))
            }
            Err(error) => {
                self.session.restore_trainer(gpu.into_cpu());
                self.fall_back(progress, synced, &error, now)
            }
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
                progress.points.push(gpu.record_point_async(dataset).await?);
                *eval_ms += now() - before;
            }
            if now() - start >= budget_ms {
                break;
            }
        }
        let outcomes = gpu.flush_async().await?;
        add_outcomes(progress, &outcomes, gpu);
        // the CPU trainer holds this request's last weights: the other views, and a fallback, start there
        gpu.sync_weights_async().await
    }

    /// Training continues on the CPU from the trainer's weights (synced at step `synced`).
    fn fall_back(
        &mut self,
        mut progress: Progress,
        synced: usize,
        error: &GpuTrainError,
        now: &dyn Fn() -> f64,
    ) -> Progress {
        self.backend = Backend::Cpu;
        self.parked = None;
        self.spare = None;
        // a lost device is gone for good: the next WebGPU choice probes again
        self.webgpu = None;
        let notice = format!(
            "WebGPU failed ({error}). Training switched to the CPU (WebAssembly SIMD) from the weights synced at \
             step {synced}; the data and the curves so far are kept."
        );
        let mut cpu = self.session.step(0, 0.0, now);
        cpu.notice = Some(notice);
        cpu.batches.append(&mut progress.batches);
        cpu.points.append(&mut progress.points);
        cpu.norms.append(&mut progress.norms);
        cpu.images += progress.images;
        cpu
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
