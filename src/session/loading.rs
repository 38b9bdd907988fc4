//! Data in the session: the state the page renders (data summary with sample tiles, configuration, model
//! diagram, curves) and files dropped on the page.
use super::inspect::layer_rows;
use super::presets::presets;
use super::protocol::{DataSummary, Response, State};
use super::{Session, SessionError};
use crate::data::{push_rgba, DatasetBuilder, Part, NUM_CLASSES};

/// Sample tiles per class in the data summary.
const SAMPLES_PER_CLASS: usize = 8;

impl Session {
    /// The page's state; appends the sample tiles to `pixels`.
    pub fn state(&mut self, pixels: &mut Vec<u8>) -> State {
        let problem = self.ensure_trainer().err().map(|error| error.to_string());
        let train_config = self.train_config().ok();
        let data = self.data_summary(pixels);
        let norm_layers = match self.trainer.as_mut() {
            Some(trainer) => crate::train::parameter_layers(trainer.network_mut())
                .into_iter()
                .map(|(index, name)| format!("{index} {name}"))
                .collect(),
            None => Vec::new(),
        };
        let (layers, loss, parameters, steps_done, curves) = match self.trainer.as_mut() {
            Some(trainer) => {
                let config = trainer.config().clone();
                let layers = layer_rows(&config, trainer.network_mut());
                let network = trainer.network_mut();
                let loss = network.loss_name().to_string();
                let parameters = network.parameter_count();
                (
                    layers,
                    loss,
                    parameters,
                    trainer.steps_done(),
                    trainer.curves().to_vec(),
                )
            }
            None => (Vec::new(), String::new(), 0, 0, Vec::new()),
        };
        State {
            data,
            query: self.config.to_query(),
            config: self.config.clone(),
            presets: presets(),
            layers,
            loss,
            parameters,
            flops_per_image: train_config
                .as_ref()
                .and_then(|c| c.model.training_flops_per_image().ok())
                .unwrap_or(0),
            steps_done,
            total_steps: train_config.map_or(0, |c| c.steps),
            curves,
            problem,
            norm_layers,
        }
    }

    fn data_summary(&self, pixels: &mut Vec<u8>) -> DataSummary {
        let mut sample_labels = Vec::new();
        let train = &self.dataset.train;
        for class in 0..NUM_CLASSES as u8 {
            let indices = (0..train.len()).filter(|&i| train.labels[i] == class);
            for index in indices.take(SAMPLES_PER_CLASS) {
                push_rgba(pixels, train.image(index));
                sample_labels.push(class);
            }
        }
        DataSummary {
            name: self.dataset.name.clone(),
            train: self.dataset.train.len(),
            test: self.dataset.test.len(),
            class_names: self.class_names(),
            train_per_class: self.dataset.train.class_counts().to_vec(),
            test_per_class: self.dataset.test.class_counts().to_vec(),
            sample_labels,
        }
    }

    /// Reads dropped files. A file that cannot be read leaves everything as it was (the message says which
    /// file and why); files that hold only one part wait for the other.
    pub(super) fn add_files(
        &mut self,
        files: &[(String, Vec<u8>)],
        pixels: &mut Vec<u8>,
    ) -> Result<Response, SessionError> {
        if files.is_empty() {
            return Err(SessionError::request(
                "files",
                "CIFAR-10 batches or an archive",
                "no files",
            ));
        }
        // Each drop is read into its own builder first, so a bad file changes nothing.
        let mut dropped = DatasetBuilder::new();
        for (name, bytes) in files {
            dropped.add_file(name, bytes)?;
        }
        let (mut builder, mut names) = self
            .pending
            .take()
            .unwrap_or_else(|| (DatasetBuilder::new(), Vec::new()));
        // Only a clash with the files waiting from before (the same batch twice, the budget) fails here; the
        // files are not decoded a second time.
        builder.append(dropped).map_err(SessionError::DataClash)?;
        names.extend(files.iter().map(|(name, _)| name.clone()));
        let has = |part: Part| builder.batches().any(|batch| batch.part == part);
        if has(Part::Train) && has(Part::Test) {
            let dataset = builder.build()?;
            self.replace_dataset(dataset);
            Ok(Response::State(self.state(pixels)))
        } else {
            let missing = if has(Part::Train) {
                "a test batch (test_batch.bin or test_batch)"
            } else {
                "training batches (data_batch_1 … data_batch_5)"
            };
            let message = format!(
                "Read {}; add {missing} to switch to them. Training goes on with {}.",
                names.join(", "),
                self.dataset.name
            );
            self.pending = Some((builder, names));
            Ok(Response::Pending {
                message,
                state: Box::new(self.state(pixels)),
            })
        }
    }
}
