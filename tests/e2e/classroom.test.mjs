// End-to-end tests of the one-screen classroom view (www/style.css, src/web/classroom.rs): at 1920×1080 (a
// projector) and 1366×768 (a laptop), with and without Large type, data, model diagram, training controls,
// curves and the latest gradient check are on the screen without scrolling, and the other views open beside
// them. Leaves screenshots in target/e2e/ (classroom-*.png). Every wait is on a condition, not a sleep: it holds
// on machines several times faster or slower than the one it was written on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, ready, recordLongTasks, screenshotDir, url, waitForStep, watch } from './support.mjs';

// The README screenshot's configuration: the course's MLP, long enough never to end during a test.
const mlp = 'model=mlp&hidden=100&act=elu&norm=none&opt=sgd&lr=0.001&batch=200&steps=5000&eval=50&seed=42';
// The course's ConvNet: the longest model diagram. The small CNN: convolutions that answer fast.
const convnet = 'model=convnet&opt=adam&lr=0.001&batch=8&steps=5000&eval=50&seed=2';
const smallCnn = 'model=small-cnn&opt=adam&lr=0.001&batch=8&steps=5000&eval=50&seed=2';

let browser;
const problems = [];

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
  assert.deepEqual(problems, [], 'no console errors, failed requests or uncaught exceptions');
});

async function open(viewport, query, { large = false } = {}) {
  const page = await browser.newPage({ viewport });
  watch(page, problems);
  await page.addInitScript(recordLongTasks);
  await page.goto(`${url}?${query}`);
  await ready(page);
  if (large) await page.getByLabel('Large type').check();
  assert.equal(await page.getByLabel(/Classroom view/).isChecked(), true, 'the classroom view is on by default');
  return page;
}

// Where `locator`'s element lies outside what the screen shows: beyond the viewport, or cut off by a panel
// that scrolls (an ancestor with overflow other than visible). An empty list when all of it is on the screen.
function offScreen(locator) {
  return locator.evaluate((element) => {
    const box = element.getBoundingClientRect();
    const problems = [];
    if (box.width === 0 || box.height === 0) problems.push('not shown');
    let clip = { left: 0, top: 0, right: innerWidth, bottom: innerHeight, by: 'the viewport' };
    // (1 px of slack: a panel's clientHeight is rounded to whole pixels, its box is not.)
    const within = (c) => box.left >= c.left - 1 && box.top >= c.top - 1 && box.right <= c.right + 1 && box.bottom <= c.bottom + 1;
    if (!within(clip)) problems.push(`outside the viewport ${innerWidth}×${innerHeight}`);
    for (let parent = element.parentElement; parent; parent = parent.parentElement) {
      const style = getComputedStyle(parent);
      if (style.display === 'contents' || (style.overflowX === 'visible' && style.overflowY === 'visible')) continue;
      const r = parent.getBoundingClientRect();
      clip = { left: r.left, top: r.top, right: r.left + parent.clientWidth, bottom: r.top + parent.clientHeight };
      if (!within(clip)) problems.push(`cut off by its scrolling panel <${parent.tagName.toLowerCase()} ${parent.getAttribute('aria-labelledby') ?? parent.id}>`);
    }
    return problems.map((p) => `${JSON.stringify(box.toJSON())}: ${p}`);
  });
}

async function assertOnScreen(page, regions) {
  const failures = [];
  for (const [name, locator] of Object.entries(regions)) {
    const where = await offScreen(locator.first());
    if (where.length > 0) failures.push(`${name}: ${where.join('; ')}`);
  }
  assert.deepEqual(failures, [], 'every essential region is fully on the screen');
  const page_ = await page.evaluate(() => ({
    scrollHeight: document.documentElement.scrollHeight,
    scrollWidth: document.documentElement.scrollWidth,
    innerHeight,
    innerWidth,
  }));
  assert.ok(page_.scrollHeight <= page_.innerHeight && page_.scrollWidth <= page_.innerWidth,
    `the page itself does not scroll: ${JSON.stringify(page_)}`);
}

// What a lecturer needs on the screen, by visible heading, label or text (the gradient check's digest once a
// check ran).
const essentials = (page, { checked = true } = {}) => ({
  'data heading': page.getByRole('heading', { name: '1 · Data' }),
  'data buttons': page.getByRole('button', { name: 'Use the generated data' }),
  'sample images': page.getByLabel('Sample training images, one row per class'),
  'data set': page.getByText('Training images', { exact: true }),
  'model heading': page.getByRole('heading', { name: '2 · Model' }),
  'model form': page.getByRole('button', { name: 'Apply' }),
  'model diagram': page.getByRole('list', { name: /^Layers of the model/ }),
  'training heading': page.getByRole('heading', { name: '3 · Training' }),
  'Step ×10': page.getByRole('button', { name: 'Step ×10' }),
  Run: page.getByRole('button', { name: 'Run' }),
  Pause: page.getByRole('button', { name: 'Pause' }),
  'step counter': page.locator('#step-counter'),
  'live learning rate': page.getByRole('button', { name: 'Change now' }),
  curves: page.getByLabel(/Loss and accuracy curves/),
  'series switches': page.getByRole('group', { name: 'Show' }),
  'gradient check heading': page.getByRole('heading', { name: '4 · Gradient check' }),
  'Check gradients': page.getByRole('button', { name: 'Check gradients' }),
  ...(checked ? {
    'gradient check summary': page.getByText(/^\d+ of \d+ gradient checks passed/),
    'closest to failing': page.getByText(/^Closest to failing: /),
  } : {}),
  'Beside the curves': page.getByRole('group', { name: 'Beside the curves' }),
});

async function trainAndCheck(page) {
  await page.getByRole('button', { name: 'Step ×10' }).click();
  await waitForStep(page, 'n >= 10');
  await page.getByRole('button', { name: 'Check gradients' }).click();
  await page.getByText(/^\d+ of \d+ gradient checks passed/).waitFor({ timeout: 90_000 });
}

for (const viewport of [{ width: 1920, height: 1080 }, { width: 1366, height: 768 }]) {
  for (const large of [false, true]) {
    const name = `${viewport.width}x${viewport.height}${large ? '-large' : ''}`;
    test(`at ${viewport.width}×${viewport.height}${large ? ' in Large type' : ''}, data, model, controls, curves and the gradient check fit one screen`, async () => {
      const page = await open(viewport, mlp, { large });
      await trainAndCheck(page);
      await page.screenshot({ path: `${screenshotDir}/classroom-${name}.png` });
      // The curves fill the space the layout gives them, drawn at that size (legible, not scaled down).
      const chart = await page.getByLabel(/Loss and accuracy curves/).evaluate((c) => ({
        width: c.width, height: c.height, shownWidth: c.clientWidth, shownHeight: c.clientHeight,
      }));
      assert.equal(chart.width, chart.shownWidth, `the chart is drawn at its shown size: ${JSON.stringify(chart)}`);
      assert.equal(chart.height, chart.shownHeight, `the chart is drawn at its shown size: ${JSON.stringify(chart)}`);
      assert.ok(chart.shownHeight >= 0.2 * viewport.height, `the chart is not squeezed: ${JSON.stringify(chart)}`);
      const regions = { ...essentials(page), 'the lesson beside': page.getByRole('heading', { name: 'Lessons' }) };
      // Large type on a laptop: everything but the model diagram is on the screen; the diagram is one scroll of
      // its own panel away (the page itself never scrolls).
      const scrolled = large && viewport.height < 1000 ? ['model diagram'] : [];
      await assertOnScreen(page, Object.fromEntries(Object.entries(regions).filter(([key]) => !scrolled.includes(key))));
      for (const key of scrolled) {
        await regions[key].scrollIntoViewIfNeeded();
        await assertOnScreen(page, { [key]: regions[key] });
      }
      await page.close();
    });
  }
}

test('the README screenshot: the classroom view at 1920×1080 after 300 steps and a gradient check', async () => {
  const page = await open({ width: 1920, height: 1080 }, mlp.replace('steps=5000', 'steps=300'));
  await page.getByRole('button', { name: 'Run' }).click();
  await page.getByText(/^Step 300 of 300: .*Finished\.$/).first().waitFor({ timeout: 180_000 });
  await page.getByRole('button', { name: 'Check gradients' }).click();
  await page.getByText(/^\d+ of \d+ gradient checks passed/).waitFor({ timeout: 90_000 });
  // (docs/lab.png is a copy of this one.)
  await page.screenshot({ path: `${screenshotDir}/classroom-readme.png` });
  await assertOnScreen(page, essentials(page));
  await page.close();
});

test('the gradient table and a layer clicked in the diagram open beside the curves, also by keyboard', async () => {
  const viewport = { width: 1366, height: 768 };
  const page = await open(viewport, mlp);
  await trainAndCheck(page);
  await page.getByRole('button', { name: 'Show the table beside' }).click();
  assert.equal(await page.getByRole('radio', { name: 'Gradient table' }).isChecked(), true);
  const table = page.getByRole('table', { name: 'Gradient check, tensor by tensor' });
  await assertOnScreen(page, { ...essentials(page), 'gradient table': table });
  assert.ok(await table.locator('tbody tr').count() >= 5, 'one row per checked tensor');
  assert.equal(await page.getByRole('heading', { name: 'Lessons' }).isVisible(), false, 'one view beside at a time');
  await page.screenshot({ path: `${screenshotDir}/classroom-gradient-table.png` });

  // A click on a layer opens it beside the curves.
  await page.getByRole('button', { name: /^Linear\(3072→100\)/ }).click();
  await page.getByText('Layer 0: Linear(3072→100)', { exact: true }).waitFor();
  assert.equal(await page.getByRole('radio', { name: 'Inside a layer' }).isChecked(), true);
  await assertOnScreen(page, {
    ...essentials(page),
    'inside a layer': page.getByRole('heading', { name: '5 · Inside a layer' }),
    'the layer': page.getByRole('heading', { name: 'Layer 0: Linear(3072→100)' }),
  });
  assert.equal(await table.isVisible(), false, 'the table made way for the layer');
  // The keyboard reaches the next layer and opens it the same way.
  await page.getByRole('radio', { name: 'Lessons' }).check();
  await page.getByRole('button', { name: /^Linear\(3072→100\)/ }).focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.getByText('Layer 1: ELU', { exact: true }).waitFor();
  assert.equal(await page.getByRole('radio', { name: 'Inside a layer' }).isChecked(), true);
  await assertOnScreen(page, { 'the layer': page.getByRole('heading', { name: 'Layer 1: ELU' }) });
  await page.screenshot({ path: `${screenshotDir}/classroom-layer.png` });
  await page.close();
});

// How many different colours a canvas holds (a blank or flat canvas has one or two).
const colours = (locator) =>
  locator.evaluate((canvas) => {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set();
    for (let i = 0; i < pixels.length; i += 4) seen.add(pixels[i] * 65536 + pixels[i + 1] * 256 + pixels[i + 2]);
    return seen.size;
  });

test('a convolution clicked in the diagram shows its feature maps and kernels beside the curves', async () => {
  const page = await open({ width: 1366, height: 768 }, smallCnn);
  const diagram = page.getByRole('list', { name: /^Layers of the model/ });
  await diagram.getByRole('button', { name: /^Conv2d/ }).first().click();
  await page.getByText(/^Its output for test image 0 \(a [a-z ]+, predicted [a-z ]+\) after 0 steps/).waitFor();
  await page.locator('#inspector').getByText(/^Layer 0: Conv2d.*: rows are output channels/).waitFor();
  assert.equal(await page.getByRole('radio', { name: 'Inside a layer' }).isChecked(), true);
  const maps = page.getByLabel(/^Output of Layer 0: Conv2d/);
  const kernels = page.getByLabel('Kernels of this layer');
  assert.ok(await colours(maps) > 10, 'feature maps, not a flat canvas');
  assert.ok(await colours(kernels) > 10, 'kernels in many shades');
  await assertOnScreen(page, {
    ...essentials(page, { checked: false }),
    'the layer': page.getByRole('heading', { name: /^Layer 0: Conv2d/ }),
    'its feature maps': page.locator('#inspect-activations figure'),
    'its kernels': page.getByRole('heading', { name: 'Its kernels' }),
  });
  await page.screenshot({ path: `${screenshotDir}/classroom-convolution.png` });
  // A layer without kernels (the next one, reached with the keyboard) shows its output only.
  await diagram.getByRole('button', { name: /^Conv2d/ }).first().focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: /^Layer 1: / }).waitFor();
  await page.getByLabel(/^Output of Layer 1: /).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Its kernels' }).isVisible(), false);
  await page.close();
});

test("the course ConvNet's whole diagram fits beside its data on a laptop screen", async () => {
  const page = await open({ width: 1366, height: 768 }, convnet);
  await page.screenshot({ path: `${screenshotDir}/classroom-convnet-1366x768.png` });
  const layers = page.getByRole('list', { name: /^Layers of the model/ }).getByRole('button');
  assert.ok(await layers.count() >= 10, 'the ConvNet has many layers');
  await assertOnScreen(page, {
    ...essentials(page, { checked: false }),
    'last layer': layers.last(),
  });
  await page.close();
});

// What "Inside a layer" shows: the step its output's caption names, its tensors' numbers (mean, std, … of the
// current batch) and every picture (the layer's output for the followed image, a histogram per tensor).
const inspectorPicture = (page) =>
  page.locator('#inspector').evaluate((inspector) => ({
    step: Number(inspector.querySelector('#inspect-activations-caption').textContent.match(/after (\d+) steps/)?.[1]),
    numbers: [...inspector.querySelectorAll('#inspect-tensors figcaption')].map((c) => c.textContent).join('\n'),
    pixels: [...inspector.querySelectorAll('canvas')].map((c) => c.toDataURL()).join(''),
  }));

test('"Inside a layer" beside the curves follows the training: its pictures change while a run trains', async () => {
  // 100,000 steps: still running whenever the assertions look, on a machine many times faster than this one
  const page = await open({ width: 1366, height: 768 }, mlp.replace('steps=5000', 'steps=100000'));
  await page.getByRole('button', { name: /^Linear\(3072→100\)/ }).click();
  await page.getByText(/^Its output for test image 0 .* after 0 steps/).waitFor();
  await page.locator('#inspect-tensors figcaption').first().waitFor();
  const before = await inspectorPicture(page);
  assert.equal(before.step, 0);
  const started = await page.evaluate(() => performance.now());
  await page.getByRole('button', { name: 'Run' }).click();
  // Refreshed while the run goes on (the page asks at most every 1.5 s and every 40 steps): a later step, other
  // numbers, other pixels, and not only once.
  const changed = async (than) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const now = await inspectorPicture(page);
      if (now.step > than.step && now.numbers !== than.numbers && now.pixels !== than.pixels) return now;
      if (Date.now() > deadline) throw new Error(`"Inside a layer" still shows step ${now.step} (before: ${than.step})`);
      await page.waitForTimeout(100);
    }
  };
  const first = await changed(before);
  assert.equal(await page.getByRole('button', { name: 'Pause' }).isEnabled(), true, 'the run was still training');
  const second = await changed(first);
  assert.equal(await page.getByRole('button', { name: 'Pause' }).isEnabled(), true, 'the run was still training');
  assert.equal(await page.getByRole('radio', { name: 'Inside a layer' }).isChecked(), true);
  const ended = await page.evaluate(() => performance.now());
  const longTasks = await page.evaluate(
    ([from, to]) => window.__longTasks.filter((t) => t.start >= from && t.start <= to),
    [started, ended],
  );
  console.log(`"Inside a layer" refreshed at steps ${first.step} and ${second.step} within ${((ended - started) / 1000).toFixed(1)} s of training; longest main-thread task ${Math.max(0, ...longTasks.map((t) => t.duration))} ms`);
  await page.screenshot({ path: `${screenshotDir}/classroom-layer-live.png` });
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.close();
});
