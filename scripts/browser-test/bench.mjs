// How long a report takes to open in headless Chromium: from navigation
// start until every view is drawn and painted (PS.ready, then two animation
// frames), then how long a selection and a colouring take to redraw the
// views drawn. `node bench.mjs REPORT.html [RUNS]` prints each run and the medians.
import { chromium } from 'playwright-core';
import path from 'node:path';

const file = path.resolve(process.argv[2]);
const runs = Number(process.argv[3] || 5);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'] });
const times = [], selects = [], colours = [];
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
  // Then two interactions on the views drawn: select half of the trials
  // (what a brush does), and colour every view by the first parameter.
  const act = await page.evaluate(() => {
    const t0 = performance.now();
    PS.select(PS.trials.filter((t, i) => i % 2 === 0).map((t) => t.n), null);
    const t1 = performance.now();
    PS.colorBy = PS.paramNames()[0];
    PS.rerender();
    return { select: t1 - t0, colour: performance.now() - t1, drawn: PS.views.filter((v) => v.drawn).length };
  });
  selects.push(act.select); colours.push(act.colour);
  console.log(`run ${i + 1}: ${r.trials} trials, opened and painted in ${Math.round(r.painted)} ms (HTML parsed ${Math.round(r.dom)} ms, views drawn in ${Math.round(r.script)} ms); selecting half redraws ${act.drawn} views in ${Math.round(act.select)} ms, colouring by a parameter in ${Math.round(act.colour)} ms`);
  times.push(r.painted);
  await context.close();
}
const median = (xs) => Math.round(xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
console.log(`median of ${runs}: opened in ${median(times)} ms, a selection in ${median(selects)} ms, a colouring in ${median(colours)} ms`);
await browser.close();
