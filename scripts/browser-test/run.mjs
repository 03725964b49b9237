// The browser tests of `report` and `serve`: headless Chromium (Debian's
// `chromium`) driven by playwright-core over real studies.
//
//   node run.mjs BIN OUT
//
// BIN is the paretosearch binary, OUT the folder for screenshots (under
// target/). Studies are made in a fresh temporary folder: the 3-objective
// fixture (fixture.toml: objectives spanning decades, a constraint, failures,
// MO-ASHA pruning, 3 workers; one pruned trial given a forecast attribute
// as the pruner writes it), a dozen trials of the quickstart (torch), two ZDT1 studies in one storage (random and
// sobol, for the overlay) and a live ZDT1 study that grows while `serve`
// shows it. Every check throws on failure; the exit status is 1 then.
import { chromium } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [BIN, OUT] = process.argv.slice(2).map((p) => path.resolve(p));
const HERE = path.dirname(fileURLToPath(import.meta.url));
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-browser-'));
fs.mkdirSync(OUT, { recursive: true });
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let failures = 0, checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) { failures++; console.log('FAIL ' + what); } else console.log('ok   ' + what);
}
function ps(args, cwd) {
  return execFileSync(BIN, args, { cwd: cwd || TMP, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// ---------- the studies ----------
function zdt1(name, sampler, trials, storage) {
  const p = path.join(TMP, name + '.toml');
  const xs = Array.from({ length: 10 }, (_, i) => `x${i} = { type = "float", low = 0.0, high = 1.0 }`).join('\n');
  fs.writeFileSync(p, `[study]\nname = "${name}"\nseed = 5\nstorage = "${storage}"\n\n[[objectives]]\nname = "f1"\ndirection = "minimize"\n\n` +
    `[[objectives]]\nname = "f2"\ndirection = "minimize"\n\n[search_space]\n${xs}\n\n[sampler]\nkind = "${sampler}"\n\n` +
    `[runner]\nkind = "builtin"\nproblem = "zdt1"\n\n[budget]\ntrials = ${trials}\nworkers = 1\n`);
  return p;
}
console.log('making the studies in ' + TMP);
fs.copyFileSync(path.join(HERE, 'fixture_train.py'), path.join(TMP, 'fixture_train.py'));
fs.copyFileSync(path.join(HERE, 'fixture.toml'), path.join(TMP, 'fixture.toml'));
ps(['run', 'fixture.toml', '-q']);
// A forecast as a forecasting pruner stores it with the PRUNED trial.
execFileSync('python3', ['-c', `
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT t.id, t.attrs, MAX(i.step) FROM trials t JOIN intermediate i ON i.trial_id = t.id WHERE t.state = 'PRUNED' GROUP BY t.id ORDER BY t.number LIMIT 1").fetchall()
assert rows, "the fixture has no pruned trial with reports"
tid, attrs, step = rows[0]
a = json.loads(attrs)
a["forecast"] = {"step": step, "horizon": 4, "level": 0.9, "objectives": {"accuracy": {"mean": 0.62, "lo": 0.5, "hi": 0.74}}}
db.execute("UPDATE trials SET attrs = ? WHERE id = ?", (json.dumps(a), tid))
db.commit()
`, path.join(TMP, 'fixture.db')]);
const zdtA = zdt1('zdt1-random', 'random', 80, 'sqlite://zdt.db');
const zdtB = zdt1('zdt1-sobol', 'sobol', 80, 'sqlite://zdt.db');
ps(['run', zdtA, '-q']);
ps(['run', zdtB, '-q']);
const reports = {
  fixture: ps(['report', 'fixture.toml', '--out', path.join(TMP, 'fixture.html')]).trim(),
  zdt1: ps(['report', zdtA, '--out', path.join(TMP, 'zdt1.html')]).trim()
};
// The quickstart as it ships (studies/quickstart.toml: MLPs on the embedded
// digits through the torch runner), a dozen trials of it; skipped, saying
// so, by a build without libtorch.
const REPO = process.env.PARETOSEARCH_REPO;
for (const [from, to] of [['studies/quickstart.toml', 'studies'], ['search_spaces/mlp.toml', 'search_spaces']]) {
  fs.mkdirSync(path.join(TMP, to), { recursive: true });
  fs.copyFileSync(path.join(REPO, from), path.join(TMP, from));
}
let torch = true;
try { ps(['check', 'studies/quickstart.toml']); } catch (e) { torch = false; console.log('skip quickstart: ' + String(e.stderr || e).split('\n')[0]); }
if (torch) {
  ps(['run', 'studies/quickstart.toml', '-q', '--trials', '12']);
  reports.quickstart = ps(['report', 'studies/quickstart.toml', '--out', path.join(TMP, 'quickstart.html')]).trim();
}

// ---------- the browser ----------
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: FLAGS.slice(1) });
async function open(url, name) {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => page.problems.push('page error: ' + e.message));
  page.on('request', (r) => { if (!/^(file|data|blob):|^http:\/\/127\.0\.0\.1/.test(r.url())) page.problems.push('network request: ' + r.url()); });
  await page.goto(url);
  await page.waitForFunction(() => window.PS && window.PS.ready, null, { timeout: 30000 });
  page.label = name;
  return page;
}
async function shoot(page, view, name) {
  const file = path.join(OUT, `${page.label}-${name || view}.png`);
  if (view === 'page') await page.screenshot({ path: file });
  else await page.locator('#view-' + view).screenshot({ path: file });
}
const viewIds = (page) => page.evaluate(() => PS.views.map((v) => v.id));

async function everyViewRenders(page, expected) {
  const ids = await viewIds(page);
  for (const id of expected) check(ids.includes(id), `${page.label}: view ${id} is there`);
  // Views are drawn when they come near the screen: visit each.
  for (const id of ids) {
    await page.locator('#view-' + id).scrollIntoViewIfNeeded();
    await page.waitForFunction((id) => PS.views.filter((v) => v.id === id)[0].drawn || PS.errors.length, id, { timeout: 15000 });
  }
  const state = await page.evaluate(() => PS.views.map((v) => ({
    id: v.id, errors: PS.errors.filter((e) => e.indexOf(v.id + ':') === 0),
    series: v.chart ? (v.chart.getOption().series || []).reduce((n, s) => n + ((s.data && s.data.length) || 0), 0) : -1,
    canvas: !!document.querySelector('#view-' + v.id + ' canvas') || !!document.querySelector('#view-' + v.id + ' table')
  })));
  for (const v of state) {
    check(v.errors.length === 0, `${page.label}: ${v.id} renders without errors ${v.errors.join(' ')}`);
    if (v.id === 'curves' && !(await page.evaluate(() => PS.trials.some((t) => t.steps)))) {
      const note = await page.locator('#view-curves .note').textContent();
      check(/No trial reported intermediate values/.test(note), `${page.label}: curves says there are no intermediate values`);
      await shoot(page, v.id);
      continue;
    }
    check(v.canvas, `${page.label}: ${v.id} has drawn something`);
    if (v.series !== -1 && v.id !== 'importance') check(v.series > 0, `${page.label}: ${v.id} has data (${v.series} points)`);
    await shoot(page, v.id);
  }
  await shoot(page, 'page');
  check(page.problems.length === 0, `${page.label}: no console errors or network requests ${page.problems.join(' | ')}`);
}

async function whiskersFit(page) {
  const r = await page.evaluate(() => {
    const v = PS.views.filter((x) => x.id === 'importance')[0];
    const imp = (PS.study.importance || []).filter((i) => i.objective === PS.choice.importance)[0];
    if (!imp || imp.error) return null;
    return { axis: v.chart.getModel().getComponent('xAxis', 0).axis.scale.getExtent()[1], hi: Math.max.apply(null, imp.params.map((q) => q.hi)) };
  });
  check(r && r.axis >= r.hi - 1e-12, `${page.label}: the importance axis reaches the widest whisker ${JSON.stringify(r)}`);
}

async function brushingSelectsEverywhere(page) {
  // A real drag over the 2-D front (its rectangle brush is on).
    await page.locator('#view-pareto2d').scrollIntoViewIfNeeded();
  const b = await page.locator('#view-pareto2d canvas').first().boundingBox();
  // A box around the plotted trial nearest the plot's centre (trials of a
  // study run with several workers differ from run to run).
  const at = await page.evaluate(() => {
    const chart = PS.views.filter((v) => v.id === 'pareto2d')[0].chart;
    const rect = chart.getModel().getComponent('grid', 0).coordinateSystem.getRect();
    const cx = rect.x + rect.width / 2, cy = rect.y + rect.height / 2;
    let best = null;
    chart.getOption().series.filter((s) => s.type === 'scatter').forEach((s) => (s.data || []).forEach((d) => {
      const p = chart.convertToPixel({ gridIndex: 0 }, [d[0], d[1]]);
      const dist = Math.hypot(p[0] - cx, p[1] - cy);
      if (p && isFinite(dist) && (!best || dist < best.dist)) best = { x: p[0], y: p[1], dist };
    }));
    return best;
  });
  await page.mouse.move(b.x + at.x - 40, b.y + at.y - 30);
  await page.mouse.down();
  await page.mouse.move(b.x + at.x, b.y + at.y, { steps: 8 });
  await page.mouse.move(b.x + at.x + 40, b.y + at.y + 30, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(() => PS.sel !== null, null, { timeout: 5000 }).catch(() => {});
  const r = await page.evaluate(() => {
    const sel = PS.sel ? PS.sel.size : 0;
    const faded = (id) => {
      const v = PS.views.filter((x) => x.id === id)[0];
      if (!v) return null;
      return (v.chart.getOption().series || []).some((s) => (s.itemStyle && s.itemStyle.opacity === 0.12) || (s.lineStyle && s.lineStyle.opacity === 0.05));
    };
    return { sel, source: PS.selSource && PS.selSource.id, rows: document.querySelectorAll('#trials tr.selected').length,
      parallel: faded('parallel'), history: faded('history'), slice: faded('slice'), plotted: PS.plotted([PS.choice.x, PS.choice.y]).length };
  });
  check(r.sel > 0 && r.sel < r.plotted && r.source === 'pareto2d', `${page.label}: a drag on the 2-D front selects trials (${r.sel} of ${r.plotted})`);
  check(r.rows > 0, `${page.label}: the table marks the selected rows (${r.rows})`);
  check(r.parallel && r.history && r.slice, `${page.label}: parallel coordinates, history and slices dim the rest ${JSON.stringify(r)}`);
  for (const v of ['pareto2d', 'parallel', 'history', 'table']) await shoot(page, v, v + '-brushed');
  // An axis range on the parallel coordinates selects in the scatter plots.
  await page.evaluate(() => PS.clearSelection());
  const p = await page.evaluate(() => {
    const v = PS.views.filter((x) => x.id === 'parallel')[0];
    const axis = v.chart.getModel().getComponent('parallelAxis', 0);
    // The lower half of the first objective's values.
    const xs = PS.plotted(PS.objNames()).map((t) => PS.value(t, PS.objNames()[0])).sort((a, b) => a - b);
    v.chart.dispatchAction({ type: 'axisAreaSelect', parallelAxisId: axis.id, intervals: [[xs[0], xs[Math.floor(xs.length / 2)]]] });
    const p2 = PS.views.filter((x) => x.id === 'pareto2d')[0];
    return { sel: PS.sel ? PS.sel.size : 0, source: PS.selSource && PS.selSource.id,
      faded: p2.chart.getOption().series.some((s) => s.itemStyle && s.itemStyle.opacity === 0.12) };
  });
  check(p.sel > 0 && p.source === 'parallel' && p.faded, `${page.label}: an axis range on the parallel coordinates selects in the 2-D front (${p.sel})`);
  await shoot(page, 'parallel', 'parallel-axis-brushed');
  await shoot(page, 'pareto2d', 'pareto2d-from-parallel');
  await page.evaluate(() => PS.clearSelection());
}

async function tableSortsAndFilters(page, objective) {
  const col = async (i) => page.evaluate((i) => Array.from(document.querySelectorAll('#trials tbody tr')).map((tr) => tr.cells[i].textContent), i);
  const idx = await page.evaluate((o) => Array.from(document.querySelectorAll('#trials th')).findIndex((th) => th.textContent.indexOf(o) === 0), objective);
  check(idx > 0, `${page.label}: the table has a column for ${objective}`);
  await page.locator('#trials th').nth(idx).click();
  let vals = (await col(idx)).filter((x) => x !== '').map(Number);
  check(vals.length > 1 && vals.every((v, i) => i === 0 || vals[i - 1] <= v), `${page.label}: clicking ${objective} sorts ascending`);
  await page.locator('#trials th').nth(idx).click();
  vals = (await col(idx)).filter((x) => x !== '').map(Number);
  check(vals.every((v, i) => i === 0 || vals[i - 1] >= v), `${page.label}: clicking again sorts descending`);
  const all = await page.evaluate(() => PS.trials.length);
  await page.fill('#filter', `${objective}>0.5`);
  vals = (await col(idx)).map(Number);
  const expect = await page.evaluate((o) => PS.trials.filter((t) => PS.value(t, o) > 0.5).length, objective);
  check(vals.length === Math.min(100, expect) && vals.every((v) => v > 0.5), `${page.label}: filter ${objective}>0.5 keeps the ${expect} matching trials`);
  await page.fill('#filter', 'state=FAIL');
  const states = await col(1);
  const fails = await page.evaluate(() => PS.trials.filter((t) => t.s === 'FAIL').length);
  check(states.length === fails && states.every((s) => s === 'FAIL'), `${page.label}: filter state=FAIL shows the ${fails} failed trials`);
  await page.fill('#filter', '');
  const rows = await col(0);
  check(rows.length === Math.min(100, all), `${page.label}: clearing the filter shows every trial again`);
  await page.locator('#trials tbody tr').first().click();
  const detail = await page.locator('#detail').textContent();
  check(/trial \d+/.test(detail) && /feasible/.test(detail), `${page.label}: a row opens its detail pane`);
  await shoot(page, 'table');
}

async function infeasibleMarkedEverywhere(page) {
  const r = await page.evaluate(() => {
    const name = PS.KINDS.infeasible.label;
    const has = (id) => { const v = PS.views.filter((x) => x.id === id)[0]; return v && (v.chart.getOption().series || []).some((s) => s.name === name); };
    return { n: PS.trials.filter((t) => t.k === 'infeasible').length, pareto2d: has('pareto2d'), pareto3d: has('pareto3d'), history: has('history'),
      parallel: has('parallel'), slice: has('slice'), legend: document.getElementById('legend').textContent.indexOf('infeasible') >= 0 };
  });
  check(r.n > 0, `${page.label}: the fixture has infeasible trials (${r.n})`);
  check(r.pareto2d && r.pareto3d && r.history && r.parallel && r.slice && r.legend, `${page.label}: infeasible trials are marked in every plot of trials ${JSON.stringify(r)}`);
}

// ---------- the report of the 3-objective fixture ----------
const fx = await open('file://' + reports.fixture, 'fixture');
await everyViewRenders(fx, ['pareto2d', 'pareto3d', 'history', 'hypervolume', 'studies', 'parallel', 'slice', 'importance', 'curves', 'timeline', 'table']);
const bands = await fx.evaluate(() => PS.views.filter((v) => v.id === 'curves')[0].chart.getOption().series.filter((s) => s.name === 'forecast band').length);
check(bands === 1, 'fixture: the pruner\'s forecast is drawn as a band');
const stops = await fx.evaluate(() => PS.views.filter((v) => v.id === 'curves')[0].chart.getOption().series.filter((s) => s.name === 'stopped by the pruner')[0].data.length);
check(stops > 0, `fixture: learning curves mark where the pruner stopped ${stops} trials`);
const pruner = await fx.locator('#view-curves .note').textContent();
check(/Pruner mo-asha: (judging|waiting)[^.]*step \d+: \d+ of \d+ stopped/.test(pruner) && /% of the epochs of \d+ finished trials saved/.test(pruner),
  `fixture: the curves note gives the pruner's rung account (${pruner.slice(pruner.indexOf('Pruner'))})`);
const logAxes = await fx.evaluate(() => { const o = PS.views[0].chart.getOption(); return [o.xAxis[0].type, o.yAxis[0].type]; });
check(logAxes[1] === 'log', `fixture: latency spans decades and gets a log axis (${logAxes})`);
await infeasibleMarkedEverywhere(fx);
await whiskersFit(fx);
await brushingSelectsEverywhere(fx);
await tableSortsAndFilters(fx, 'accuracy');
// Colour by a parameter.
await fx.selectOption('#toolbar select', 'lr');
check((await fx.evaluate(() => PS.errors.length)) === 0, 'fixture: colouring by lr redraws every view');
await shoot(fx, 'pareto2d', 'pareto2d-colour-lr');
await shoot(fx, 'parallel', 'parallel-colour-lr');
// The hostile log line is text, not markup.
check((await fx.evaluate(() => document.querySelectorAll('script').length)) === 7, 'fixture: a log line holding </script> adds no script');
check(fx.problems.length === 0, 'fixture: no console errors after the interactions ' + fx.problems.join(' | '));

// ---------- the report of the quickstart ----------
if (torch) {
  const qs = await open('file://' + reports.quickstart, 'quickstart');
  await everyViewRenders(qs, ['pareto2d', 'pareto3d', 'history', 'hypervolume', 'parallel', 'slice', 'importance', 'curves', 'timeline', 'table']);
  const curves = await qs.evaluate(() => PS.trials.filter((t) => t.steps && t.steps.length === 15).length);
  check(curves === 12, `quickstart: every trial's 15 epochs are learning curves (${curves} of 12)`);
  await whiskersFit(qs);
  await brushingSelectsEverywhere(qs);
  await tableSortsAndFilters(qs, 'accuracy');
  check(qs.problems.length === 0, 'quickstart: no console errors after the interactions ' + qs.problems.join(' | '));
}

// ---------- the report of ZDT1, with a second study in its storage ----------
const zd = await open('file://' + reports.zdt1, 'zdt1');
await everyViewRenders(zd, ['pareto2d', 'history', 'hypervolume', 'studies', 'parallel', 'slice', 'importance', 'curves', 'timeline', 'table']);
const overlay = await zd.evaluate(() => PS.views.filter((v) => v.id === 'studies')[0].chart.getOption().series.map((s) => s.name));
check(overlay.includes('zdt1-sobol') && overlay.includes('zdt1-random'), 'zdt1: the studies view overlays the other study\'s front ' + overlay);
await brushingSelectsEverywhere(zd);
await tableSortsAndFilters(zd, 'f1');

// ---------- serve, live ----------
const live = zdt1('live', 'random', 400, 'sqlite://live.db');
const server = spawn(BIN, ['serve', live, '--port', '0'], { cwd: TMP, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let buf = '';
  server.stdout.on('data', (d) => { buf += d; const m = buf.match(/http:\/\/127\.0\.0\.1:\d+\//); if (m) resolve(m[0]); });
  server.on('exit', () => reject(new Error('serve exited: ' + buf)));
});
try {
  ps(['run', live, '-q', '--trials', '10']);
  const lv = await open(url, 'live');
  await lv.evaluate(() => { window.__same = 'this page was not reloaded'; });
  const before = await lv.evaluate(() => PS.trials.length);
  check(before === 10, `live: the served page shows the study (${before} trials)`);
  await lv.locator('#view-table').scrollIntoViewIfNeeded();
  await lv.waitForFunction(() => PS.views.filter((v) => v.id === 'table')[0].drawn, null, { timeout: 15000 });
  ps(['run', live, '-q', '--trials', '30']);
  await lv.waitForFunction(() => PS.trials.length === 30, null, { timeout: 15000 }).catch(() => {});
  const after = await lv.evaluate(() => ({ n: PS.trials.length, same: window.__same, rows: document.querySelector('#pager').textContent, errors: PS.errors }));
  check(after.n === 30 && after.same && /30 of 30/.test(after.rows), `live: the page updates in place while the study runs (${after.n} trials, "${after.rows}")`);
  check(after.errors.length === 0 && lv.problems.length === 0, 'live: no errors ' + after.errors.concat(lv.problems).join(' | '));
  await shoot(lv, 'page');
  await shoot(lv, 'hypervolume');
} finally {
  server.kill();
}
await browser.close();
console.log(`${checks - failures} of ${checks} checks passed; screenshots in ${OUT}`);
process.exit(failures ? 1 : 0);
