// The npm package (`wasm-pack build --target web --out-dir pkg`) in Node: imported as a user would, driven only
// through its documented JavaScript API (`Lab`), training a few steps of a small MLP on the built-in data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import init, { Lab } from '../../pkg/backprop_lab.js';

await init({ module_or_path: await readFile(new URL('../../pkg/backprop_lab_bg.wasm', import.meta.url)) });

const QUERY = 'model=mlp&hidden=32&act=elu&norm=batch-norm&opt=adam&lr=0.001&batch=50&steps=20&eval=10&seed=3';

test('the package trains a few steps through its API and records the curves', () => {
  const lab = new Lab();
  const state = lab.configure(QUERY);
  assert.equal(state.type, 'state');
  assert.equal(state.config.batch_size, 50);
  assert.deepEqual(state.layers.map((layer) => layer.name.split('(')[0]), ['Linear', 'BatchNorm1d', 'ELU', 'Linear']);

  const first = lab.step(10);
  assert.equal(first.type, 'progress');
  assert.equal(first.steps_done, 10);
  assert.equal(first.batches.length, 10);
  assert.ok(first.batches.every((batch) => Number.isFinite(batch.loss)), 'finite batch losses');
  const rest = lab.step(100);
  assert.equal(rest.steps_done, 20, 'steps stop at the configured total');
  assert.equal(rest.finished, true);

  const curves = lab.curves();
  assert.deepEqual(curves.map((point) => point.step), [10, 20], 'the whole test set every 10 steps');
  assert.ok(curves.every((point) => point.test_accuracy >= 0 && point.test_accuracy <= 1));
  // Adam on the generated data: the mean training loss falls from the first point to the second.
  assert.ok(curves[1].train_loss < curves[0].train_loss, JSON.stringify(curves));

  const evaluation = lab.evaluate();
  assert.equal(evaluation.accuracy, curves[1].test_accuracy, 'evaluating now gives the last point');
});

test('the same configuration gives the same numbers, and reset starts over', () => {
  const losses = () => {
    const lab = new Lab();
    lab.configure(QUERY);
    return lab.step(5).batches.map((batch) => batch.loss);
  };
  assert.deepEqual(losses(), losses());
  const lab = new Lab();
  lab.configure(QUERY);
  const before = lab.step(3).batches[0].loss;
  assert.equal(lab.reset().steps_done, 0);
  assert.equal(lab.step(1).batches[0].loss, before);
});

test('checkGradients passes on the current model', () => {
  const lab = new Lab();
  lab.configure(QUERY);
  lab.step(2);
  const check = lab.checkGradients();
  assert.equal(check.type, 'gradients');
  assert.ok(check.rows.length >= 7, `a row per tensor: ${check.rows.length}`);
  for (const row of check.rows) assert.ok(row.passed, JSON.stringify(row));
});

test('bad input throws an Error that says what was expected', () => {
  const lab = new Lab();
  assert.throws(() => lab.configure('lr=banana'), /lr: expected a learning rate such as 0\.001, found `banana`/);
  assert.throws(
    () => lab.loadData([{ name: 'notes.txt', bytes: new TextEncoder().encode('not a batch') }]),
    /notes\.txt: expected/,
  );
  assert.equal(lab.state().data.name.startsWith('synthetic'), true, 'the data loaded before is kept');
});
