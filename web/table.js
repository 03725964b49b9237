/* paretosearch page, part 4 of 4: the table of every trial with its detail
 * pane, the header and toolbar, the layout, and the start: the embedded
 * data of a report, or `data.json` of `serve`, polled through `state`
 * every two seconds and redrawn in place when the study changes. */
(function () {
  'use strict';
  var PS = window.PS;
  var PAGE = 100;
  var T = { sort: 'n', dir: 'desc', filter: '', states: {}, onlySel: false, page: 0, current: null };

  function columns() {
    var cols = [{ key: 'n', label: '#', get: function (t) { return t.n; } },
      { key: 'state', label: 'state', text: true, get: function (t) { return t.s; } },
      { key: 'kind', label: 'kind', text: true, get: function (t) { return t.k; } },
      { key: 'feasible', label: 'feasible', text: true, get: function (t) { return t.feasible === null ? '' : (t.feasible ? 'yes' : 'no'); } }];
    PS.study.objectives.forEach(function (o) {
      cols.push({ key: 'v:' + o.name, label: o.name + (o.direction === 'minimize' ? ' \u2193' : ' \u2191'), name: o.name, get: function (t) { return PS.value(t, o.name); } });
    });
    /* Test-set figures (scored by `export --pareto`), beside the values. */
    var tested = {};
    PS.trials.forEach(function (t) { if (t.test) Object.keys(t.test).forEach(function (k) { tested[k] = true; }); });
    Object.keys(tested).sort().forEach(function (k) {
      cols.push({ key: 'test:' + k, label: 'test ' + k, name: 'test.' + k, get: function (t) { return t.test && typeof t.test[k] === 'number' ? t.test[k] : null; } });
    });
    PS.study.params.forEach(function (p) {
      cols.push({ key: 'p:' + p.name, label: p.name, name: p.name, text: p.type === 'categorical', get: function (t) { var v = t.p[p.name]; return v === undefined ? null : v; } });
    });
    cols.push({ key: 'dur', label: 'seconds', get: function (t) { return t.t0 && t.t1 ? (t.t1 - t.t0) / 1000 : null; } });
    cols.push({ key: 'worker', label: 'worker', text: true, get: function (t) { return t.worker || ''; } });
    cols.push({ key: 'reason', label: 'reason', text: true, get: function (t) { return t.reason || ''; } });
    return cols;
  }

  /* The filter: words separated by spaces; `name op value` compares a
   * column (op: < <= > >= = !=), anything else must occur in the row. */
  function parseFilter(text, cols) {
    var tests = [];
    (text.match(/[^\s,]+/g) || []).forEach(function (w) {
      var m = w.match(/^([^<>=!]+)(<=|>=|!=|=|<|>)(.+)$/);
      if (m) {
        var col = cols.filter(function (c) { return c.name === m[1] || c.key === m[1] || c.label === m[1]; })[0];
        if (col) {
          var num = Number(m[3]), op = m[2], isNum = m[3] !== '' && !isNaN(num);
          tests.push(function (t) {
            var v = col.get(t);
            if (v === null || v === undefined) return op === '!=';
            var a = isNum && typeof v === 'number' ? v : String(v).toLowerCase(), b = isNum && typeof v === 'number' ? num : m[3].toLowerCase();
            switch (op) { case '<': return a < b; case '<=': return a <= b; case '>': return a > b; case '>=': return a >= b; case '=': return a === b; default: return a !== b; }
          });
          return;
        }
      }
      var needle = w.toLowerCase();
      tests.push(function (t) {
        return (t.s + ' ' + t.k + ' ' + (t.reason || '') + ' ' + (t.worker || '') + ' ' + JSON.stringify(t.p)).toLowerCase().indexOf(needle) >= 0;
      });
    });
    return tests;
  }

  PS.tableRows = function () {
    var cols = columns(), tests = parseFilter(T.filter, cols);
    var rows = PS.trials.filter(function (t) {
      if (T.states[t.k] === false) return false;
      if (T.onlySel && !PS.selected(t.n)) return false;
      for (var i = 0; i < tests.length; i++) if (!tests[i](t)) return false;
      return true;
    });
    var col = cols.filter(function (c) { return c.key === T.sort; })[0] || cols[0], sign = T.dir === 'asc' ? 1 : -1;
    rows.sort(function (a, b) {
      var x = col.get(a), y = col.get(b);
      if (x === null || x === '') return 1; if (y === null || y === '') return -1;
      var c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return sign * c || a.n - b.n;
    });
    return rows;
  };

  PS.view({
    id: 'table', title: 'Trials', wide: true,
    build: function (panel) {
      var self = this;
      panel.chart.remove();
      var c = panel.controls;
      var f = PS.el('input', { type: 'text', id: 'filter', size: 48, placeholder: 'filter: e.g. accuracy>0.9 state=PRUNED adam' });
      f.value = T.filter;
      f.addEventListener('input', function () { T.filter = f.value; T.page = 0; self.render(); });
      c.appendChild(f);
      Object.keys(PS.KINDS).forEach(function (k) {
        var l = PS.el('label', null, '<input type="checkbox" checked data-kind="' + k + '"> ' + PS.esc(k));
        l.querySelector('input').addEventListener('change', function (e) { T.states[k] = e.target.checked; T.page = 0; self.render(); });
        c.appendChild(l);
      });
      var only = PS.el('label', null, '<input type="checkbox" id="only-sel"> only the selection');
      only.querySelector('input').addEventListener('change', function (e) { T.onlySel = e.target.checked; T.page = 0; self.render(); });
      c.appendChild(only);
      var btn = PS.el('button', { id: 'select-filtered' }, 'select these rows');
      btn.addEventListener('click', function () { PS.select(PS.tableRows().map(function (t) { return t.n; }), self); self.render(); });
      c.appendChild(btn);
      var wrap = PS.el('div', { 'class': 'tablewrap' });
      this.box = PS.el('div', { 'class': 'tablebox' });
      this.detail = PS.el('div', { id: 'detail' }, '<p class="note">Click a row or a marker for the trial\'s details.</p>');
      wrap.appendChild(this.box); wrap.appendChild(this.detail);
      panel.div.appendChild(wrap);
      this.box.addEventListener('click', function (e) {
        var th = e.target.closest('th');
        if (th) {
          var key = th.getAttribute('data-key');
          if (T.sort === key) T.dir = T.dir === 'asc' ? 'desc' : 'asc'; else { T.sort = key; T.dir = 'asc'; }
          self.render();
          return;
        }
        var b = e.target.closest('button[data-page]');
        if (b) { T.page = Number(b.getAttribute('data-page')); self.render(); return; }
        var tr = e.target.closest('tr[data-n]');
        if (tr) PS.showTrial(Number(tr.getAttribute('data-n')));
      });
    },
    render: function () {
      var cols = columns(), rows = PS.tableRows();
      var pages = Math.max(1, Math.ceil(rows.length / PAGE));
      T.page = Math.min(T.page, pages - 1);
      var h = '<div class="pager" id="pager">' + rows.length + ' of ' + PS.trials.length + ' trials';
      if (pages > 1) h += ' \u00b7 page ' + (T.page + 1) + ' of ' + pages + ' <button data-page="' + Math.max(0, T.page - 1) + '">previous</button><button data-page="' + Math.min(pages - 1, T.page + 1) + '">next</button>';
      h += '</div><table class="trials" id="trials"><thead><tr>';
      cols.forEach(function (c) {
        h += '<th data-key="' + PS.esc(c.key) + '"' + (T.sort === c.key ? ' data-dir="' + T.dir + '"' : '') + (c.text ? ' class="text"' : '') + '>' + PS.esc(c.label) + '</th>';
      });
      h += '</tr></thead><tbody>';
      rows.slice(T.page * PAGE, (T.page + 1) * PAGE).forEach(function (t) {
        var cls = (PS.sel !== null && PS.sel.has(t.n) ? 'selected' : '') + (T.current === t.n ? ' current' : '');
        h += '<tr data-n="' + t.n + '" class="' + cls + '">';
        cols.forEach(function (c) {
          var v = c.get(t);
          if (c.key === 'state') h += '<td class="text"><span class="state k-' + t.k + '">' + PS.esc(t.s) + '</span></td>';
          else h += '<td' + (c.text ? ' class="text"' : '') + '>' + PS.esc(v === null ? '' : PS.fmt(v)) + '</td>';
        });
        h += '</tr>';
      });
      h += '</tbody></table>';
      this.box.innerHTML = h;
      if (T.current !== null && PS.byN.has(T.current)) this.showDetail(PS.byN.get(T.current));
    },
    showDetail: function (t) {
      var h = '<h3>trial ' + t.n + ' <span class="state k-' + t.k + '">' + PS.esc(t.s) + '</span> ' + PS.esc(PS.KINDS[t.k].label) + '</h3><table>';
      PS.study.objectives.forEach(function (o) {
        var v = t.v[o.name];
        h += '<tr><td><b>' + PS.esc(o.name) + '</b></td><td>' + (typeof v === 'number' ? PS.esc(PS.fmt(v)) : (PS.value(t, o.name) !== null ? PS.esc(PS.fmt(PS.value(t, o.name))) + ' (last report)' : '-')) +
          (o.constraint ? ' <span class="note">(constraint ' + [o.constraint.min !== null && o.constraint.min !== undefined ? '\u2265 ' + PS.fmt(o.constraint.min) : '', o.constraint.max !== null && o.constraint.max !== undefined ? '\u2264 ' + PS.fmt(o.constraint.max) : ''].filter(Boolean).join(', ') + ')</span>' : '') + '</td></tr>';
      });
      Object.keys(t.v).forEach(function (k) { if (PS.objNames().indexOf(k) < 0) h += '<tr><td>' + PS.esc(k) + '</td><td>' + PS.esc(PS.fmt(t.v[k])) + '</td></tr>'; });
      h += '<tr><td>feasible</td><td>' + (t.feasible === null ? 'not judged (not COMPLETE)' : t.feasible ? 'yes' : '<b class="reason">no</b>, violation ' + PS.esc(PS.fmt(t.violation)) ) + '</td></tr>';
      Object.keys(t.p).forEach(function (k) { h += '<tr><td>' + PS.esc(k) + '</td><td>' + PS.esc(PS.fmt(t.p[k])) + '</td></tr>'; });
      if (!Object.keys(t.p).length) h += '<tr><td colspan="2">no parameters yet</td></tr>';
      if (t.reason) h += '<tr><td>reason</td><td class="reason">' + PS.esc(t.reason) + (t.cause ? ' (' + PS.esc(t.cause) + ')' : '') + '</td></tr>';
      if (t.worker) h += '<tr><td>worker</td><td>' + PS.esc(t.worker) + '</td></tr>';
      if (t.t0) h += '<tr><td>started</td><td>' + PS.esc(new Date(t.t0).toISOString()) + (t.t1 ? ' \u00b7 ' + PS.fmt((t.t1 - t.t0) / 1000) + ' s' : '') + '</td></tr>';
      if (t.retry_of !== undefined) h += '<tr><td>retry of</td><td>trial ' + t.retry_of + '</td></tr>';
      if (t.steps) h += '<tr><td>reports</td><td>' + t.steps.length + ' (steps ' + t.steps[0][0] + '\u2013' + t.steps[t.steps.length - 1][0] + ')</td></tr>';
      if (t.test) Object.keys(t.test).forEach(function (k) {
        var val = t.test_valid && typeof t.test_valid[k] === 'number' ? ' <span class="note">(validation ' + PS.esc(PS.fmt(t.test_valid[k])) + ' on the re-run)</span>' : '';
        h += '<tr><td><b>test ' + PS.esc(k) + '</b></td><td>' + PS.esc(PS.fmt(t.test[k])) + val + '</td></tr>';
      });
      if (t.forecast) h += '<tr><td>forecast</td><td>' + PS.esc(JSON.stringify(t.forecast)) + '</td></tr>';
      h += '</table>';
      if (t.cmd) h += '<div class="note">to reproduce:</div><pre class="cmd">' + PS.esc(t.cmd) + '</pre>';
      if (t.log) h += '<div class="note">log tail (' + PS.esc(t.log_path || '') + '):</div><pre class="log">' + PS.esc(t.log) + '</pre>';
      else if (t.log_omitted) h += '<div class="note" id="log-omitted">log tail not in this page (it holds the tails of failed, then Pareto-optimal, then the newest trials up to its --log-budget): ' + PS.esc(t.log_path) + '</div>';
      this.detail.innerHTML = h;
    }
  });

  PS.showTrial = function (n) {
    var t = PS.byN.get(n), table = PS.views.filter(function (v) { return v.id === 'table'; })[0];
    if (!t || !table) return;
    T.current = n;
    var rows = PS.tableRows(), i = rows.indexOf(t);
    if (i < 0) { T.filter = ''; T.states = {}; T.onlySel = false; document.getElementById('filter').value = ''; rows = PS.tableRows(); i = rows.indexOf(t); }
    T.page = Math.floor(Math.max(0, i) / PAGE);
    table.render();
    table.showDetail(t);
    table.detail.scrollIntoView({ block: 'nearest' });
  };

  /* ---------- header, toolbar, layout ---------- */
  function header() {
    var s = PS.study, hv = s.hypervolume || [], last = hv.length ? hv[hv.length - 1] : null;
    var counts = Object.keys(s.counts).map(function (k) { return s.counts[k] + ' ' + k; }).join(', ') || 'none yet';
    var hvText = last ? (last[2] !== null ? '<b>' + PS.fmt(last[2]) + '</b> normalised (' + PS.fmt(last[1]) + ' raw)' : PS.fmt(last[1])) + ' against the ' + PS.esc(s.reference.source) : '-';
    document.getElementById('meta').innerHTML = PS.esc(s.finished + ' of ' + s.budget + ' trials finished') + ' (' + PS.esc(counts) + ') \u00b7 Pareto set: <b>' +
      s.pareto.length + '</b> \u00b7 hypervolume ' + hvText + ' \u00b7 storage <code>' + PS.esc(s.storage) + '</code> \u00b7 generated ' + PS.esc(PS.data.generated);
  }
  PS.updateToolbar = function () {
    var info = document.getElementById('selinfo');
    if (info) info.innerHTML = PS.sel === null ? 'no selection' : '<span class="sel">' + PS.sel.size + ' selected</span>';
  };
  function toolbar() {
    var bar = document.getElementById('toolbar');
    bar.innerHTML = '';
    bar.appendChild(PS.chooser('colour by', ['kind'].concat(PS.objNames(), PS.paramNames()), function () { return PS.colorBy; },
      function (v) { PS.colorBy = v; PS.rerender(); }));
    var legend = PS.el('span', { 'class': 'legend', id: 'legend' });
    bar.appendChild(legend);
    var info = PS.el('span', { id: 'selinfo' });
    bar.appendChild(info);
    var clear = PS.el('button', { id: 'clear-selection' }, 'clear selection');
    clear.addEventListener('click', function () { PS.clearSelection(); });
    bar.appendChild(clear);
    PS.updateToolbar();
  }
  function legend() {
    var l = document.getElementById('legend');
    if (PS.colorBy === 'kind') {
      l.innerHTML = ['front', 'dominated', 'infeasible', 'pruned', 'failed'].map(function (k) {
        return '<span><i style="background:' + PS.KINDS[k].color + '"></i>' + PS.esc(PS.KINDS[k].label) + '</span>';
      }).join('');
    } else {
      l.innerHTML = '<span>' + PS.esc(PS.colorBy) + ': low <i class="gradient"></i> high (shape still tells the kind: \u25cf feasible, \u25cb infeasible, \u25a0 pruned, \u2716 failed)</span>';
    }
  }
  PS.rerender = function () {
    PS.prepareColour();
    legend();
    PS.views.forEach(PS.refresh);
  };

  function layout() {
    var main = document.getElementById('views');
    PS.views = PS.views.filter(function (v) { return !v.enabled || v.enabled(); });
    PS.views.forEach(function (v) {
      var div = PS.el('section', { 'class': 'panel' + (v.wide ? ' wide' : ''), id: 'view-' + v.id });
      div.appendChild(PS.el('h2', null, PS.esc(v.title)));
      var controls = PS.el('div', { 'class': 'controls' });
      var chart = PS.el('div', { 'class': 'chart' });
      var note = PS.el('p', { 'class': 'note' });
      div.appendChild(controls); div.appendChild(note); div.appendChild(chart);
      main.appendChild(div);
      try { v.build({ div: div, controls: controls, chart: chart, note: note }); } catch (e) {
        PS.errors.push(v.id + ': ' + (e && e.stack || e));
        if (window.console) console.error('view ' + v.id + ' failed to build', e);
      }
    });
  }

  function load(data) {
    PS.data = data;
    PS.study = data.study;
    PS.trials = data.study.trials;
    PS.byN = new Map();
    PS.trials.forEach(function (t) { PS.byN.set(t.n, t); });
    if (PS.sel !== null) PS.sel.forEach(function (n) { if (!PS.byN.has(n)) PS.sel.delete(n); });
    document.title = 'paretosearch: ' + PS.study.name;
    document.getElementById('title').textContent = PS.study.name;
    header();
  }

  PS.start = function () {
    var t0 = performance.now();
    var embedded = document.getElementById('ps-data').textContent;
    var live = document.body.getAttribute('data-live') === '1';
    function first(data) {
      load(data);
      toolbar();
      layout();
      PS.watch();
      PS.rerender();
      window.addEventListener('resize', PS.resize);
      PS.ready = true;
      PS.startMs = performance.now() - t0;
      if (live) poll(data.token);
    }
    if (embedded.trim()) first(JSON.parse(embedded));
    else fetch('data.json', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(first);
  };

  function poll(token) {
    var status = document.getElementById('live');
    setInterval(function () {
      fetch('state', { cache: 'no-store' }).then(function (r) { return r.text(); }).then(function (t) {
        status.className = '';
        status.textContent = 'live \u00b7 checked ' + new Date().toLocaleTimeString();
        if (t.trim() === token) return;
        return fetch('data.json', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (data) {
          token = data.token;
          load(data);
          PS.rerender();
          PS.updates = (PS.updates || 0) + 1;
        });
      }).catch(function () {
        status.className = 'down';
        status.textContent = 'live: server unreachable (is `paretosearch serve` still running?)';
      });
    }, 2000);
  }
})();
