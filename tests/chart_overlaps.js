// For every plotly chart on the page: the pairs of text boxes (title, legend, axis titles, tick labels,
// annotations such as subplot titles) and plot areas that intersect, and the text boxes that stick out of
// the chart (cut off where it is drawn: b is "chart edge"). Returns [{chart, a, b}], empty when nothing
// overlaps. Read by tests/test_browser_presenter.py (element bounding boxes, 1 px tolerance).
(() => {
  const out = [];
  const box = el => { const r = el.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom, w: r.width, h: r.height}; };
  const hit = (a, b) => a.w > 0 && a.h > 0 && b.w > 0 && b.h > 0 &&
      Math.min(a.r, b.r) - Math.max(a.l, b.l) > 1 && Math.min(a.b, b.b) - Math.max(a.t, b.t) > 1;
  document.querySelectorAll('.js-plotly-plot').forEach((plot, n) => {
    if (!plot.getBoundingClientRect().width) return;  // in a hidden tab
    const name = (plot.querySelector('.gtitle') || {}).textContent || `chart ${n}`;
    const items = [];
    const add = (kind, els) => els.forEach(el => { const b = box(el); if (b.w > 0 && b.h > 0) items.push({kind, el, b, text: el.textContent.slice(0, 40)}); });
    add('title', plot.querySelectorAll('.gtitle'));
    add('legend', plot.querySelectorAll('.legend .bg'));
    add('axis title', plot.querySelectorAll('[class*="g-x"][class$="title"] text, [class*="g-y"][class$="title"] text'));
    add('x ticks', plot.querySelectorAll('.xaxislayer-above .xtick text, .xaxislayer-above [class*="tick"] text'));
    add('y ticks', plot.querySelectorAll('.yaxislayer-above .ytick text'));
    add('annotation', plot.querySelectorAll('.annotation-text-g text'));
    add('plot area', plot.querySelectorAll('.nsewdrag'));
    const skip = new Set(['x ticks|y ticks', 'annotation|plot area', 'plot area|x ticks', 'plot area|y ticks',
                          'x ticks|x ticks', 'y ticks|y ticks', 'plot area|plot area', 'annotation|annotation',
                          'axis title|plot area']);
    const edge = box(plot);
    items.forEach(a => {
      if (a.kind === 'plot area') return;
      if (a.b.l < edge.l - 1 || a.b.t < edge.t - 1 || a.b.r > edge.r + 1 || a.b.b > edge.b + 1)
        out.push({chart: name.slice(0, 80), a: `${a.kind}: ${a.text}`, b: 'chart edge'});
    });
    for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
      const a = items[i], b = items[j];
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const key = [a.kind, b.kind].sort().join('|');
      if (skip.has(key) || (a.kind === b.kind && a.kind !== 'axis title')) continue;
      if (hit(a.b, b.b)) out.push({chart: name.slice(0, 80), a: `${a.kind}: ${a.text}`, b: `${b.kind}: ${b.text}`});
    }
  });
  return out;
})()
