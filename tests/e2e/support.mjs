// What the end-to-end tests share: the browser, the page's problems
// (console errors, failed requests, CSP violations), dropping files as a person would, and waiting for the
// page. Not a test file itself (node --test runs only *.test.mjs).
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const url = process.env.LAB_URL ?? 'http://127.0.0.1:8080/';
export const data = process.env.LAB_DATA ?? new URL('../../target/e2e/data/', import.meta.url).pathname;
export const screenshotDir = new URL('../../target/e2e/', import.meta.url).pathname;

// `args`: Chromium's extra flags (tests/e2e/webgpu.test.mjs turns WebGPU on).
export async function launch(args = []) {
  mkdirSync(screenshotDir, { recursive: true });
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args });
}

// Records the page's problems into `problems`; console errors matching `expected` are allowed.
export function watch(page, problems, expected = /$^/) {
  page.on('console', (message) => {
    if (message.type() === 'error' && !expected.test(message.text())) problems.push(`console.error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
}

// Every Content-Security-Policy violation the page reports, from the start (read with `violations(page)`).
export const recordViolations = () => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (event) =>
    window.__violations.push(`${event.violatedDirective}: ${event.blockedURI || event.sample}`));
};
export const violations = (page) => page.evaluate(() => window.__violations);

export async function ready(page) {
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Ready.', null, {
    timeout: 60_000,
  });
}

export const file = (name, path = name) => ({ name, bytes: readFileSync(`${data}/${path}`) });

// Drops files onto the drop zone (the data's unless `zone` says another) as a person dragging them from the
// desktop would.
export async function drop(page, files, zone = '#drop-zone') {
  const payload = files.map(({ name, bytes }) => ({ name, data: Buffer.from(bytes).toString('base64') }));
  const transfer = await page.evaluateHandle((payload) => {
    const transfer = new DataTransfer();
    for (const { name, data } of payload) {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], name));
    }
    return transfer;
  }, payload);
  await page.dispatchEvent(zone, 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent(zone, 'drop', { dataTransfer: transfer });
}

export const stepCount = async (page) => Number(await page.textContent('#step-counter'));

// Polls the step counter; the predicate runs here in Node (the page's Content-Security-Policy refuses eval).
export async function waitForStep(page, predicate, timeout = 90_000) {
  const holds = new Function('n', `return ${predicate}`);
  const deadline = Date.now() + timeout;
  while (!holds(await stepCount(page))) {
    if (Date.now() > deadline) throw new Error(`the step counter: expected ${predicate} within ${timeout} ms, found ${await stepCount(page)}`);
    await page.waitForTimeout(50);
  }
}

// When the page became interactive and when its main thread was next free (an init script): once `#status`
// says the time to interactive, a zero-delay timer notes when it runs, after whatever the page queued before it.
export const recordAnswered = () => {
  new MutationObserver((records, observer) => {
    if (!document.getElementById('status')?.hasAttribute('data-interactive-ms')) return;
    observer.disconnect();
    const ready = performance.now();
    setTimeout(() => { window.__answered = { ready, answered: performance.now() }; }, 0);
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-interactive-ms'] });
};

// Long main-thread tasks, recorded from the start (the browser reports those over 50 ms); an init script.
export const recordLongTasks = () => {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
};

// An init script: the page's engine as one without relaxed SIMD, whose WebAssembly.validate refuses a module
// using f32x4.relaxed_madd (0xfd 0x85 0x02); www/simd-builds.js then picks the SIMD128 module. It reaches the
// page only (workers and service workers have no init scripts): the page tells its workers its choice.
export const withoutRelaxedSimd = () => {
  const validate = WebAssembly.validate.bind(WebAssembly);
  WebAssembly.validate = (source, ...rest) => {
    const bytes = ArrayBuffer.isView(source)
      ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
      : new Uint8Array(source);
    for (let i = 0; i + 2 < bytes.length; i++) {
      if (bytes[i] === 0xfd && bytes[i + 1] === 0x85 && bytes[i + 2] === 0x02) return false;
    }
    return validate(source, ...rest);
  };
};
