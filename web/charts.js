/* paretosearch page, part 2 of 4: the views in objective space — the
 * Pareto front in 2-D and 3-D, the history of every objective, the
 * hypervolume over trials, and the fronts of several studies overlaid.
 * Each is a scatter plot of ECharts whose brush selects trials. */
(function () {
  'use strict';
  var PS = window.PS;
  PS.choice = { x: null, y: null, z: null, history: 'all', az: 35, el: 25 };

  function dir(name) {
    for (var i = 0; i < PS.study.objectives.length; i++) if (PS.study.objectives[i].name === name) return PS.study.objectives[i].direction;
    return 'minimize';
  }
  /* The 2-D non-dominated subset of `pts` ([x, y, n]) for the two
   * objectives' directions, sorted by x. */
  function front2d(pts, dx, dy) {
    var sx = dx === 'minimize' ? 1 : -1, sy = dy === 'minimize' ? 1 : -1;
    var s = pts.slice().sort(function (a, b) { return sx * (a[0] - b[0]) || sy * (a[1] - b[1]); });
    var out = [], best = Infinity;
    s.forEach(function (p) { if (sy * p[1] < best) { best = sy * p[1]; out.push(p); } });
    return out.sort(function (a, b) { return a[0] - b[0]; });
  }
  PS.front2d = front2d;
  function staircase(name, pts, dx, colour) {
    return {
      type: 'line', name: name, data: pts, step: dx === 'minimize' ? 'end' : 'start', symbol: 'none', silent: true,
      lineStyle: { color: colour, width: 1.5 }, z: 4, animation: false, tooltip: { show: false }
    };
  }

  /* ---------- the 2-D front ---------- */
  PS.view({
    id: 'pareto2d', title: 'Pareto front (2-D)',
    build: function (panel) {
      var self = this, names = PS.objNames();
      PS.choice.x = PS.choice.x || names[0];
      PS.choice.y = PS.choice.y || names[1] || names[0];
      var c = panel.controls;
      c.appendChild(PS.chooser('x', names, function () { return PS.choice.x; }, function (v) { PS.choice.x = v; PS.rerender(); }));
      c.appendChild(PS.chooser('y', names, function () { return PS.choice.y; }, function (v) { PS.choice.y = v; PS.rerender(); }));
      c.appendChild(PS.logChooser('x', function () { PS.rerender(); }));
      c.appendChild(PS.logChooser('y', function () { PS.rerender(); }));
      PS.chart(this, panel.chart);
      panel.note.textContent = 'Drag to select trials (every view follows), wheel to zoom, click a marker for its details. The line is the attainment staircase of the feasible trials on these two objectives.';
      self.ready = true;
    },
    render: function () {
      var x = PS.choice.x, y = PS.choice.y;
      var ts = PS.plotted([x, y]);
      var items = ts.map(function (t) { return { t: t, value: [PS.value(t, x), PS.value(t, y)] }; });
      var feas = items.filter(function (it) { return it.t.k === 'front' || it.t.k === 'dominated'; }).map(function (it) { return it.value; });
      var opt = PS.brushOptions();
      opt.grid = { left: 70, right: 30, top: 40, bottom: 50 };
      opt.xAxis = PS.axis(x + (dir(x) === 'minimize' ? ' (min)' : ' (max)'), PS.axisType('x', ts.map(function (t) { return PS.value(t, x); })));
      opt.yAxis = PS.axis(y + (dir(y) === 'minimize' ? ' (min)' : ' (max)'), PS.axisType('y', ts.map(function (t) { return PS.value(t, y); })), { nameGap: 52 });
      opt.legend = { top: 0, left: 0, itemWidth: 10, textStyle: { fontSize: 11 } };
      opt.dataZoom = [{ type: 'inside', xAxisIndex: 0, moveOnMouseMove: false }, { type: 'inside', yAxisIndex: 0, moveOnMouseMove: false }];
      opt.series = PS.scatterSeries(items);
      if (feas.length) opt.series.push(staircase('attainment staircase', front2d(feas, dir(x), dir(y)), dir(x), '#1f6fd1'));
      PS.setOption(this.chart, opt);
      PS.armBrush(this.chart);
    }
  });

  /* ---------- the 3-D front, projected ---------- */
  function project(p, az, el) {
    var a = az * Math.PI / 180, e = el * Math.PI / 180;
    var sx = Math.cos(a) * p[0] - Math.sin(a) * p[1];
    var depth = Math.sin(a) * p[0] + Math.cos(a) * p[1];
    var sy = Math.cos(e) * p[2] - Math.sin(e) * depth;
    return [sx, sy, depth];
  }
  PS.view({
    id: 'pareto3d', title: 'Pareto front (3-D)',
    enabled: function () { return PS.study.objectives.length >= 3; },
    build: function (panel) {
      var names = PS.objNames();
      PS.choice.z = PS.choice.z || names[2];
      var c = panel.controls;
      c.appendChild(PS.chooser('x', names, function () { return PS.choice.x; }, function (v) { PS.choice.x = v; PS.rerender(); }));
      c.appendChild(PS.chooser('y', names, function () { return PS.choice.y; }, function (v) { PS.choice.y = v; PS.rerender(); }));
      c.appendChild(PS.chooser('z (up)', names, function () { return PS.choice.z; }, function (v) { PS.choice.z = v; PS.rerender(); }));
      var self = this;
      [['turn', 'az', -180, 180], ['tilt', 'el', -89, 89]].forEach(function (r) {
        var l = PS.el('label', null, r[0] + ' ');
        var i = PS.el('input', { type: 'range', min: r[2], max: r[3], value: PS.choice[r[1]] });
        i.addEventListener('input', function () { PS.choice[r[1]] = Number(i.value); self.render(); });
        l.appendChild(i);
        c.appendChild(l);
      });
      PS.chart(this, panel.chart);
      panel.note.textContent = 'Each axis is scaled to the box (log where the values span decades; the ends are labelled). Turn and tilt with the sliders; drag to select.';
    },
    render: function () {
      var names = [PS.choice.x, PS.choice.y, PS.choice.z];
      var ts = PS.plotted(names);
      var scale = names.map(function (n) {
        var xs = ts.map(function (t) { return PS.value(t, n); });
        var log = PS.axisType(n, xs) === 'log';
        var f = function (v) { return log ? Math.log10(v) : v; };
        var lo = Infinity, hi = -Infinity;
        xs.forEach(function (v) { lo = Math.min(lo, f(v)); hi = Math.max(hi, f(v)); });
        if (!(hi > lo)) { hi = lo + 1; }
        return { name: n, log: log, lo: lo, hi: hi, map: function (v) { return 2 * (f(v) - lo) / (hi - lo) - 1; },
          label: function (u) { var x = lo + (u + 1) / 2 * (hi - lo); return PS.fmt(log ? Math.pow(10, x) : x); } };
      });
      var az = PS.choice.az, el = PS.choice.el;
      var items = ts.map(function (t) {
        var q = project(names.map(function (n, j) { return scale[j].map(PS.value(t, n)); }), az, el);
        return { t: t, value: [q[0], q[1]] };
      });
      var edges = [], labels = [];
      var corners = [-1, 1];
      corners.forEach(function (a) { corners.forEach(function (b) {
        edges.push([[-1, a, b], [1, a, b]], [[a, -1, b], [a, 1, b]], [[a, b, -1], [a, b, 1]]);
      }); });
      var lines = [];
      edges.forEach(function (e) {
        var p = project(e[0], az, el), q = project(e[1], az, el);
        lines.push([p[0], p[1]], [q[0], q[1]], ['-', '-']);
      });
      [[0, [1.15, -1, -1]], [1, [-1, 1.15, -1]], [2, [-1, -1, 1.15]]].forEach(function (a) {
        var p = project(a[1], az, el);
        var end = [-1, -1, -1]; end[a[0]] = 1;
        var e = project(end, az, el), o = project([-1, -1, -1], az, el);
        labels.push({ value: [p[0], p[1]], label: { show: true, formatter: scale[a[0]].name + (scale[a[0]].log ? ' (log)' : ''), fontWeight: 'bold' } });
        labels.push({ value: [e[0], e[1]], label: { show: true, formatter: scale[a[0]].label(1), color: '#555', position: 'bottom' } });
        if (a[0] === 0) labels.push({ value: [o[0], o[1]], label: { show: true, formatter: scale.map(function (s) { return s.label(-1); }).join(' / '), color: '#555', position: 'bottom' } });
      });
      var opt = PS.brushOptions();
      opt.grid = { left: 20, right: 20, top: 30, bottom: 20 };
      opt.xAxis = { type: 'value', show: false, min: -1.9, max: 1.9 };
      opt.yAxis = { type: 'value', show: false, min: -1.9, max: 1.9 };
      opt.legend = { top: 0, left: 0, itemWidth: 10, textStyle: { fontSize: 11 } };
      opt.series = PS.scatterSeries(items).concat([
        { type: 'line', data: lines, symbol: 'none', silent: true, lineStyle: { color: '#bbb', width: 1 }, connectNulls: false, tooltip: { show: false }, z: 1, animation: false },
        { type: 'scatter', data: labels, symbolSize: 0, silent: true, tooltip: { show: false }, z: 6, label: { fontSize: 11 } }
      ]);
      PS.setOption(this.chart, opt);
      PS.armBrush(this.chart);
    }
  });

  /* ---------- history of every objective ---------- */
  PS.view({
    id: 'history', title: 'Objectives over trials',
    build: function (panel) {
      var self = this;
      panel.controls.appendChild(PS.chooser('objective', ['all'].concat(PS.objNames()), function () { return PS.choice.history; },
        function (v) { PS.choice.history = v; self.render(); }));
      panel.chart.classList.add('tall');
      PS.chart(this, panel.chart);
      panel.note.textContent = 'Each trial at its number; the line is the best feasible value so far.';
    },
    render: function () {
      var names = PS.choice.history === 'all' ? PS.objNames() : [PS.choice.history];
      var m = names.length, h = 100 / m;
      var opt = PS.brushOptions();
      opt.grid = []; opt.xAxis = []; opt.yAxis = []; opt.series = [];
      names.forEach(function (name, g) {
        var ts = PS.plotted([name]);
        opt.grid.push({ left: 70, right: 30, top: (g * h + 4) + '%', height: (h - 10) + '%' });
        opt.xAxis.push(PS.axis(g === m - 1 ? 'trial' : '', 'value', { gridIndex: g, scale: false, min: 0 }));
        opt.yAxis.push(PS.axis(name, PS.axisType(name, ts.map(function (t) { return PS.value(t, name); })), { gridIndex: g, nameGap: 52 }));
        var items = ts.map(function (t) { return { t: t, value: [t.n, PS.value(t, name)] }; });
        PS.scatterSeries(items, { xAxisIndex: g, yAxisIndex: g }).forEach(function (s) { opt.series.push(s); });
        var sign = dir(name) === 'minimize' ? 1 : -1, best = null, line = [];
        ts.slice().sort(function (a, b) { return a.n - b.n; }).forEach(function (t) {
          if (t.k !== 'front' && t.k !== 'dominated') return;
          var v = PS.value(t, name);
          if (best === null || sign * v < sign * best) best = v;
          line.push([t.n, best]);
        });
        opt.series.push({ type: 'line', step: 'end', data: line, symbol: 'none', xAxisIndex: g, yAxisIndex: g, silent: true,
          lineStyle: { color: '#1f6fd1' }, tooltip: { show: false }, animation: false, name: 'best so far' });
      });
      PS.setOption(this.chart, opt);
      PS.armBrush(this.chart);
    }
  });

  /* ---------- hypervolume ---------- */
  PS.view({
    id: 'hypervolume', title: 'Hypervolume over trials',
    build: function (panel) {
      this.note = panel.note;
      PS.chart(this, panel.chart);
    },
    render: function () {
      var s = PS.study, ref = s.reference, hv = s.hypervolume || [];
      var norm = hv.length && hv[hv.length - 1][2] !== null;
      if (ref) {
        this.note.textContent = 'Against the fixed reference point (' + s.objectives.map(function (o, i) {
          return o.name + ' = ' + PS.fmt(ref.values[i]);
        }).join(', ') + '; ' + ref.source + ')' + (norm ? '. Normalised: 1 is the whole box between the reference and the ideal point (' +
          s.objectives.map(function (o, i) { return PS.fmt(ref.ideal[i]); }).join(', ') + ').' : '.');
      } else {
        this.note.textContent = 'No feasible COMPLETE trial yet: no hypervolume.';
      }
      var opt = {
        grid: { left: 70, right: 30, top: 30, bottom: 50 },
        tooltip: { trigger: 'axis', formatter: function (p) {
          var d = hv[p[0].dataIndex];
          return 'after trial ' + d[0] + '<br>hypervolume ' + PS.fmt(d[1]) + (d[2] !== null ? '<br>normalised ' + PS.fmt(d[2]) : '');
        } },
        xAxis: PS.axis('trial', 'value', { scale: false, min: 0 }),
        yAxis: PS.axis(norm ? 'normalised hypervolume' : 'hypervolume', 'value', { nameGap: 52, scale: false, min: 0 }),
        series: [{ type: 'line', step: 'end', symbol: 'none', data: hv.map(function (d) { return [d[0], norm ? d[2] : d[1]]; }),
          areaStyle: { opacity: 0.15 }, lineStyle: { color: '#1f6fd1' }, animation: false }]
      };
      PS.setOption(this.chart, opt);
    }
  });

  /* ---------- studies of this storage, fronts overlaid ---------- */
  PS.view({
    id: 'studies', title: 'Studies in this storage',
    build: function (panel) {
      this.panel = panel;
      PS.overlay = PS.overlay || {};
      /* Not PS.chart: these markers are other studies' trials too. */
      this.chart = echarts.init(panel.chart);
    },
    render: function () {
      var self = this, others = PS.data.others || [], x = PS.choice.x, y = PS.choice.y;
      var c = this.panel.controls;
      c.innerHTML = '';
      var tbl = PS.el('table', { 'class': 'studies' });
      var rows = '<tr><th></th><th>study</th><th>trials</th><th>states</th><th>objectives</th></tr>';
      rows += '<tr><td>&#9679;</td><td><b>' + PS.esc(PS.study.name) + '</b> (this one)</td><td>' + PS.trials.length + '</td><td>' +
        PS.esc(Object.keys(PS.study.counts).map(function (k) { return PS.study.counts[k] + ' ' + k; }).join(', ')) + '</td><td>' + PS.esc(PS.objNames().join(', ')) + '</td></tr>';
      others.forEach(function (o, i) {
        rows += '<tr><td>' + (o.comparable ? '<input type="checkbox" data-i="' + i + '"' + (PS.overlay[o.name] !== false ? ' checked' : '') + '>' : '') + '</td><td>' +
          PS.esc(o.name) + '</td><td>' + o.trials + '</td><td>' + PS.esc(Object.keys(o.counts).map(function (k) { return o.counts[k] + ' ' + k; }).join(', ')) +
          '</td><td>' + PS.esc(o.objectives.join(', ')) + (o.comparable ? '' : ' (other objectives: not overlaid)') + '</td></tr>';
      });
      tbl.innerHTML = rows;
      tbl.querySelectorAll('input').forEach(function (b) {
        b.addEventListener('change', function () { PS.overlay[others[Number(b.getAttribute('data-i'))].name] = b.checked; self.render(); });
      });
      c.appendChild(tbl);
      this.panel.note.textContent = others.length ? 'Fronts on ' + x + ' and ' + y + ' (the 2-D view\'s axes).' : 'No other study in this storage; run another study into it to compare samplers or runs.';
      var colours = ['#1f6fd1', '#e6194b', '#3cb44b', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];
      var series = [], all = [];
      var mine = PS.trials.filter(function (t) { return t.k === 'front'; }).map(function (t) { return [PS.value(t, x), PS.value(t, y), t.n]; });
      var sets = [{ name: PS.study.name, pts: mine }];
      others.forEach(function (o) {
        if (!o.comparable || PS.overlay[o.name] === false) return;
        sets.push({ name: o.name, pts: o.front.map(function (f) { return [f.v[x], f.v[y], f.n]; }).filter(function (p) { return typeof p[0] === 'number' && typeof p[1] === 'number'; }) });
      });
      sets.forEach(function (s, i) {
        var col = colours[i % colours.length];
        s.pts.forEach(function (p) { all.push(p); });
        series.push({ type: 'scatter', name: s.name, data: s.pts, itemStyle: { color: col }, symbolSize: 7, animation: false });
        var f = front2d(s.pts, dir(x), dir(y));
        if (f.length) series.push(staircase(s.name, f, dir(x), col));
      });
      PS.setOption(this.chart, {
        grid: { left: 70, right: 30, top: 40, bottom: 50 }, legend: { top: 0 },
        tooltip: { trigger: 'item', formatter: function (p) { return PS.esc(p.seriesName) + ': trial ' + p.value[2] + '<br>' + x + ' = ' + PS.fmt(p.value[0]) + '<br>' + y + ' = ' + PS.fmt(p.value[1]); } },
        xAxis: PS.axis(x, PS.axisType('x', all.map(function (p) { return p[0]; }))),
        yAxis: PS.axis(y, PS.axisType('y', all.map(function (p) { return p[1]; })), { nameGap: 52 }),
        series: series
      });
    }
  });
})();
