/* paretosearch page, part 1 of 4: the application's state and shared helpers.
 *
 * Design: one global `PS` holds the study (from the embedded JSON of a
 * report, or `data.json` of `serve`), the user's choices (objectives on the
 * axes, colouring, log axes) and the selection: a set of trial numbers, or
 * null for "no selection". Views register themselves with `PS.view(...)`;
 * each has `render()`, which (re)draws it from `PS` alone. A selection made
 * in one view (a brush on a scatter plot, an axis range of the parallel
 * coordinates, the table's filter) is stored in `PS.sel` and every other
 * view is redrawn, dimming what is not selected. Charts are Apache ECharts
 * (web/vendor/echarts.min.js); nothing here draws by hand but the 3-D
 * projection, which is a change of coordinates handed to ECharts.
 */
(function () {
  'use strict';
  var PS = (window.PS = {
    data: null, study: null, trials: [], byN: new Map(), sel: null, selSource: null,
    colorBy: 'kind', views: [], errors: [], renders: 0, ready: false, muted: 0
  });

  PS.KINDS = {
    front: { color: '#1f6fd1', symbol: 'circle', size: 9, label: 'Pareto-optimal' },
    dominated: { color: '#8792a0', symbol: 'circle', size: 5, label: 'dominated' },
    infeasible: { color: '#e67e22', symbol: 'emptyCircle', size: 8, label: 'infeasible (violates a constraint)' },
    pruned: { color: '#8e44ad', symbol: 'rect', size: 6, label: 'pruned (last report)' },
    failed: { color: '#c0392b', symbol: 'path://M2,0L5,3L8,0L10,2L7,5L10,8L8,10L5,7L2,10L0,8L3,5L0,2Z', size: 8, label: 'failed' },
    running: { color: '#0e9f6e', symbol: 'triangle', size: 7, label: 'running' },
    waiting: { color: '#999999', symbol: 'triangle', size: 5, label: 'waiting' }
  };
  PS.KIND_ORDER = ['dominated', 'infeasible', 'pruned', 'failed', 'running', 'waiting', 'front'];

  PS.esc = function (s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  };
  PS.fmt = function (x) {
    if (x === null || x === undefined) return '-';
    if (typeof x !== 'number') return String(x);
    if (!isFinite(x)) return String(x);
    var a = Math.abs(x);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return x.toExponential(3);
    return String(Math.round(x * 10000) / 10000);
  };
  PS.el = function (tag, attrs, html) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (html !== undefined) e.innerHTML = html;
    return e;
  };

  /* ---------- data ---------- */
  PS.objNames = function () { return PS.study.objectives.map(function (o) { return o.name; }); };
  PS.paramNames = function () { return PS.study.params.map(function (p) { return p.name; }); };
  PS.param = function (name) {
    for (var i = 0; i < PS.study.params.length; i++) if (PS.study.params[i].name === name) return PS.study.params[i];
    return null;
  };
  /* A trial's value of an objective: its final value, else (pruned,
   * failed) the objective's last intermediate report. */
  PS.value = function (t, name) {
    var v = t.v[name];
    if (typeof v === 'number') return v;
    if (t.steps) for (var i = t.steps.length - 1; i >= 0; i--) {
      var r = t.steps[i][1][name];
      if (typeof r === 'number') return r;
    }
    return null;
  };
  /* Trials plotted on objectives: finished, with a finite value for each. */
  PS.plotted = function (names) {
    return PS.trials.filter(function (t) {
      if (t.k === 'running' || t.k === 'waiting') return false;
      for (var i = 0; i < names.length; i++) {
        var v = PS.value(t, names[i]);
        if (v === null || !isFinite(v)) return false;
      }
      return true;
    });
  };
  /* Log scale where every value is positive and they span two decades. */
  PS.spansDecades = function (xs) {
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < xs.length; i++) {
      var x = xs[i];
      if (typeof x !== 'number') continue;
      if (x <= 0) return false;
      if (x < lo) lo = x; if (x > hi) hi = x;
    }
    return lo < Infinity && hi / lo >= 100;
  };
  PS.axisType = function (name, xs) {
    var mode = PS.logMode[name] || 'auto';
    if (mode === 'log') return xs.every(function (x) { return typeof x !== 'number' || x > 0; }) ? 'log' : 'value';
    if (mode === 'linear') return 'value';
    return PS.spansDecades(xs) ? 'log' : 'value';
  };
  PS.logMode = {};

  /* ---------- colour ---------- */
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function ramp(u) {
    u = Math.max(0, Math.min(1, u));
    var x = u * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - i;
    var a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return 'rgb(' + [0, 1, 2].map(function (j) { return Math.round(a[j] + f * (b[j] - a[j])); }).join(',') + ')';
  }
  /* `PS.colour(t)`: the trial's colour under the current colouring. */
  PS.prepareColour = function () {
    var by = PS.colorBy;
    PS.colourOf = new Map();
    if (by === 'kind') return;
    var p = PS.param(by), isObj = PS.objNames().indexOf(by) >= 0;
    var val = function (t) { return isObj ? PS.value(t, by) : t.p[by]; };
    if (p && p.type === 'categorical') {
      var n = p.choices.length;
      PS.trials.forEach(function (t) {
        var i = p.choices.indexOf(t.p[by]);
        if (i >= 0) PS.colourOf.set(t.n, ramp(n < 2 ? 0.5 : i / (n - 1)));
      });
      return;
    }
    var log = p ? p.log : PS.spansDecades(PS.trials.map(val));
    var f = function (x) { return log ? Math.log(x) : x; };
    var lo = Infinity, hi = -Infinity;
    PS.trials.forEach(function (t) {
      var x = val(t);
      if (typeof x === 'number' && isFinite(f(x))) { lo = Math.min(lo, f(x)); hi = Math.max(hi, f(x)); }
    });
    PS.trials.forEach(function (t) {
      var x = val(t);
      if (typeof x === 'number' && isFinite(f(x))) PS.colourOf.set(t.n, ramp(hi > lo ? (f(x) - lo) / (hi - lo) : 0.5));
    });
  };
  PS.colour = function (t) {
    if (PS.colorBy === 'kind') return PS.KINDS[t.k].color;
    return PS.colourOf.get(t.n) || '#cccccc';
  };

  /* ---------- selection ---------- */
  PS.selected = function (n) { return PS.sel === null || PS.sel.has(n); };
  PS.select = function (numbers, source) {
    PS.sel = numbers === null ? null : new Set(numbers);
    PS.selSource = source;
    PS.views.forEach(function (v) {
      if (v !== source) PS.refresh(v);
    });
    PS.updateToolbar();
  };
  PS.clearSelection = function () {
    PS.views.forEach(function (v) { if (v.clearBrush) v.clearBrush(); });
    PS.select(null, null);
  };

  /* Scatter series of `items` ({t, value: [..]}) grouped by kind and by
   * selection, so that a style is per series: shape by kind, colour by
   * kind or the chosen parameter, faded when outside the selection. */
  PS.scatterSeries = function (items, extra) {
    var groups = {};
    items.forEach(function (it) {
      var key = it.t.k + (PS.selected(it.t.n) ? '' : ':out');
      (groups[key] = groups[key] || []).push(it);
    });
    var out = [];
    PS.KIND_ORDER.forEach(function (k) {
      [k + ':out', k].forEach(function (key) {
        var g = groups[key];
        if (!g) return;
        var st = PS.KINDS[k], faded = key.indexOf(':out') > 0;
        var s = {
          type: 'scatter', name: st.label, symbol: st.symbol, symbolSize: st.size,
          data: g.map(function (it) { return it.value.concat([it.t.n]); }),
          itemStyle: {
            color: PS.colorBy === 'kind' ? st.color : function (p) { return PS.colourOf.get(p.value[p.value.length - 1]) || '#ccc'; },
            opacity: faded ? 0.12 : (k === 'dominated' ? 0.7 : 0.95),
            borderColor: k === 'infeasible' ? st.color : undefined
          },
          emphasis: { scale: 1.6 },
          progressive: 2000, progressiveThreshold: 4000, animation: false, z: k === 'front' ? 5 : 2,
          /* Many points of one style: ECharts' large mode draws them as one path. */
          large: PS.colorBy === 'kind' && g.length > 2000, largeThreshold: 2000
        };
        if (extra) Object.keys(extra).forEach(function (e) { s[e] = extra[e]; });
        out.push(s);
      });
    });
    return out;
  };
  /* The trial number is the last value of every scatter datum. */
  PS.numberOf = function (datum) { return datum[datum.length - 1]; };

  PS.tooltip = function (n) {
    var t = PS.byN.get(n);
    if (!t) return '';
    var h = '<b>trial ' + t.n + '</b> <span class="state k-' + t.k + '">' + PS.esc(t.s) + '</span> ' + PS.esc(PS.KINDS[t.k].label);
    PS.study.objectives.forEach(function (o) {
      var v = PS.value(t, o.name);
      if (v !== null) h += '<br>' + PS.esc(o.name) + ' = ' + PS.fmt(v) + (typeof t.v[o.name] === 'number' ? '' : ' (last report)');
    });
    var ps = Object.keys(t.p);
    ps.slice(0, 8).forEach(function (k) { h += '<br><span style="color:#666">' + PS.esc(k) + ' = ' + PS.esc(PS.fmt(t.p[k])) + '</span>'; });
    if (ps.length > 8) h += '<br>... ' + (ps.length - 8) + ' more';
    if (t.reason) h += '<br><span style="color:#a33">' + PS.esc(t.reason.slice(0, 160)) + '</span>';
    return h;
  };

  /* A chart whose brush (rectangle, lasso) selects trials. */
  PS.chart = function (view, div) {
    var chart = echarts.init(div, null, { renderer: 'canvas' });
    view.chart = chart;
    chart.on('click', function (p) {
      var d = p.data && (p.data.value || p.data);
      if (Array.isArray(d) && typeof PS.numberOf(d) === 'number' && PS.byN.has(PS.numberOf(d))) PS.showTrial(PS.numberOf(d));
    });
    chart.on('brushSelected', function (p) {
      if (PS.muted) return;
      var batch = p.batch && p.batch[0];
      if (!batch) return;
      var areas = batch.areas || [];
      if (!areas.length) {
        if (PS.selSource === view) PS.select(null, view);
        return;
      }
      var series = chart.getOption().series, chosen = [];
      (batch.selected || []).forEach(function (s) {
        var data = series[s.seriesIndex] && series[s.seriesIndex].data;
        if (!data) return;
        s.dataIndex.forEach(function (i) {
          var d = data[i];
          if (Array.isArray(d)) chosen.push(PS.numberOf(d));
        });
      });
      PS.select(chosen, view);
    });
    view.clearBrush = function () {
      PS.muted++;
      try { chart.dispatchAction({ type: 'brush', areas: [] }); } finally { PS.muted--; }
    };
    return chart;
  };
  /* Options every brushable chart shares; the rectangle brush is on. */
  PS.brushOptions = function (gridIndexes) {
    return {
      brush: {
        toolbox: ['rect', 'polygon', 'clear'], xAxisIndex: gridIndexes || 'all', brushMode: 'single',
        throttleType: 'debounce', throttleDelay: 250, outOfBrush: { colorAlpha: 0.15 }
      },
      toolbox: { right: 10, feature: { brush: {}, dataZoom: {}, restore: {}, saveAsImage: { pixelRatio: 2 } } },
      tooltip: { trigger: 'item', confine: true, formatter: function (p) {
        return Array.isArray(p.value) ? PS.tooltip(PS.numberOf(p.value)) : '';
      } }
    };
  };
  PS.armBrush = function (chart) {
    PS.muted++;
    try {
      chart.dispatchAction({ type: 'takeGlobalCursor', key: 'brush', brushOption: { brushType: 'rect', brushMode: 'single' } });
    } finally { PS.muted--; }
  };
  PS.setOption = function (chart, opt) {
    PS.muted++;
    try { chart.setOption(opt, { notMerge: true, lazyUpdate: false }); } finally { PS.muted--; }
  };
  PS.axis = function (name, type, extra) {
    var a = {
      type: type, name: name, nameLocation: 'middle', nameGap: 28, scale: true,
      axisLabel: { hideOverlap: true, formatter: function (v) { return PS.fmt(v); } },
      splitLine: { lineStyle: { color: '#eee' } }, minorTick: { show: type === 'log' }
    };
    if (type === 'log') a.logBase = 10;
    if (extra) Object.keys(extra).forEach(function (k) { a[k] = extra[k]; });
    return a;
  };

  /* ---------- panels ---------- */
  /* Register a view: `{id, title, wide, build(panel), render()}`. */
  PS.view = function (v) { PS.views.push(v); return v; };
  PS.safeRender = function (v) {
    var t0 = performance.now();
    try { v.render(); PS.renders++; v.drawn = true; v.dirty = false; v.ms = performance.now() - t0; } catch (e) {
      PS.errors.push(v.id + ': ' + (e && e.stack || e));
      if (window.console) console.error('view ' + v.id + ' failed', e);
    }
  };
  /* Views are drawn once they come near the screen (`seen`), so that a
   * page of 10,000 trials opens with what is on screen; a change while a
   * view was never seen only marks it `dirty`. */
  PS.refresh = function (v) {
    if (v.seen) PS.safeRender(v); else v.dirty = true;
  };
  PS.watch = function () {
    var near = function (el) { var r = el.getBoundingClientRect(); return r.top < window.innerHeight + 200 && r.bottom > -200; };
    PS.views.forEach(function (v) { var el = document.getElementById('view-' + v.id); if (el && near(el)) v.seen = true; });
    if (!window.IntersectionObserver) { PS.views.forEach(function (v) { v.seen = true; }); return; }
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (!e.isIntersecting) return;
        var v = PS.views.filter(function (x) { return 'view-' + x.id === e.target.id; })[0];
        if (!v || v.seen) return;
        v.seen = true;
        if (v.dirty || !v.drawn) PS.safeRender(v);
      });
    }, { rootMargin: '300px' });
    PS.views.forEach(function (v) { var el = document.getElementById('view-' + v.id); if (el) io.observe(el); });
  };
  /* A `<select>` of `options` (strings) bound to `get`/`set`. */
  PS.chooser = function (label, options, get, set) {
    var l = PS.el('label', null, PS.esc(label) + ' ');
    var s = PS.el('select');
    options.forEach(function (o) {
      var opt = PS.el('option', { value: o }, PS.esc(o));
      if (o === get()) opt.selected = true;
      s.appendChild(opt);
    });
    s.addEventListener('change', function () { set(s.value); });
    l.appendChild(s);
    return l;
  };
  PS.logChooser = function (name, onChange) {
    return PS.chooser(name + ' scale', ['auto', 'log', 'linear'], function () { return PS.logMode[name] || 'auto'; },
      function (v) { PS.logMode[name] = v; onChange(); });
  };
  PS.resize = function () { PS.views.forEach(function (v) { if (v.chart) v.chart.resize(); }); };
})();
