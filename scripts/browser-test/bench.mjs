// How long a report takes to open in headless Chromium: from navigation
// start until every view is drawn and painted (PS.ready, then two animation
// frames). `node bench.mjs REPORT.html [RUNS]` prints each run and the median.
import { chromium } from 'playwright-core';
import path from 'node:path';

const file = path.resolve(process.argv[2]);
const runs = Number(process.argv[3] || 5);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'] });
const times = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('file://' + file);
  await page.waitForFunction(() => window.PS && window.PS.ready, null, { timeout: 60000 });
  const r = await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done({
    painted: performance.now(), script: PS.startMs, trials: PS.trials.length, errors: PS.errors.length,
    dom: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd
  })))));
  if (errors.length || r.errors) throw new Error('errors while opening: ' + errors.concat(r.errors).join(' | '));
  console.log(`run ${i + 1}: ${r.trials} trials, opened and painted in ${Math.round(r.painted)} ms (HTML parsed ${Math.round(r.dom)} ms, views drawn in ${Math.round(r.script)} ms)`);
  times.push(r.painted);
  await context.close();
}
times.sort((a, b) => a - b);
console.log(`median of ${runs}: ${Math.round(times[Math.floor(runs / 2)])} ms`);
await browser.close();
