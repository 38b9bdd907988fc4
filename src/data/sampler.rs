//! Mini-batches in the order of the course's `DataSet.next_batch`.
//!
//! ```text
//! start = index_in_epoch; index_in_epoch += batch_size
//! if index_in_epoch > num_examples:        # the next batch would run past the end
//!     epochs_completed += 1
//!     shuffle the (already shuffled) data   # the leftover partial batch is dropped
//!     start = 0; index_in_epoch = batch_size
//! return data[start:index_in_epoch]
//! ```
//!
//! So the first epoch walks the data in file order, and only a used-up epoch triggers a shuffle. The course
//! shuffles with numpy's global generator; here a seeded `ChaCha8Rng` makes runs repeatable bit for bit.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A sampler's whole state ([`BatchSampler::position`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerPosition {
    pub order: Vec<usize>,
    pub index_in_epoch: usize,
    pub epochs_completed: usize,
    pub rng: ChaCha8Rng,
}

/// Hands out the indices of each mini-batch; see the module documentation.
#[derive(Debug, Clone)]
pub struct BatchSampler {
    /// The current order of the examples: `0..n` in the first epoch, then cumulatively shuffled.
    order: Vec<usize>,
    index_in_epoch: usize,
    epochs_completed: usize,
    rng: ChaCha8Rng,
}

impl BatchSampler {
    /// A sampler over `n` examples whose reshuffles are drawn from `seed`.
    pub fn new(n: usize, seed: u64) -> Self {
        BatchSampler {
            order: (0..n).collect(),
            index_in_epoch: 0,
            epochs_completed: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The indices of the next `batch_size` examples. A `batch_size` above `n` is taken as `n` (the course
    /// asserts instead). The slice is borrowed from the sampler: no allocation per call.
    pub fn next_batch(&mut self, batch_size: usize) -> &[usize] {
        let batch_size = batch_size.min(self.order.len());
        let mut start = self.index_in_epoch;
        self.index_in_epoch += batch_size;
        if self.index_in_epoch > self.order.len() {
            self.epochs_completed += 1;
            self.order.shuffle(&mut self.rng);
            start = 0;
            self.index_in_epoch = batch_size;
        }
        &self.order[start..self.index_in_epoch]
    }

    /// Number of epochs completed so far (0 during the first, file-order epoch), the course's
    /// `epochs_completed`.
    pub fn epoch(&self) -> usize {
        self.epochs_completed
    }

    /// Number of examples sampled from.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Where the sampler is: the current order, the position in the epoch, the epochs completed and the
    /// shuffling generator (saving a run).
    pub fn position(&self) -> SamplerPosition {
        SamplerPosition {
            order: self.order.clone(),
            index_in_epoch: self.index_in_epoch,
            epochs_completed: self.epochs_completed,
            rng: self.rng.clone(),
        }
    }

    /// A sampler that continues exactly where `position` was taken; `None` if the position is not one of a
    /// sampler (an order that is not a permutation, an index past its end).
    pub fn at(position: SamplerPosition) -> Option<Self> {
        let mut seen = vec![false; position.order.len()];
        for &i in &position.order {
            if i >= seen.len() || std::mem::replace(&mut seen[i], true) {
                return None;
            }
        }
        (position.index_in_epoch <= position.order.len()).then_some(BatchSampler {
            order: position.order,
            index_in_epoch: position.index_in_epoch,
            epochs_completed: position.epochs_completed,
            rng: position.rng,
        })
    }

    /// True when there is nothing to sample.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}
