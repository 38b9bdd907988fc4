// Hostile input shown as text, and the page's Content-Security-Policy: only the page's own scripts and
// WebAssembly run (no inline script, no eval), and nothing the page does while loading data and training
// violates the policy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { drop, file, launch, ready, recordViolations, screenshotDir, url, violations, waitForStep, watch } from './support.mjs';

// Ten class names a crafted batches.meta.txt could carry: markup, script, entities, quotes.
const NAMES = [
  '<script>window.__pwned = 1</script>',
  '<img src=x onerror="window.__pwned = 2">',
  '<b>bold</b>',
  'Tom &amp; Jerry',
  '"quoted" \'too\'',
  '<a href="javascript:window.__pwned=3">link</a>',
  'dog',
  'frog',
  'horse',
  '<style>body{display:none}</style>',
];
// What markup in those names would add to the page if it were parsed.
const INJECTED = '#lab script, #lab img, #lab b, #lab a[href^="javascript"], #lab style, #data-message img';

let browser;
let page;
const problems = [];

before(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page, problems);
  await page.addInitScript(recordViolations);
  await page.goto(url);
  await ready(page);
});

after(async () => {
  if (page) await page.screenshot({ path: `${screenshotDir}/hostile-names.png`, fullPage: true });
  await browser?.close();
});

test('the page sets a Content-Security-Policy: its own scripts and WebAssembly only, no inline script, no eval', async () => {
  const policy = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
  assert.match(policy, /(^|; )script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  assert.match(policy, /(^|; )default-src 'self'(;|$)/);
  assert.doesNotMatch(policy, /'unsafe-eval'|\*|https?:/);
  // Inline code nowhere; only style attributes (the chart library measures text in a styled span).
  assert.deepEqual(policy.match(/[^;]*'unsafe-inline'[^;]*/g), [" style-src-attr 'unsafe-inline'"]);
  const scripts = await page.$$eval('script', (all) => all.map((script) => ({ src: script.src, inline: script.textContent.trim() })));
  assert.ok(scripts.length > 0);
  for (const script of scripts) {
    assert.ok(script.src.startsWith(new URL(url).origin), `a script of the page's own: ${JSON.stringify(script)}`);
    assert.equal(script.inline, '', 'no inline code');
  }
  assert.deepEqual(await violations(page), [], 'loading the page violates nothing');
});

test('class names with markup and script from a dropped batches.meta.txt are shown as text; no policy violation while loading and training', async () => {
  const meta = Buffer.from(`${NAMES.join('\n')}\n`);
  await drop(page, [
    file('data_batch_1.bin', 'bin/data_batch_1.bin'),
    file('test_batch.bin', 'bin/test_batch.bin'),
    { name: 'batches.meta.txt', bytes: meta },
  ]);
  await page.waitForFunction(() => document.querySelector('#dataset-name').textContent === 'CIFAR-10', null, {
    timeout: 60_000,
  });
  const shown = await page.$$eval('#class-rows th', (cells) => cells.map((cell) => cell.textContent));
  assert.deepEqual(shown, NAMES, 'every name exactly as written, as text');

  // Train, check gradients, look inside a layer and at the results: every view that shows class names.
  await page.click('#step10');
  await waitForStep(page, 'n === 10');
  await page.click('#check-gradients');
  await page.waitForFunction(() => / gradient checks passed/.test(document.querySelector('#gradcheck-summary').textContent), null, {
    timeout: 120_000,
  });
  await page.locator('#layers button').first().click();
  await page.waitForFunction(() => !document.querySelector('#inspector').hidden);
  await page.click('#show-results');
  await page.waitForFunction(() => document.querySelector('#results-summary').textContent.startsWith('Test accuracy'), null, {
    timeout: 60_000,
  });
  const header = await page.$$eval('#confusion tr:first-child th', (cells) => cells.map((cell) => cell.textContent));
  assert.deepEqual(header.slice(1, 11), NAMES, 'the confusion matrix names the classes as text');

  assert.equal(await page.locator(INJECTED).count(), 0, 'no element came from a class name');
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script from a class name ran');
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).display), 'block');
  assert.deepEqual(await violations(page), [], 'loading data and training violate nothing');
});

test('a file name with markup is shown as text in the error about it', async () => {
  const name = '<img src=x onerror="window.__pwned = 4">.bin';
  await drop(page, [{ name, bytes: Buffer.alloc(5000, 7) }]);
  await page.waitForFunction(() => document.querySelector('#data-message').textContent.includes('kept'));
  assert.ok((await page.textContent('#data-message')).includes(name), 'the name as written');
  assert.equal(await page.locator(INJECTED).count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
});

test('the policy is enforced: string code, inline scripts, inline handlers and foreign scripts are refused and reported', async () => {
  await page.evaluate(() => {
    setTimeout('window.__pwned = 5'); // a string evaluated as code, as eval would
    const inline = document.createElement('script');
    inline.textContent = 'window.__pwned = 6';
    document.body.append(inline);
    const foreign = document.createElement('script');
    foreign.src = 'data:text/javascript,window.__pwned = 7';
    document.body.append(foreign);
    document.body.setAttribute('onclick', 'window.__pwned = 8');
    document.body.click();
  });
  await page.waitForFunction(() => window.__violations.length >= 4);
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  const reported = await violations(page);
  for (const directive of ['script-src', 'script-src-elem', 'script-src-attr']) {
    assert.ok(reported.some((v) => v.startsWith(`${directive}:`)), `${directive} refused something: ${reported.join('\n')}`);
  }
  assert.ok(reported.some((v) => v.includes('eval')), `string code refused: ${reported.join('\n')}`);
  // Those refusals are the browser's console errors, expected here; nothing else went wrong.
  assert.deepEqual(problems.filter((p) => !/Content Security Policy/.test(p)), []);
});
