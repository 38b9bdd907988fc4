//! What the decoded value would expand to: nesting depth, number of values, bytes of strings, computed
//! bottom-up over the scan's graph of containers without recursion (memo references count at every use, as
//! serde-pickle copies them).

use super::{refused, too_deep, Item, Scan, ScanError};

impl Scan<'_> {
    /// Depth, values and payload bytes of the decoded `root`, computed bottom-up without recursion.
    pub(super) fn check_expansion(&self, root: Item) -> Result<(), ScanError> {
        #[derive(Clone, Copy)]
        enum State {
            Unvisited,
            Open,
            Done(Expansion),
        }
        let target = |item: Item| self.resolved(item);
        let mut states = vec![State::Unvisited; self.nodes.len()];
        let expansion_of = |states: &[State], item: Item| match target(item) {
            Item::Node(id) => match states[id as usize] {
                State::Done(expansion) => Some(expansion),
                _ => None,
            },
            Item::Leaf { bytes } | Item::Name { bytes, .. } => Some(Expansion {
                depth: 0,
                values: 1,
                bytes,
            }),
            Item::SetGlobal | Item::Slot(_) => Some(Expansion {
                depth: 0,
                values: 1,
                bytes: 0,
            }),
        };
        let Item::Node(root) = target(root) else {
            return Ok(());
        };
        // (node, next child to look at); the path length is the nesting depth so far.
        let mut path: Vec<(u32, usize)> = vec![(root, 0)];
        states[root as usize] = State::Open;
        while let Some(&(id, next)) = path.last() {
            let node = &self.nodes[id as usize];
            if let Some(&child) = node.children.get(next) {
                if let Some(top) = path.last_mut() {
                    top.1 += 1;
                }
                if let Item::Node(child_id) = target(child) {
                    match states[child_id as usize] {
                        State::Done(_) => {}
                        State::Open => return Err(refused("a value that does not contain itself", "one that does")),
                        State::Unvisited => {
                            if path.len() >= self.limits.max_depth {
                                return Err(too_deep(self.limits.max_depth, self.at));
                            }
                            states[child_id as usize] = State::Open;
                            path.push((child_id, 0));
                        }
                    }
                }
                continue;
            }
            let mut total = Expansion {
                depth: 1,
                values: 1 + node.leaf_values,
                bytes: node.leaf_bytes,
            };
            for &child in &node.children {
                let child = expansion_of(&states, child).unwrap_or_default();
                total.depth = total.depth.max(child.depth + 1);
                total.values = total.values.saturating_add(child.values);
                total.bytes = total.bytes.saturating_add(child.bytes);
            }
            states[id as usize] = State::Done(total);
            path.pop();
        }
        let Some(total) = expansion_of(&states, Item::Node(root)) else {
            return Ok(());
        };
        if total.values > self.limits.max_values {
            return Err(refused(
                &format!("at most {} values once decoded", self.limits.max_values),
                &format!("{} (memo entries are copied at every use)", total.values),
            ));
        }
        if total.bytes > self.limits.max_payload_bytes {
            return Err(refused(
                &format!(
                    "at most {} bytes of strings once decoded",
                    self.limits.max_payload_bytes
                ),
                &format!("{} (memo entries are copied at every use)", total.bytes),
            ));
        }
        Ok(())
    }
}

/// What a value expands to when decoded: nesting depth, number of values, bytes of strings.
#[derive(Debug, Clone, Copy, Default)]
struct Expansion {
    depth: usize,
    values: u64,
    bytes: u64,
}
