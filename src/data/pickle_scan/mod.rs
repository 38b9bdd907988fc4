//! A pre-scan of a pickle's opcodes that bounds what decoding it would cost, before anything is decoded.
//!
//! serde-pickle builds and converts nested values recursively, copies memo entries each time they are used,
//! reserves room for 128 values at every MARK, and sorts sets with an ordering that NaN breaks. A crafted file
//! of a few kilobytes can therefore exhaust the stack (100,000 nested lists), the memory (a list of two
//! references to a list of two references to …), or panic (a set holding NaN). This scan walks the opcodes
//! once, without recursion and without building any value, and simulates the stack abstractly: containers
//! become nodes of a graph whose edges are the values put into them (memo references included). When the
//! pickle ends it computes, iteratively, how deep the decoded value would nest and how many values and bytes
//! it would expand to, and refuses the file if any of that exceeds [`PickleLimits`]. It also refuses what no
//! CIFAR-10 pickle contains and what serde-pickle mishandles: sets and frozensets, DUP, and numbers written
//! with absurdly many digits. Lengths declared past the end of the file are reported as a truncated pickle.
//!
//! The scan over-approximates (a copy made by REDUCE is counted as sharing its original), so it may refuse a
//! strange pickle serde-pickle would have survived; it never lets through one that exceeds the limits.

use std::collections::HashMap;

mod expansion;
mod operands;

/// The bounds a pickle must stay within to be decoded. A CIFAR-10 batch nests 5 levels deep, holds about
/// 20,000 values, and expands to its own size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PickleLimits {
    /// Deepest nesting of containers (and open MARKs) in the decoded value.
    pub max_depth: usize,
    /// Most values (containers and scalars) the decoded value may expand to, memo copies counted each time.
    pub max_values: u64,
    /// Most bytes of strings and byte strings the decoded value may expand to, memo copies counted.
    pub max_payload_bytes: u64,
    /// Most containers, values on the stack, or container-to-container references while decoding.
    pub max_containers: usize,
    /// Longest number or name written as text (INT, LONG, FLOAT, GLOBAL lines) or as LONG4 bytes.
    pub max_number_length: usize,
}

impl PickleLimits {
    /// The limits for a file of `file_len` bytes: the payload may expand to at most twice the file.
    pub(crate) fn for_file(file_len: usize) -> Self {
        PickleLimits {
            max_depth: 100,
            max_values: 2_000_000,
            max_payload_bytes: 2 * file_len as u64 + (1 << 20),
            max_containers: 1_000_000,
            max_number_length: 64,
        }
    }
}

/// Why a pickle was refused: `Broken` (truncated, malformed) or `Limit` (readable but too costly or of a kind
/// the lab does not decode). Both say where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanError {
    Broken(String),
    Limit { expected: String, found: String },
}

/// Scans `bytes` up to its STOP opcode; `Ok` means decoding stays within `limits`.
pub(crate) fn scan_pickle(bytes: &[u8], limits: &PickleLimits) -> Result<(), ScanError> {
    let mut scan = Scan {
        bytes,
        at: 0,
        limits,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        nodes: Vec::new(),
        references: 0,
    };
    let root = scan.run()?;
    scan.check_expansion(root)
}

/// A value on the abstract stack: a scalar of some size, a container, or a reference to a memo slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Leaf {
        bytes: u64,
    },
    /// A short text scalar, kept because STACK_GLOBAL names its global with two of them.
    Name {
        bytes: u64,
        is_set_name: bool,
    },
    Node(u32),
    Slot(u32),
    /// A GLOBAL naming `set` or `frozenset`: REDUCE on it would build a set.
    SetGlobal,
}

/// A container: the scalars put directly into it are summed, containers and memo references are edges.
#[derive(Debug, Default)]
struct Node {
    leaf_values: u64,
    leaf_bytes: u64,
    children: Vec<Item>,
}

struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
    limits: &'a PickleLimits,
    stack: Vec<Item>,
    /// Stack heights at each open MARK.
    marks: Vec<usize>,
    memo: HashMap<u32, Item>,
    nodes: Vec<Node>,
    references: usize,
}

impl<'a> Scan<'a> {
    /// Walks the opcodes to STOP and returns the value STOP would return.
    fn run(&mut self) -> Result<Item, ScanError> {
        loop {
            let position = self.at;
            let opcode = self.take(1, "an opcode")?[0];
            match opcode {
                0x80 => drop(self.take(1, "PROTO's version")?),
                0x95 => drop(self.length(8, "FRAME")?), // frame length: checked against the file, then ignored
                b'.' => return self.pop(),
                b'(' => {
                    if self.marks.len() >= self.limits.max_depth {
                        return Err(too_deep(self.limits.max_depth, position));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    if self.stack.len() == self.marks.last().copied().unwrap_or(0) {
                        self.pop_mark()?;
                    } else {
                        self.pop()?;
                    }
                }
                b'1' => drop(self.pop_mark()?),
                b'2' => {
                    return Err(refused(
                        "no DUP opcode (no Python pickler writes one)",
                        &format!("one at byte {position}"),
                    ))
                }
                b'p' => {
                    let id = self.text_number("PUT")?;
                    self.memoize(id)?;
                }
                b'q' => {
                    let id = self.take(1, "BINPUT's index")?[0];
                    self.memoize(id.into())?;
                }
                b'r' => {
                    let id = self.u32_le("LONG_BINPUT's index")?;
                    self.memoize(id)?;
                }
                0x94 => {
                    let id = u32::try_from(self.memo.len()).unwrap_or(u32::MAX);
                    self.memoize(id)?;
                }
                b'g' => {
                    let id = self.text_number("GET")?;
                    self.push(Item::Slot(id))?;
                }
                b'h' => {
                    let id = self.take(1, "BINGET's index")?[0];
                    self.push(Item::Slot(id.into()))?;
                }
                b'j' => {
                    let id = self.u32_le("LONG_BINGET's index")?;
                    self.push(Item::Slot(id))?;
                }
                b'N' | 0x88 | 0x89 => self.push(Item::Leaf { bytes: 0 })?,
                b'I' | b'L' | b'F' => {
                    let line = self.line("a number")?;
                    self.check_number_length(line.len(), position)?;
                    self.push(Item::Leaf { bytes: 8 })?;
                }
                b'G' => self.fixed_leaf(8, "BINFLOAT")?,
                b'J' => self.fixed_leaf(4, "BININT")?,
                b'K' => self.fixed_leaf(1, "BININT1")?,
                b'M' => self.fixed_leaf(2, "BININT2")?,
                0x8a => {
                    let len = self.length(1, "LONG1")?;
                    self.skip_leaf(len, "LONG1")?;
                }
                0x8b => {
                    let len = self.declared_length(4, true, "LONG4")?;
                    self.check_number_length(len, position)?;
                    self.skip_leaf(len, "LONG4")?;
                }
                b'S' | b'V' => {
                    let line = self.line("a string")?;
                    let bytes = line.len() as u64;
                    self.push(Item::Leaf { bytes })?;
                }
                b'U' | b'C' | 0x8c => {
                    let len = self.length(1, "a short string")?;
                    self.skip_text(len)?;
                }
                b'T' | b'B' | b'X' => {
                    let len = self.declared_length(4, opcode == b'T', "a string")?;
                    self.skip_text(len)?;
                }
                0x8d | 0x8e | 0x96 => {
                    let len = self.length(8, "a long string")?;
                    self.skip_text(len)?;
                }
                b')' | b']' | b'}' => self.push_node(Vec::new())?,
                0x85..=0x87 => {
                    let count = usize::from(opcode - 0x84);
                    let items = self.pop_n(count)?;
                    self.push_node(items)?;
                }
                b't' | b'l' | b'd' => {
                    let items = self.pop_mark()?;
                    self.push_node(items)?;
                }
                b'a' => {
                    let item = self.pop()?;
                    self.add_to_top(vec![item])?;
                }
                b's' => {
                    let items = self.pop_n(2)?;
                    self.add_to_top(items)?;
                }
                b'e' | b'u' => {
                    let items = self.pop_mark()?;
                    self.add_to_top(items)?;
                }
                0x8f..=0x91 => {
                    return Err(refused(NO_SETS, &format!("a set at byte {position}")));
                }
                b'c' => {
                    let module = self.line("a module name")?;
                    let name = self.line("a global name")?;
                    let set = matches!(module, b"__builtin__" | b"builtins") && is_set_name(name);
                    self.push(if set { Item::SetGlobal } else { Item::Leaf { bytes: 0 } })?;
                }
                0x93 => {
                    let (_module, name) = self.pop_pair()?;
                    let set = matches!(self.resolved(name), Item::Name { is_set_name: true, .. });
                    self.push(if set { Item::SetGlobal } else { Item::Leaf { bytes: 0 } })?;
                }
                b'R' => {
                    let (global, arguments) = self.pop_pair()?;
                    if self.resolved(global) == Item::SetGlobal {
                        return Err(refused(NO_SETS, &format!("a set at byte {position}")));
                    }
                    self.push_node(vec![arguments])?;
                }
                b'i' => {
                    self.line("a module name")?;
                    self.line("a class name")?;
                    let items = self.pop_mark()?;
                    self.push_node(items)?;
                }
                b'o' => {
                    let items = self.pop_mark()?;
                    self.pop()?; // the class
                    self.push_node(items)?;
                }
                0x81 => {
                    let (_class, arguments) = self.pop_pair()?;
                    self.push(arguments)?;
                }
                0x92 => {
                    let items = self.pop_n(3)?;
                    self.push_node(items[1..].to_vec())?;
                }
                b'b' => {
                    let (_object, state) = self.pop_pair()?;
                    self.push(state)?;
                }
                other => {
                    return Err(ScanError::Broken(format!(
                        "opcode 0x{other:02x} at byte {position} is not one the lab reads"
                    )))
                }
            }
        }
    }

    fn fixed_leaf(&mut self, width: usize, what: &str) -> Result<(), ScanError> {
        self.take(width, what)?;
        self.push(Item::Leaf { bytes: 8 })
    }

    fn skip_leaf(&mut self, len: usize, what: &str) -> Result<(), ScanError> {
        self.take(len, what)?;
        self.push(Item::Leaf { bytes: len as u64 })
    }

    /// A string whose length [`Self::length`] checked; short ones are kept as names for STACK_GLOBAL.
    fn skip_text(&mut self, len: usize) -> Result<(), ScanError> {
        let text = self.take(len, "a string")?;
        let bytes = len as u64;
        let item = if len <= 16 {
            Item::Name {
                bytes,
                is_set_name: is_set_name(text),
            }
        } else {
            Item::Leaf { bytes }
        };
        self.push(item)
    }

    fn push(&mut self, item: Item) -> Result<(), ScanError> {
        if self.stack.len() >= self.limits.max_containers {
            return Err(self.too_many("values on the stack"));
        }
        self.stack.push(item);
        Ok(())
    }

    fn pop(&mut self) -> Result<Item, ScanError> {
        if self.stack.len() <= self.marks.last().copied().unwrap_or(0) {
            return Err(ScanError::Broken(format!("the stack is empty at byte {}", self.at - 1)));
        }
        Ok(self.stack.pop().unwrap_or(Item::Leaf { bytes: 0 }))
    }

    /// The top `count` items, bottom first.
    fn pop_n(&mut self, count: usize) -> Result<Vec<Item>, ScanError> {
        let mut items: Vec<Item> = (0..count).map(|_| self.pop()).collect::<Result<_, _>>()?;
        items.reverse();
        Ok(items)
    }

    /// The two top items, the lower first.
    fn pop_pair(&mut self) -> Result<(Item, Item), ScanError> {
        let upper = self.pop()?;
        Ok((self.pop()?, upper))
    }

    /// The items above the last MARK, which is closed.
    fn pop_mark(&mut self) -> Result<Vec<Item>, ScanError> {
        let Some(height) = self.marks.pop() else {
            return Err(ScanError::Broken(format!("no MARK to close at byte {}", self.at - 1)));
        };
        Ok(self.stack.split_off(height))
    }

    /// Moves the stack top into memo slot `id`; the stack keeps a reference, as serde-pickle does.
    fn memoize(&mut self, id: u32) -> Result<(), ScanError> {
        let item = self.pop()?;
        // PUT of a reference copies the referenced value; counting it as shared over-approximates.
        let item = match item {
            Item::Slot(other) => self.memo.get(&other).copied().unwrap_or(Item::Leaf { bytes: 0 }),
            other => other,
        };
        if self.memo.len() >= self.limits.max_containers && !self.memo.contains_key(&id) {
            return Err(self.too_many("memo entries"));
        }
        self.memo.insert(id, item);
        self.push(Item::Slot(id))
    }

    fn push_node(&mut self, items: Vec<Item>) -> Result<(), ScanError> {
        if self.nodes.len() >= self.limits.max_containers {
            return Err(self.too_many("containers"));
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(Node::default());
        self.add_to(id, items)?;
        self.push(Item::Node(id))
    }

    /// APPEND(S) / SETITEM(S): the stack top (directly or through its memo slot) is the container.
    fn add_to_top(&mut self, items: Vec<Item>) -> Result<(), ScanError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        let top = self.stack.last().copied().filter(|_| self.stack.len() > floor);
        match top.map(|item| self.resolved(item)) {
            Some(Item::Node(id)) => self.add_to(id, items),
            _ => Err(ScanError::Broken(format!(
                "no list or dict to add to at byte {}",
                self.at - 1
            ))),
        }
    }

    /// What a memo reference refers to (a missing entry counts as a scalar: serde-pickle reports it).
    fn resolved(&self, item: Item) -> Item {
        match item {
            Item::Slot(id) => self.memo.get(&id).copied().unwrap_or(Item::Leaf { bytes: 0 }),
            other => other,
        }
    }

    fn add_to(&mut self, id: u32, items: Vec<Item>) -> Result<(), ScanError> {
        for item in items {
            let node = &mut self.nodes[id as usize];
            match item {
                Item::Leaf { bytes } | Item::Name { bytes, .. } => {
                    node.leaf_values += 1;
                    node.leaf_bytes += bytes;
                }
                Item::SetGlobal => node.leaf_values += 1,
                Item::Node(_) | Item::Slot(_) => {
                    self.references += 1;
                    if self.references > self.limits.max_containers {
                        return Err(self.too_many("references between containers"));
                    }
                    node.children.push(item);
                }
            }
        }
        Ok(())
    }

    fn too_many(&self, what: &str) -> ScanError {
        let limit = self.limits.max_containers;
        refused(
            &format!("at most {limit} {what} (a CIFAR-10 batch needs about 20,000)"),
            &format!("more by byte {}", self.at),
        )
    }
}

const NO_SETS: &str = "no sets (a CIFAR-10 batch holds none; serde-pickle panics sorting one that holds NaN)";

fn is_set_name(name: &[u8]) -> bool {
    matches!(name, b"set" | b"frozenset")
}

fn too_deep(limit: usize, position: usize) -> ScanError {
    refused(
        &format!("values nested at most {limit} levels deep (a CIFAR-10 batch nests 5)"),
        &format!("deeper nesting by byte {position}"),
    )
}

fn refused(expected: &str, found: &str) -> ScanError {
    ScanError::Limit {
        expected: expected.to_string(),
        found: found.to_string(),
    }
}
