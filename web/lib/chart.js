// chart.js — a small SVG line chart drawn by hand: a few series over time,
// one line each (told apart by dash pattern and legend text, not colour
// alone), and an optional vertical mark (the decision moment).
import {h, s} from './dom.js';

const W = 360, H = 150, L = 44, R = 8, T = 10, B = 24;
const MAX_MARKS = 60;   // beyond, the marks would cover the line

// series: [{name, cls, marker: 'circle'|'square', points: [[at_ms, value], …]}]
export function lineChart({title, unit, series, markAt, markLabel}) {
	const all = series.flatMap((x) => x.points);
	const xs = all.map((p) => p[0]).concat(markAt ? [markAt] : []);
	const x0 = Math.min(...xs), x1 = Math.max(...xs);
	const ymax = Math.max(...all.map((p) => p[1]), 0) * 1.1 || 1;
	const sx = (x) => L + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * (W - L - R);
	const sy = (y) => T + (1 - y / ymax) * (H - T - B);
	const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
	const clock = (ms) => new Date(ms).toLocaleTimeString();
	const last = series.map((x) => `${x.name} ${x.points.length ? fmt(x.points[x.points.length - 1][1]) : '—'} ${unit}`);

	const svg = s('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
		'aria-label': `${title}; latest: ${last.join(', ')}`},
	s('title', {}, title),
	s('line', {x1: L, y1: sy(0), x2: W - R, y2: sy(0), class: 'axis'}),
	s('line', {x1: L, y1: T, x2: L, y2: sy(0), class: 'axis'}),
	s('text', {x: L - 4, y: T + 8, class: 'tick', 'text-anchor': 'end'}, fmt(ymax)),
	s('text', {x: L - 4, y: sy(0), class: 'tick', 'text-anchor': 'end'}, '0'),
	s('text', {x: L, y: H - 6, class: 'tick'}, clock(x0)),
	s('text', {x: W - R, y: H - 6, class: 'tick', 'text-anchor': 'end'}, clock(x1)));
	for (const x of series) {
		if (!x.points.length)
			continue;
		svg.append(s('polyline', {class: `line ${x.cls}`, fill: 'none',
			points: x.points.map(([a, b]) => `${sx(a).toFixed(1)},${sy(b).toFixed(1)}`).join(' ')}));
		// Each sample a mark of its own shape (a canary decided within a
		// second has one sample, which a line alone would not show).
		if (x.points.length <= MAX_MARKS)
			for (const [a, b] of x.points)
				svg.append(x.marker === 'square'
					? s('rect', {x: (sx(a) - 2.5).toFixed(1), y: (sy(b) - 2.5).toFixed(1), width: 5, height: 5, class: `dot ${x.cls}`})
					: s('circle', {cx: sx(a).toFixed(1), cy: sy(b).toFixed(1), r: 3, class: `dot ${x.cls}`}));
	}
	if (markAt)
		svg.append(s('line', {x1: sx(markAt), y1: T, x2: sx(markAt), y2: sy(0), class: 'mark'}),
			s('text', {x: Math.min(sx(markAt) + 3, W - 60), y: T + 10, class: 'mark-label'}, markLabel || 'decision'));
	return h('figure', {class: 'chart-box'},
		h('figcaption', {}, h('strong', {}, title), ` (${unit})`),
		svg,
		h('p', {class: 'legend'}, series.map((x) => h('span', {class: `key ${x.cls}`},
			h('span', {class: 'swatch', 'aria-hidden': 'true'}), ` ${x.name}`))),
		h('p', {class: 'latest'}, `Latest: ${last.join(' · ')}`));
}
