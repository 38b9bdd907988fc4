//! CIFAR-10 data: parsers, preprocessing, batching and a synthetic generator.
