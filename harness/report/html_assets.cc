#include "report/html_assets.h"

namespace socklab::harness {

const char* const kReportStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 2px solid #ddd; } h4 { margin: 0.6em 0 0.2em; }
.summary, .meta { color: #555; } .about { white-space: pre-line; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 2px 8px; text-align: left; vertical-align: top; }
table.checks tr.passed td.mark { color: #1a7f37; } table.checks tr.failed td.mark, table.checks tr.notrun td.mark { color: #c62828; }
table.checks tr.failed { background: #fff0f0; } .why { font-size: 12px; color: #555; white-space: pre-wrap; }
figure.chart { margin: 0.8em 0 1.2em; } svg.chart { font: 12px system-ui, sans-serif; }
svg.chart .grid { stroke: #eee; } svg.chart .axis { stroke: #555; } svg.chart .tick { fill: #555; }
svg.chart .chart-title { font-weight: bold; } table.measurements { font: 12px monospace; }
table.measurements th { border-bottom: 1px solid #ccc; } table.measurements td.ratio { color: #555; }
table.sockets { font: 12px monospace; } table.sockets th { border-bottom: 1px solid #ccc; }
svg text { font: 11px monospace; fill: #222; }
circle.event { fill: #444; } circle.k-check { fill: #1a7f37; } circle.k-snapshot { fill: #fff; stroke: #444; }
circle.event.current { fill: #d81b60; r: 5.5; }
.s-LISTEN { fill: #b0bec5; background: #b0bec5; } .s-SYN-SENT { fill: #ffe082; background: #ffe082; }
.s-SYN-RECV { fill: #ffcc80; background: #ffcc80; } .s-ESTAB { fill: #81c784; background: #81c784; }
.s-FIN-WAIT-1 { fill: #90caf9; background: #90caf9; } .s-FIN-WAIT-2 { fill: #64b5f6; background: #64b5f6; }
.s-TIME-WAIT { fill: #ce93d8; background: #ce93d8; } .s-CLOSE-WAIT { fill: #ef9a9a; background: #ef9a9a; }
.s-LAST-ACK { fill: #e57373; background: #e57373; } .s-CLOSING { fill: #4fc3f7; background: #4fc3f7; }
.s-CLOSED, .s-gone { fill: #eeeeee; background: #eeeeee; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #999; vertical-align: middle; margin: 0 3px 0 10px; }
.ladder line.wire { stroke: #999; } .ladder line.segment { stroke: #333; marker-end: url(#ladder-arrow); } .ladder line.rst { stroke: #c62828; }
.ladder line.retransmission, .packets line.retransmission { stroke-dasharray: 4 3; }
.ladder g.current line.segment { stroke: #d81b60; stroke-width: 3; } .ladder g.current text { fill: #d81b60; font-weight: bold; }
.packets line { stroke: #455a64; stroke-width: 1.5; marker-end: url(#packet-arrow); } .packets line.syn { stroke: #e6a100; } .packets line.fin { stroke: #1565c0; }
.packets line.rst { stroke: #c62828; stroke-width: 2; } .packets path { fill: #455a64; }
.packets line.current { stroke: #d81b60; stroke-width: 4; }
.stepper:focus { outline: 2px solid #90caf9; outline-offset: 4px; }
.controls { display: flex; gap: 4px; align-items: center; flex-wrap: wrap; }
.controls button { font-size: 14px; min-width: 2.6em; padding: 2px 6px; } .controls .slider { width: 360px; }
.views { margin-left: 16px; } .views button[aria-pressed=true] { background: #1565c0; color: #fff; border-color: #1565c0; }
.status { font: 13px monospace; background: #f3f6fa; border-left: 4px solid #d81b60; padding: 4px 8px; min-height: 1.4em; }
.legend { font-size: 12px; color: #555; margin: 0.3em 0; }
.lanes-box { display: flex; border: 1px solid #eee; } .lanes-box .scroll { flex: 1; overflow-x: auto; }
svg.lane-labels { flex: none; border-right: 1px solid #eee; } svg.lane-labels text { cursor: pointer; }
body.focus > :not(.focused):not(.shared), body.focus section.focused > :not(.stepper):not(h2) { display: none; }
body.focus .stepper > p.meta { display: none; } svg.shared { position: absolute; } .by-col .grid { stroke: #e8e8e8; fill: none; } .ticks line { stroke: #bbb; }
.stepper:not([data-view=linear]) .ticks, .stepper[data-view=linear] .by-col { display: none; }

svg .cursor { stroke: #d81b60; stroke-width: 2; stroke-dasharray: 5 3; }
rect.state.current { stroke: #d81b60; stroke-width: 2; } .future { opacity: 0.28; }
rect.idle { fill: #f1f1f1; } text.idle { fill: #777; font-size: 10px; }
text.t { fill: #666; font-size: 10px; } text.t.full { fill: #222; font-weight: bold; }
text.what { font-size: 10.5px; } text.k-step { fill: #222; } text.k-check { fill: #1a7f37; } text.k-snapshot { fill: #555; }
text.k-segment { fill: #455a64; } text.k-state { fill: #6a1b9a; } text.what.current { fill: #d81b60; font-weight: bold; }
.stepview { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; margin-top: 0.5em; }
.side { flex: 1; min-width: 340px; } .lane-choice { max-width: 100%; font: 12px monospace; }
.figure .edge path { fill: none; stroke: #c8c8c8; marker-end: url(#diagram-arrow); } .figure .edge text { font-size: 9.5px; fill: #9a9a9a; text-anchor: middle; }
.figure .edge text { paint-order: stroke; stroke: #fff; stroke-width: 3px; } marker path { fill: #555; }
#diagram-arrow path { fill: #999; } #diagram-arrow-lit path { fill: #1565c0; }
.figure .node rect { fill: #fafafa; stroke: #cfcfcf; } .figure .node text { text-anchor: middle; fill: #8a8a8a; font-weight: bold; }
.lane-path { display: none; } .lane-path.shown { display: inline; }
rect.visited { fill: #1565c0; fill-opacity: 0.14; stroke: #1565c0; stroke-width: 2.5; }
.lane-path .taken path { fill: none; stroke: #1565c0; stroke-width: 3; marker-end: url(#diagram-arrow-lit); } .lane-path .taken.extra path { stroke: #c62828; stroke-dasharray: 7 4; }
.lane-path .taken circle { fill: #1565c0; } .lane-path .taken.extra circle { fill: #c62828; }
.lane-path .taken text { fill: #fff; font-size: 10px; text-anchor: middle; font-weight: bold; }
.lane-path .taken.current path { stroke: #d81b60; stroke-width: 5; } .lane-path .taken.current circle { fill: #d81b60; }
.path-list { display: none; font-size: 13px; padding-left: 1.8em; } .path-list.shown { display: block; }
.path-list li { cursor: pointer; } .path-list li.current, .event-list li.current { background: #fce4ec; }
table.at-step td { white-space: nowrap; } table.at-step tr.absent { display: none; } table.at-step tr.changed td { background: #fff3c4; }
.event-list { font: 12px monospace; margin-top: 0.5em; } .event-list i { color: #777; font-style: normal; }
)";

const char* const kReportScript = R"(
(function () {
  'use strict';
  var words = document.body.dataset;
  function params() {
    var p = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      if (i > 0) p[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    });
    return p;
  }
  function Stepper(root) {
    var n = Number(root.dataset.events), section = root.closest('section');
    var slider = root.querySelector('.slider'), status = root.querySelector('.status');
    var play = root.querySelector('[data-do=play]'), choice = root.querySelector('.lane-choice');
    var marked = Array.prototype.slice.call(section.querySelectorAll('[data-e]'));
    var laneOf = {};  // a state change's event -> its lane
    root.querySelectorAll('ol.path-list').forEach(function (ol) {
      ol.querySelectorAll('li').forEach(function (li) { laneOf[li.dataset.e] = ol.dataset.lane; });
    });
    var timer = null, self = this;
    this.id = section.id;
    this.root = root;
    function chooseLane(lane) {
      root.querySelectorAll('.lane-path, .path-list').forEach(function (g) {
        g.classList.toggle('shown', g.dataset.lane === String(lane));
      });
      if (choice) choice.value = String(lane);
    }
    this.chooseLane = chooseLane;
    function go(k, stay) {  // stay: keep the chosen connection (else a state change shows its own)
      if (!n) return;
      k = Math.max(1, Math.min(n, k));
      self.at = k;
      slider.value = k;
      marked.forEach(function (el) {
        var e = Number(el.dataset.e);
        el.classList.toggle('current', e === k);
        el.classList.toggle('future', e > k);
      });
      root.querySelectorAll('svg.timeline').forEach(function (svg) {
        var x = axis(svg).x[k - 1], cursor = svg.querySelector('.cursor');
        cursor.setAttribute('x1', x);
        cursor.setAttribute('x2', x);
        var box = svg.parentNode;
        if (svg.getBoundingClientRect().width && (x < box.scrollLeft + 60 || x > box.scrollLeft + box.clientWidth - 60)) {
          box.scrollLeft = Math.max(0, x - box.clientWidth / 2);
        }
      });
      if (!stay && laneOf[k] !== undefined) chooseLane(laneOf[k]);
      root.querySelectorAll('table.at-step tr[data-rows]').forEach(function (tr) {
        var now = null;
        JSON.parse(tr.dataset.rows).forEach(function (row) { if (row[0] <= k) now = row; });
        var absent = !now || !now[1];
        tr.classList.toggle('absent', absent);
        tr.classList.toggle('changed', !!now && now[0] === k);
        if (absent) return;
        tr.querySelector('.st').textContent = now[1];
        tr.querySelector('.rq').textContent = now[2];
        tr.querySelector('.sq').textContent = now[3];
        tr.querySelector('.pr').textContent = now[4];
        tr.querySelector('.as').textContent = now[5] ? words.tAsOf.replace('{1}', now[5]) : '';
      });
      var li = root.querySelector('.event-list li[data-e="' + k + '"]');
      status.textContent = words.tStep.replace('{1}', k).replace('{2}', n) + '  ·  ' + (li ? li.textContent : '');
      root.dataset.at = k;
    }
    this.go = go;
    function stop() {
      if (timer) clearInterval(timer);
      timer = null;
      play.textContent = words.tPlay;
      play.setAttribute('aria-label', words.tPlay);
    }
    function toggle() {
      if (timer) return stop();
      if (self.at >= n) go(1);
      timer = setInterval(function () { if (self.at >= n) stop(); else go(self.at + 1); }, 700);
      play.textContent = words.tPause;
      play.setAttribute('aria-label', words.tPause);
    }
    // The two views: events in columns (as drawn), or time linearly; what moves is placed from the axis' x.
    function axis(svg) {
      var linear = root.dataset.view === 'linear';
      return { x: (linear ? svg.dataset.xl : svg.dataset.xs).split(' ').map(Number),
               right: Number(linear ? svg.dataset.rl : svg.dataset.r) };
    }
    this.view = function (view) {
      root.dataset.view = view;
      root.querySelectorAll('button[data-view]').forEach(function (b) {
        b.setAttribute('aria-pressed', String(b.dataset.view === view));
      });
      root.querySelectorAll('svg.timeline').forEach(function (svg) {
        var a = axis(svg), width = a.right + 20, height = svg.viewBox.baseVal.height;
        svg.setAttribute('width', width);
        svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
        svg.querySelectorAll('rect.state').forEach(function (band) {
          var from = a.x[band.dataset.e - 1], to = band.dataset.to ? a.x[band.dataset.to - 1] : a.right;
          band.setAttribute('x', from);
          band.setAttribute('width', Math.max(1.5, to - from));
        });
        svg.querySelectorAll('line.packet').forEach(function (l) {
          l.setAttribute('x1', a.x[l.dataset.e - 1]);
          l.setAttribute('x2', a.x[l.dataset.e - 1]);
        });
        svg.querySelectorAll('circle.event').forEach(function (c) { c.setAttribute('cx', a.x[c.dataset.e - 1]); });
      });
      go(self.at, true);
    };
    root.querySelectorAll('[data-do]').forEach(function (b) {
      b.addEventListener('click', function () {
        var act = b.dataset.do;
        if (act === 'play') return toggle();
        stop();
        go(act === 'first' ? 1 : act === 'last' ? n : act === 'prev' ? self.at - 1 : self.at + 1);
      });
    });
    root.querySelectorAll('button[data-view]').forEach(function (b) {
      b.addEventListener('click', function () { self.view(b.dataset.view); });
    });
    slider.addEventListener('input', function () { stop(); go(Number(slider.value)); });
    if (choice) choice.addEventListener('change', function () { chooseLane(choice.value); });
    root.querySelectorAll('.path-list li').forEach(function (li) {
      li.addEventListener('click', function () { stop(); go(Number(li.dataset.e)); });
    });
    root.querySelectorAll('svg.timeline .lane, svg.lane-labels text').forEach(function (g) {
      g.addEventListener('click', function () { chooseLane(g.dataset.lane); });
    });
    root.addEventListener('keydown', function (ev) {
      var tag = ev.target.tagName;
      if (tag === 'INPUT' || tag === 'SELECT') return;  // the slider and the chooser have their own keys
      var keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
      if (keys[ev.key]) { stop(); go(self.at + keys[ev.key]); ev.preventDefault(); }
      else if (ev.key === 'Home') { stop(); go(1); ev.preventDefault(); }
      else if (ev.key === 'End') { stop(); go(n); ev.preventDefault(); }
      else if (ev.key === ' ' && tag !== 'BUTTON') { toggle(); ev.preventDefault(); }
    });
    go(n, true);
  }
  var steppers = Array.prototype.map.call(document.querySelectorAll('.stepper'), function (root) { return new Stepper(root); });
  function fromAddress() {
    var p = params();
    steppers.forEach(function (s) {
      if (p.exp && p.exp !== s.id) return;
      if (p.view) s.view(p.view);
      if (p.step) s.go(Number(p.step));
      if (p.lane) s.chooseLane(p.lane);
    });
    var first = steppers.filter(function (s) { return !p.exp || p.exp === s.id; })[0];
    // focus: that experiment's timeline alone on the page (for a projector, or a screenshot of one step)
    document.body.classList.toggle('focus', !!(first && p.focus));
    steppers.forEach(function (s) { s.root.closest('section').classList.toggle('focused', !!p.focus && s === first); });
    if (first && !p.focus && (p.step || p.exp)) first.root.scrollIntoView();
  }
  window.addEventListener('hashchange', fromAddress);
  fromAddress();
})();
)";

}  // namespace socklab::harness
