/* paretosearch page, part 3 of 4: the views in parameter space and time —
 * parallel coordinates of objectives and parameters, slice plots,
 * importance with bootstrap intervals, learning curves with the pruner's
 * decisions and forecasts, and the timeline of trials per worker. */
(function () {
  'use strict';
  var PS = window.PS;
  PS.choice.slice = null; PS.choice.importance = null; PS.choice.curve = null;

  /* A parameter's axis: categories for categorical ones (inactive is its
   * own category), log for log-scaled ones. */
  function paramAxis(p) {
    if (p.type === 'categorical') return { type: 'category', data: p.choices.map(String).concat(p.conditional ? ['(inactive)'] : []) };
    return { type: p.log ? 'log' : 'value' };
  }
  function paramValue(p, t) {
    var v = t.p[p.name];
    if (p.type === 'categorical') return v === undefined ? '(inactive)' : String(v);
    return typeof v === 'number' ? v : null;
  }

  /* ---------- parallel coordinates ---------- */
  PS.view({
    id: 'parallel', title: 'Parallel coordinates (objectives and parameters)', wide: true,
    build: function (panel) {
      var self = this;
      this.chart = echarts.init(panel.chart);
      panel.note.textContent = 'Drag along any axis to select a range (several axes: all must hold); click an axis\' empty part to clear it. Trials with an inactive numeric parameter leave that axis out.';
      this.chart.on('axisareaselected', function () {
        if (PS.muted) return;
        var chosen = [], active = false;
        self.chart.getModel().getSeries().forEach(function (s, i) {
          var idx = s.getRawIndicesByActiveState('active');
          var data = self.series[i];
          if (idx.length !== data.length) active = true;
          idx.forEach(function (j) { chosen.push(data[j].n); });
        });
        PS.select(active ? chosen : null, self);
      });
      this.clearBrush = function () { self.fresh = true; };
    },
    render: function () {
      var objs = PS.study.objectives, params = PS.study.params;
      var ts = PS.plotted(PS.objNames());
      var axes = [];
      objs.forEach(function (o, i) {
        axes.push({ dim: i, name: o.name + (o.direction === 'minimize' ? ' \u2193' : ' \u2191'),
          type: PS.axisType(o.name, ts.map(function (t) { return PS.value(t, o.name); })) === 'log' ? 'log' : 'value',
          nameTextStyle: { fontWeight: 'bold' } });
      });
      params.forEach(function (p, j) {
        var a = paramAxis(p);
        a.dim = objs.length + j; a.name = p.name;
        axes.push(a);
      });
      axes.forEach(function (a) {
        a.scale = true;
        if (a.type !== 'category') a.axisLabel = { formatter: function (v) { return PS.fmt(v); } };
      });
      var groups = {};
      ts.forEach(function (t) {
        var key = t.k + (PS.selected(t.n) ? '' : ':out');
        (groups[key] = groups[key] || []).push(t);
      });
      var series = [], data = [];
      PS.KIND_ORDER.forEach(function (k) {
        [k + ':out', k].forEach(function (key) {
          var g = groups[key];
          if (!g) return;
          var faded = key.indexOf(':out') > 0;
          data.push(g);
          series.push({
            type: 'parallel', name: PS.KINDS[k].label, smooth: false, progressive: 1500, animation: false,
            lineStyle: { width: k === 'front' ? 2 : 1, opacity: faded ? 0.05 : (k === 'front' ? 0.9 : 0.35), color: PS.KINDS[k].color },
            inactiveOpacity: 0.03, activeOpacity: 0.9,
            data: g.map(function (t) {
              var row = objs.map(function (o) { return PS.value(t, o.name); }).concat(params.map(function (p) { return paramValue(p, t); }));
              return PS.colorBy === 'kind' ? row : { value: row, lineStyle: { color: PS.colour(t) } };
            })
          });
        });
      });
      this.series = data;
      var width = this.chart.getWidth() || 1000;
      PS.setOption(this.chart, {
        parallel: { left: 60, right: 90, top: 50, bottom: 30, parallelAxisDefault: { nameLocation: 'end', nameGap: 14, nameTextStyle: { fontSize: 11 },
          axisLabel: { fontSize: 10, hideOverlap: true } }, layout: axes.length * 90 > width ? 'horizontal' : 'horizontal' },
        legend: { top: 0, left: 0, itemWidth: 10, textStyle: { fontSize: 11 } },
        parallelAxis: axes, series: series,
        tooltip: { show: false }
      });
    }
  });

  /* ---------- slices ---------- */
  var SLICE_POINTS = 1500;
  PS.view({
    id: 'slice', title: 'Slice plots', wide: true,
    build: function (panel) {
      var self = this;
      PS.choice.slice = PS.choice.slice || PS.objNames()[0];
      panel.controls.appendChild(PS.chooser('objective', PS.objNames(), function () { return PS.choice.slice; },
        function (v) { PS.choice.slice = v; self.render(); }));
      this.div = panel.chart;
      this.note = panel.note;
      PS.chart(this, panel.chart);
    },
    render: function () {
      var name = PS.choice.slice, params = PS.study.params, cols = Math.min(4, Math.max(1, params.length));
      var rows = Math.ceil(params.length / cols), rowH = 220;
      this.div.style.height = (rows * rowH + 40) + 'px';
      this.chart.resize();
      var all = PS.plotted([name]);
      var ytype = PS.axisType(name, all.map(function (t) { return PS.value(t, name); }));
      /* At most SLICE_POINTS per slice: every trial that is not dominated
       * or is selected, and an even sample of the rest. */
      var ts = all;
      if (all.length > SLICE_POINTS) {
        var keep = all.filter(function (t) { return t.k !== 'dominated' || (PS.sel !== null && PS.sel.has(t.n)); });
        var kept = new Set(keep);
        var rest = all.filter(function (t) { return !kept.has(t); });
        var room = Math.max(0, SLICE_POINTS - keep.length), stride = rest.length / Math.max(1, room);
        for (var i = 0; i < room && Math.floor(i * stride) < rest.length; i++) keep.push(rest[Math.floor(i * stride)]);
        ts = keep;
      }
      this.note.textContent = 'The objective against each parameter; drag to select.' + (ts.length < all.length ?
        ' Showing ' + ts.length + ' of ' + all.length + ' trials: every one not dominated or selected, and an even sample of the dominated.' : '');
      var opt = PS.brushOptions();
      opt.grid = []; opt.xAxis = []; opt.yAxis = []; opt.series = [];
      params.forEach(function (p, g) {
        var r = Math.floor(g / cols), c = g % cols;
        opt.grid.push({ left: (c * 100 / cols + 5) + '%', width: (100 / cols - 8) + '%', top: (r * rowH + 40) + 'px', height: (rowH - 70) + 'px' });
        var ax = paramAxis(p);
        opt.xAxis.push(PS.axis(p.name, ax.type, ax.data ? { gridIndex: g, data: ax.data, scale: false } : { gridIndex: g }));
        opt.yAxis.push(PS.axis(c === 0 ? name : '', ytype, { gridIndex: g, nameGap: 48 }));
        var items = ts.filter(function (t) { return paramValue(p, t) !== null; }).map(function (t) { return { t: t, value: [paramValue(p, t), PS.value(t, name)] }; });
        PS.scatterSeries(items, { xAxisIndex: g, yAxisIndex: g }).forEach(function (s) { opt.series.push(s); });
      });
      PS.setOption(this.chart, opt);
      PS.armBrush(this.chart);
    }
  });

  /* ---------- importance ---------- */
  PS.view({
    id: 'importance', title: 'Parameter importance',
    build: function (panel) {
      var self = this;
      PS.choice.importance = PS.choice.importance || PS.objNames()[0];
      panel.controls.appendChild(PS.chooser('objective', PS.objNames(), function () { return PS.choice.importance; },
        function (v) { PS.choice.importance = v; self.render(); }));
      this.panel = panel;
      this.chart = echarts.init(panel.chart);
    },
    render: function () {
      var imp = (PS.study.importance || []).filter(function (i) { return i.objective === PS.choice.importance; })[0];
      var note = this.panel.note;
      note.className = 'note';
      if (!imp || imp.error) {
        note.className = 'warn';
        note.textContent = imp ? 'No importance: ' + imp.error : 'No importance.';
        PS.setOption(this.chart, {});
        return;
      }
      var ps = imp.params.slice().reverse();
      note.className = imp.warning ? 'warn' : 'note';
      note.textContent = (imp.warning ? 'Caution: ' + imp.warning + '. ' : '') + 'PED-ANOVA on ' + imp.trials +
        ' COMPLETE trials: how differently each parameter is spread in the best 10 % than in all; bars sum to 1, whiskers are 90 % bootstrap intervals.';
      PS.setOption(this.chart, {
        grid: { left: 110, right: 30, top: 20, bottom: 40 },
        tooltip: { trigger: 'item', formatter: function (p) {
          var q = ps[p.dataIndex];
          return PS.esc(q.name) + ': ' + PS.fmt(q.importance) + ' [' + PS.fmt(q.lo) + ', ' + PS.fmt(q.hi) + ']';
        } },
        /* The axis reaches the widest whisker, not only the longest bar. */
        xAxis: PS.axis('importance', 'value', { min: 0, scale: false, max: function (e) {
          var hi = ps.reduce(function (m, q) { return typeof q.hi === 'number' && q.hi > m ? q.hi : m; }, e.max);
          return Math.min(1, Math.ceil(hi * 20) / 20);
        } }),
        yAxis: { type: 'category', data: ps.map(function (q) { return q.name; }) },
        series: [
          { type: 'bar', data: ps.map(function (q) { return q.importance; }), itemStyle: { color: '#5b8def' }, animation: false },
          { type: 'custom', data: ps.map(function (q, i) { return [q.lo, q.hi, i]; }), z: 5, silent: true, animation: false,
            renderItem: function (params, api) {
              var a = api.coord([api.value(0), api.value(2)]), b = api.coord([api.value(1), api.value(2)]);
              var h = api.size([0, 1])[1] * 0.25;
              var st = { stroke: '#222', lineWidth: 1.5 };
              return { type: 'group', children: [
                { type: 'line', shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] }, style: st },
                { type: 'line', shape: { x1: a[0], y1: a[1] - h, x2: a[0], y2: a[1] + h }, style: st },
                { type: 'line', shape: { x1: b[0], y1: b[1] - h, x2: b[0], y2: b[1] + h }, style: st }
              ] };
            } }
        ]
      });
    }
  });

  /* ---------- learning curves ---------- */
  var MAX_CURVES = 3000;
  PS.view({
    id: 'curves', title: 'Learning curves (intermediate values)',
    build: function (panel) {
      var self = this, keys = {};
      PS.trials.forEach(function (t) { (t.steps || []).forEach(function (s) { Object.keys(s[1]).forEach(function (k) { keys[k] = 1; }); }); });
      this.keys = Object.keys(keys);
      PS.choice.curve = PS.choice.curve || (this.keys.indexOf(PS.objNames()[0]) >= 0 ? PS.objNames()[0] : this.keys[0]);
      if (this.keys.length) panel.controls.appendChild(PS.chooser('value', this.keys, function () { return PS.choice.curve; },
        function (v) { PS.choice.curve = v; self.render(); }));
      this.panel = panel;
      this.chart = echarts.init(panel.chart);
      this.chart.on('click', function (p) { if (p.data && p.data.n !== undefined) PS.showTrial(p.data.n); });
    },
    render: function () {
      var key = PS.choice.curve, note = this.panel.note;
      var ts = PS.trials.filter(function (t) { return t.steps && t.steps.length; });
      if (!ts.length) {
        note.textContent = 'No trial reported intermediate values (report them with `tell --step` or from the training script).';
        PS.setOption(this.chart, {});
        return;
      }
      if (PS.sel !== null) ts = ts.filter(function (t) { return PS.sel.has(t.n); }).concat(ts.filter(function (t) { return !PS.sel.has(t.n); }));
      var shown = ts.slice(0, MAX_CURVES);
      var byKind = {}, stops = [], bands = [], all = [];
      shown.forEach(function (t) {
        var kind = t.k === 'front' || t.k === 'dominated' || t.k === 'infeasible' ? 'complete' : t.k;
        var g = byKind[kind + (PS.selected(t.n) ? '' : ':out')] = byKind[kind + (PS.selected(t.n) ? '' : ':out')] || [];
        var last = null;
        t.steps.forEach(function (s) {
          var v = s[1][key];
          if (typeof v === 'number') { g.push({ value: [s[0], v], n: t.n }); all.push(v); last = [s[0], v]; }
        });
        g.push({ value: ['-', '-'] });
        if (t.s === 'PRUNED' && last) stops.push({ value: last, n: t.n });
        var f = t.forecast && t.forecast.objectives && t.forecast.objectives[key];
        if (f && last) { bands.push({ value: [last[0], last[1], t.forecast.step + t.forecast.horizon, f.lo, f.hi, f.mean], n: t.n }); all.push(f.lo, f.hi); }
      });
      var colour = { complete: '#1f6fd1', pruned: '#8e44ad', failed: '#c0392b', running: '#0e9f6e', waiting: '#999' };
      var series = [];
      Object.keys(byKind).forEach(function (k) {
        var base = k.split(':')[0], faded = k.indexOf(':out') > 0;
        series.push({ type: 'line', name: base, data: byKind[k], symbol: 'none', connectNulls: false, animation: false, silent: false,
          lineStyle: { width: 1, color: colour[base], opacity: faded ? 0.06 : 0.5 }, itemStyle: { color: colour[base] }, progressive: 4000 });
      });
      series.push({ type: 'scatter', name: 'stopped by the pruner', data: stops, symbol: PS.KINDS.failed.symbol, symbolSize: 8,
        itemStyle: { color: '#8e44ad' }, z: 5, animation: false });
      if (bands.length) series.push({ type: 'custom', name: 'forecast band', data: bands, z: 4, animation: false,
        renderItem: function (params, api) {
          var s = api.coord([api.value(0), api.value(1)]), lo = api.coord([api.value(2), api.value(3)]),
            hi = api.coord([api.value(2), api.value(4)]), m = api.coord([api.value(2), api.value(5)]);
          return { type: 'group', children: [
            { type: 'polygon', shape: { points: [s, hi, lo] }, style: { fill: 'rgba(230,126,34,0.25)', stroke: 'rgba(230,126,34,0.8)' } },
            { type: 'line', shape: { x1: s[0], y1: s[1], x2: m[0], y2: m[1] }, style: { stroke: '#e67e22', lineDash: [4, 3] } }
          ] };
        } });
      var level = bands.length ? shown.filter(function (t) { return t.forecast; })[0].forecast.level : null;
      note.textContent = 'Showing ' + shown.length + ' of ' + ts.length + ' trials with reports' + (PS.sel !== null ? ' (selected first)' : '') +
        '. Crosses: where the pruner stopped a trial.' + (bands.length ? ' Orange: the pruner\'s forecast at its decision, ' + Math.round(level * 100) + ' % band (' + bands.length + ' trials).' : '') +
        (PS.study.pruner && PS.study.pruner.line ? ' ' + PS.study.pruner.line.charAt(0).toUpperCase() + PS.study.pruner.line.slice(1) + '.' : '');
      PS.setOption(this.chart, {
        grid: { left: 70, right: 30, top: 40, bottom: 50 }, legend: { top: 0 },
        tooltip: { trigger: 'item', formatter: function (p) { return p.data && p.data.n !== undefined ? PS.tooltip(p.data.n) : ''; } },
        xAxis: PS.axis('step', 'value', { scale: false }),
        yAxis: PS.axis(key, PS.axisType(key, all), { nameGap: 52 }),
        series: series
      });
    }
  });

  /* ---------- timeline per worker ---------- */
  PS.view({
    id: 'timeline', title: 'Timeline of trials per worker', wide: true,
    build: function (panel) {
      this.panel = panel;
      PS.chart(this, panel.chart);
    },
    render: function () {
      var ts = PS.trials.filter(function (t) { return t.t0; }).sort(function (a, b) { return a.t0 - b.t0; });
      var now = Date.now(), end = function (t) { return t.t1 || (t.s === 'RUNNING' ? now : t.t0); };
      /* A worker (a process) runs several trials at once: each gets the
       * first lane of its worker that is free when it starts. */
      var workers = {}, span = [Infinity, -Infinity], lane = new Map();
      ts.forEach(function (t) {
        var w = t.worker || '(none)';
        var b = workers[w] = workers[w] || { busy: 0, n: 0, fail: 0, stale: 0, lanes: [] };
        var i = 0;
        while (i < b.lanes.length && b.lanes[i] > t.t0) i++;
        b.lanes[i] = end(t);
        lane.set(t.n, w + '\u0000' + i);
        b.busy += end(t) - t.t0; b.n++;
        if (t.s === 'FAIL') b.fail++;
        if (t.cause === 'stale') b.stale++;
        span[0] = Math.min(span[0], t.t0); span[1] = Math.max(span[1], end(t));
      });
      var total = Math.max(1, span[1] - span[0]), rows = [], labels = [];
      Object.keys(workers).sort().forEach(function (w) {
        var b = workers[w];
        b.lanes.forEach(function (_, i) {
          rows.push(w + '\u0000' + i);
          labels.push(i === 0 ? w + ' \u2014 ' + Math.round(100 * b.busy / (total * b.lanes.length)) + ' % busy over ' + b.lanes.length + ' slot' + (b.lanes.length > 1 ? 's' : '') + ', ' + b.n + ' trials' +
            (b.fail ? ', ' + b.fail + ' failed' : '') + (b.stale ? ', ' + b.stale + ' stale' : '') : 'slot ' + (i + 1));
        });
      });
      this.panel.note.textContent = ts.length ? 'Each bar is a trial from start to end, coloured by what it became, on the first free slot of its worker; utilisation is busy time over the whole span and the worker\'s slots. Stale trials (a worker stopped answering) are outlined.' : 'No trial has started yet.';
      this.panel.chart.style.height = Math.max(220, 60 + rows.length * 28) + 'px';
      this.chart.resize();
      var data = ts.map(function (t) { return [rows.indexOf(lane.get(t.n)), t.t0, end(t), t.n]; });
      var opt = { tooltip: { trigger: 'item', confine: true } };
      opt.grid = { left: 20, right: 30, top: 30, bottom: 40, containLabel: true };
      opt.xAxis = { type: 'time', scale: true };
      opt.yAxis = { type: 'category', data: labels, inverse: true, axisLabel: { fontSize: 11 } };
      opt.series = [{ type: 'custom', data: data, encode: { x: [1, 2], y: 0 }, animation: false, progressive: 3000,
        renderItem: function (params, api) {
          var t = PS.byN.get(api.value(3));
          var a = api.coord([api.value(1), api.value(0)]), b = api.coord([api.value(2), api.value(0)]);
          var h = api.size([0, 1])[1] * 0.6;
          return { type: 'rect', shape: { x: a[0], y: a[1] - h / 2, width: Math.max(1, b[0] - a[0]), height: h },
            style: { fill: PS.colour(t), opacity: PS.selected(t.n) ? 0.9 : 0.15, stroke: t.cause === 'stale' ? '#000' : null, lineWidth: 1.5 } };
        } }];
      opt.tooltip.formatter = function (p) { return PS.tooltip(p.value[3]); };
      PS.setOption(this.chart, opt);
    }
  });
})();
