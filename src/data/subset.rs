//! Subsets of a split by class, relabelled: the transfer experiment's tasks (CIFAR-10's animals, its vehicles).
use super::Split;

impl Split {
    /// The images of `classes`, relabelled `0..classes.len()` in that order, at most `per_class` of each (the
    /// first ones in file order), in file order.
    pub fn classes(&self, classes: &[u8], per_class: Option<usize>) -> Split {
        let mut taken = vec![0usize; classes.len()];
        let mut subset = Split::with_capacity(0);
        for (index, label) in self.labels.iter().enumerate() {
            let Some(new_label) = classes.iter().position(|c| c == label) else {
                continue;
            };
            if per_class.is_some_and(|limit| taken[new_label] >= limit) {
                continue;
            }
            taken[new_label] += 1;
            subset.push(self.image(index), new_label as u8);
        }
        subset
    }
}
