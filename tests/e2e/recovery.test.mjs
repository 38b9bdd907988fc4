// A dead worker is not a dead page: a training worker is made to trap mid-run (the test-only `trap` request,
// sent from inside the worker as if it were a message of the page; a panic, or the allocator's out-of-memory
// abort), and the page must say what happened, start new workers, restore the loaded data and the
// configuration, and resume the run from its snapshot. With one worker and with two (data-parallel). And a worker
// made to hang (an endless loop: no trap, no answer): the page's watchdog reports it and offers the same recovery.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { drop, file, launch, ready, screenshotDir, stepCount, url, waitForStep, watch } from './support.mjs';

// A small CNN on the dropped CIFAR-format files (1000 training images), evaluated every 20 steps.
const QUERY = '?model=small-cnn&opt=adam&lr=0.001&batch=20&steps=4000&eval=20&seed=3';

let browser;
let page;
const problems = [];
// The live workers in the order they started: the main one first, then the helpers.
const workers = [];

before(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // The trapped worker's panic message is logged by its panic hook, as a real panic would be.
  watch(page, problems, /told to trap|panicked at|RuntimeError/);
  page.on('worker', (worker) => {
    workers.push(worker);
    worker.on('close', () => workers.splice(workers.indexOf(worker), 1));
  });
  await page.goto(new URL(QUERY, url).href);
  await ready(page);
  await drop(page, [file('data_batch_1.bin', 'bin/data_batch_1.bin'), file('test_batch.bin', 'bin/test_batch.bin')]);
  await page.waitForFunction(() => document.querySelector('#dataset-name').textContent === 'CIFAR-10', null, {
    timeout: 60_000,
  });
});

after(async () => {
  if (page) await page.screenshot({ path: `${screenshotDir}/recovery.png`, fullPage: true });
  await browser?.close();
});

// Waits until `condition()` holds (checked every 100 ms), for at most 30 s.
async function until(condition, what) {
  const end = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > end) assert.fail(`timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Runs until the page kept a snapshot, then makes `worker` trap mid-run; returns the snapshot's step.
async function killMidRun(index, kind) {
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForFunction(() => /step \d+/.test(document.querySelector('#snapshot-status').textContent), null, {
    timeout: 90_000,
  });
  const snapshot = Number((await page.textContent('#snapshot-status')).match(/step (\d+)/)[1]);
  assert.ok(!(await page.isDisabled('#pause')), 'training is running when the worker dies');
  const victim = workers[index];
  await victim.evaluate((kind) => {
    // Between two of the page's messages, as the page's own request would arrive.
    setTimeout(() => self.onmessage({ data: { id: -1, request: { type: 'trap', kind } } }), 0);
  }, kind);
  return snapshot;
}

async function expectRecovery(who, cause, snapshotAtLeast) {
  await page.waitForFunction(() => document.querySelector('#recovery-message').textContent.includes('again'), null, {
    timeout: 90_000,
  });
  const message = await page.textContent('#recovery-message');
  assert.match(message, new RegExp(`^${who} stopped: `), message);
  assert.match(message, cause, message);
  assert.match(message, /A new worker holds your data and configuration again\. The run can resume from its snapshot at step (\d+)\./);
  const step = Number(message.match(/snapshot at step (\d+)/)[1]);
  assert.ok(step >= snapshotAtLeast, `the latest snapshot (${step} ≥ ${snapshotAtLeast})`);
  // The data and the configuration are back.
  assert.equal(await page.textContent('#dataset-name'), 'CIFAR-10');
  assert.equal(Number(await page.textContent('#train-count')), 1000);
  assert.equal(await page.inputValue('#model'), 'small-cnn');
  assert.match(page.url(), /model=small-cnn/);
  assert.match(page.url(), /batch=20/);
  assert.equal(await page.textContent('#status'), 'Ready.');
  return step;
}

async function resumeAndTrain(step) {
  await page.getByRole('button', { name: `Resume from step ${step}` }).click();
  await waitForStep(page, `n === ${step}`);
  assert.match(await page.textContent('#recovery-message'), new RegExp(`Resumed from the snapshot at step ${step}`));
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await waitForStep(page, `n >= ${step + 5}`);
  await page.getByRole('button', { name: 'Pause' }).click();
  assert.ok((await stepCount(page)) > step, 'training continues after the recovery');
}

test('one worker: a panic mid-run is reported, the worker replaced, data and configuration restored, the run resumed', async () => {
  assert.equal(workers.length, 1);
  const snapshot = await killMidRun(0, 'panic');
  const step = await expectRecovery('The training worker', /told to trap \(Panic\)/, snapshot);
  await page.screenshot({ path: `${screenshotDir}/recovery-offer.png` });
  assert.equal(workers.length, 1, 'one new worker');
  await resumeAndTrain(step);
});

test('one worker: a worker stuck in an endless loop is reported by the watchdog, restarted on request, and the run resumed', async () => {
  assert.equal(workers.length, 1);
  // The page waits 90 s (more on a machine where replies were slower) before it calls a silent worker stuck;
  // the test's hook shortens the base (the slowest answer seen still raises it: no false alarm on a slow machine).
  await page.evaluate(() => {
    globalThis.backpropLabHangMs = 3000;
  });
  const hung = workers[0];
  const snapshot = await killMidRun(0, 'hang');
  await page.waitForFunction(() => /has not answered/.test(document.querySelector('#recovery-message').textContent), null, {
    timeout: 90_000,
  });
  const notice = await page.textContent('#recovery-message');
  assert.match(
    notice,
    /^The training worker has not answered the page's [a-z-]+ request for \d+ s: it may be stuck in an endless loop, or still busy/,
    notice,
  );
  // Stuck: no step comes back while the notice is up.
  const stuckAt = await stepCount(page);
  await page.waitForTimeout(1000);
  assert.equal(await stepCount(page), stuckAt, 'no step while the worker is stuck');
  await page.locator('#restart-worker').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${screenshotDir}/recovery-hang.png` });
  await page.getByRole('button', { name: 'Restart the worker' }).click();
  const step = await expectRecovery(
    'The training worker',
    /it had not answered the page's [a-z-]+ request for \d+ s and was restarted/,
    snapshot,
  );
  // A worker stopped in the middle of a loop closes a little later than one that trapped.
  await until(() => workers.length === 1 && workers[0] !== hung, () => `the stuck worker stopped, one new one (${workers.length})`);
  assert.ok(await page.isHidden('#restart-worker'));
  await page.evaluate(() => {
    delete globalThis.backpropLabHangMs;
  });
  await resumeAndTrain(step);
});

test('two workers: a helper running out of memory mid-run takes both down, and both come back', async () => {
  await page.selectOption('#workers', '2');
  await page.waitForFunction(() => document.querySelector('#train-status').textContent.startsWith('2 workers ready'), null, {
    timeout: 90_000,
  });
  assert.equal(workers.length, 2);
  const snapshot = await killMidRun(1, 'out-of-memory');
  const step = await expectRecovery('Helper worker 1', /RuntimeError: unreachable/, snapshot);
  assert.equal(workers.length, 2, 'both workers started again');
  assert.equal(await page.inputValue('#workers'), '2');
  await resumeAndTrain(step);
  assert.deepEqual(problems, []);
});
