#!/usr/bin/env node
// Measures the page's start-up (not a test: a measurement for BENCHMARKS.md). Serve release builds first (any
// static server on dist/, or on two copies of dist/ to compare two builds), then
// `node scripts/measure-startup.mjs ROUNDS URL [URL…]`. Each round loads every address once, in turn, each in a
// fresh headless Chromium (nothing cached), so all builds see the same minutes of the machine's load. Per load:
// Step enabled after the module started (`#status`'s data-interactive-ms), the page's main thread next free after
// that (tests/e2e/support.mjs's recordAnswered), and both from the navigation.
import { loadavg } from 'node:os';
import { launch, recordAnswered } from '../tests/e2e/support.mjs';

const [rounds = '5', ...urls] = process.argv.slice(2);
if (urls.length === 0) throw new Error('usage: node scripts/measure-startup.mjs ROUNDS URL [URL…]');
const loads = Object.fromEntries(urls.map((address) => [address, []]));
console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (let round = 0; round < Number(rounds); round++) {
  for (const address of urls) {
    const browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript(recordAnswered);
    await page.goto(address);
    await page.waitForFunction(() => window.__answered !== undefined, null, { timeout: 60_000 });
    const { ready, answered } = await page.evaluate(() => window.__answered);
    const interactive = Number(await page.getAttribute('#status', 'data-interactive-ms'));
    // A build from before data-module-started-ms: the module started `interactive` ms before Ready.
    const attribute = await page.getAttribute('#status', 'data-module-started-ms');
    const started = attribute === null ? ready - interactive : Number(attribute);
    loads[address].push({ interactive, answered: answered - started, started, navigation: answered });
    console.log(`${address} round ${round + 1}: Step enabled ${interactive} ms and the page answering ${
      (answered - started).toFixed(0)} ms after the module started; module started ${started.toFixed(0)} ms, page answering ${
      answered.toFixed(0)} ms after navigation`);
    await browser.close();
  }
}
const spread = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[0].toFixed(0)} / ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} / ${sorted.at(-1).toFixed(0)}`;
};
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('min / median / max, ms: Step enabled | page answering (after the module started) | module started | page answering (after navigation)');
for (const address of urls) {
  const all = loads[address];
  console.log(`${address} (${all.length} loads): ${['interactive', 'answered', 'started', 'navigation']
    .map((key) => spread(all.map((load) => load[key]))).join(' | ')}`);
}
