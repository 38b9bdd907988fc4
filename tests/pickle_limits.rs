//! Crafted pickles are refused before decoding, with a message naming the file: nesting 100,000 levels deep,
//! declared lengths past the end of the file, memo references that expand exponentially, sets (serde-pickle
//! panics sorting one that holds NaN), DUP, and numbers with absurdly many digits. Each of these aborted the
//! worker (stack overflow, out of memory, panic) before the pre-scan existed; real batches still load.

use backprop_lab::data::{synthetic, write_pickle_batch, DataError, DatasetBuilder, SyntheticConfig};

/// The error of adding one file to an empty builder.
fn add_error(name: &str, bytes: &[u8]) -> DataError {
    match DatasetBuilder::new().add_file(name, bytes) {
        Ok(summary) => panic!("expected an error, got {summary}"),
        Err(error) => error,
    }
}

/// A protocol-2 pickle of `body` (opcodes after PROTO), ended by STOP.
fn pickle(body: &[u8]) -> Vec<u8> {
    [&[0x80, 2][..], body, b"."].concat()
}

fn assert_refused(name: &str, bytes: &[u8], expected_part: &str) {
    let error = add_error(name, bytes);
    let message = error.to_string();
    assert!(
        matches!(error, DataError::PickleRefused { .. }),
        "expected a refusal, got {message:?}"
    );
    assert!(
        message.starts_with(&format!("{name}: expected a pickle with ")) && message.contains(expected_part),
        "expected a message naming {name} and containing {expected_part:?}, got {message:?}"
    );
    assert!(message.ends_with("it was not decoded"), "{message}");
}

#[test]
fn a_list_nested_100000_levels_deep_is_refused_before_decoding() {
    // 100,000 empty lists, each appended into the one below it: [[[…]]].
    let levels = 100_000;
    let body = [vec![b']'; levels], vec![b'a'; levels - 1]].concat();
    let started = std::time::Instant::now();
    assert_refused(
        "data_batch_1",
        &pickle(&body),
        "values nested at most 100 levels deep (a CIFAR-10 batch nests 5), found deeper nesting",
    );
    assert!(started.elapsed().as_secs_f64() < 2.0, "the scan is linear");
}

#[test]
fn tuples_and_marks_nested_100000_deep_are_refused() {
    // N, then TUPLE1 100,000 times: ((((None,),),),…)
    let tuples = [vec![b'N'], vec![0x85; 100_000]].concat();
    assert_refused("data_batch_2", &pickle(&tuples), "100 levels deep");
    // 100,000 open MARKs: serde-pickle reserves room for 128 values at each (~5 KB per byte of file).
    assert_refused("data_batch_3", &pickle(&[b'('; 100_000]), "100 levels deep");
    // 99 levels pass the scan (and are then not a batch).
    let shallow = [vec![b'N'], vec![0x85; 98]].concat();
    let message = add_error("data_batch_4", &pickle(&shallow)).to_string();
    assert_eq!(
        message,
        "data_batch_4: expected a CIFAR-10 batch (a dict with b'data' and b'labels'), found a tuple instead of a dict"
    );
}

#[test]
fn declared_lengths_past_the_end_of_the_file_are_a_broken_pickle() {
    let cases: [(&[u8], &str); 4] = [
        // BINBYTES of 4,294,967,280 bytes with 10 bytes left
        (
            &[b'B', 0xf0, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "a string at byte 2 declares 4294967280 bytes, but the file ends 11 bytes later",
        ),
        // BINBYTES8 of 2^63 bytes
        (
            &[0x8e, 0, 0, 0, 0, 0, 0, 0, 0x80, 1, 2],
            "a long string at byte 2 declares 9223372036854775808 bytes, but the file ends 3 bytes later",
        ),
        // BINSTRING with a negative length
        (
            &[b'T', 0xff, 0xff, 0xff, 0xff, 1],
            "a string at byte 2 declares a negative length",
        ),
        // FRAME longer than the file
        (
            &[0x95, 0, 0, 0, 1, 0, 0, 0, 0, b'N'],
            "FRAME at byte 2 declares 16777216 bytes, but the file ends 2 bytes later",
        ),
    ];
    for (body, reason) in cases {
        let error = add_error("test_batch", &pickle(body));
        assert_eq!(
            error.to_string(),
            format!("test_batch: expected a readable Python pickle, found a broken one ({reason})")
        );
    }
}

#[test]
fn memo_references_that_expand_exponentially_are_refused() {
    // slot 0 = []; slot i = (slot i-1, slot i-1): 60 levels expand to 2^60 values from 400 bytes.
    let mut body = vec![b']', b'q', 0];
    for level in 1..60u8 {
        body.extend_from_slice(&[b'h', level - 1, b'h', level - 1, 0x86, b'q', level]);
    }
    assert_refused(
        "data_batch_1",
        &pickle(&body),
        "at most 2000000 values once decoded, found 1152921504606846975 (memo entries are copied at every use)",
    );
    // A 1 MiB byte string referenced 100 times expands to 100 MiB.
    let mut body = vec![b'B', 0, 0, 0x10, 0];
    body.extend(vec![7u8; 1 << 20]);
    body.extend_from_slice(b"q\x000(");
    body.extend((0..100).flat_map(|_| [b'h', 0]));
    body.push(b'l');
    assert_refused(
        "data_batch_1",
        &pickle(&body),
        "bytes of strings once decoded, found 104857600",
    );
}

#[test]
fn sets_are_refused_so_nan_never_reaches_serde_pickles_sort() {
    let nan = f64::NAN.to_be_bytes();
    // protocol 4: EMPTY_SET, MARK, three NaN BINFLOATs, ADDITEMS
    let mut body = vec![0x8f, b'('];
    (0..3).for_each(|_| {
        body.push(b'G');
        body.extend_from_slice(&nan);
    });
    body.push(0x90);
    assert_refused("test_batch", &pickle(&body), "no sets");
    // protocol 2: builtins.set([nan, 1.0, nan]) through GLOBAL and REDUCE, the global memoized as cPickle does
    let mut body = b"c__builtin__\nset\nq\x00(G".to_vec();
    body.extend_from_slice(&nan);
    body.push(b'G');
    body.extend_from_slice(&1.0f64.to_be_bytes());
    body.push(b'G');
    body.extend_from_slice(&nan);
    body.extend_from_slice(b"l\x85R");
    assert_refused("test_batch", &pickle(&body), "a set at byte");
    // frozenset named through STACK_GLOBAL with memoized names, as Python 3 writes it
    let body = b"\x8c\x08builtins\x94\x8c\x09frozenset\x94\x93\x94]\x85R";
    assert_refused("test_batch", &pickle(body), "no sets");
}

#[test]
fn dup_numbers_of_absurd_length_and_self_reference_are_refused() {
    assert_refused("data_batch_1", &pickle(b"N2"), "no DUP opcode");
    let long = [b"L".to_vec(), vec![b'9'; 100_000], b"L\n".to_vec()].concat();
    assert_refused(
        "data_batch_1",
        &pickle(&long),
        "numbers of at most 64 digits or bytes, found one of 100001 at byte 2",
    );
    let mut long4 = vec![0x8b, 0, 1, 0, 0];
    long4.extend(vec![0xff; 256]);
    assert_refused("data_batch_1", &pickle(&long4), "one of 256 at byte 2");
    // a list appended into itself
    assert_refused(
        "data_batch_1",
        &pickle(b"]q\x00h\x00a"),
        "a value that does not contain itself",
    );
}

#[test]
fn real_batches_pass_the_scan() {
    let dataset = synthetic(&SyntheticConfig {
        seed: 3,
        train_size: 50,
        test_size: 20,
    });
    let mut builder = DatasetBuilder::new();
    let train = write_pickle_batch(&dataset.train, "training batch 1 of 1");
    let test = write_pickle_batch(&dataset.test, "testing batch 1 of 1");
    assert_eq!(
        builder.add_file("data_batch_1", &train).map(|s| s.batches[0].images),
        Ok(50)
    );
    assert_eq!(
        builder.add_file("test_batch", &test).map(|s| s.batches[0].images),
        Ok(20)
    );
}
