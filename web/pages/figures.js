// figures.js — a run's figures over time (GET /api/v1/runs/{id}/figures):
// request rate, error rate and latency percentiles of canary against
// baseline, with the decision moment marked. When the server has no
// figures for the run (404) the page says so: it never draws made-up data.

import * as api from '../lib/api.js';
import {h, clear, errorBox} from '../lib/dom.js';
import {lineChart} from '../lib/chart.js';

const CHARTS = [
	['Request rate', 'req/s', (x) => x.rps],
	['Error rate', '%', (x) => x.error_rate * 100],
	['Latency p50', 'ms', (x) => x.p50_ms],
	['Latency p95', 'ms', (x) => x.p95_ms],
	['Latency p99', 'ms', (x) => x.p99_ms],
];

export function render(root, {id}) {
	root.append(h('h1', {}, `Run ${id}: figures`), h('p', {}, h('a', {href: `#/runs/${id}`}, `Back to run ${id}`)));
	const slot = h('div');
	root.append(slot);
	figuresSection(slot, id);
}

export async function figuresSection(slot, id) {
	const sec = h('section', {class: 'figures', 'aria-labelledby': 'fig-title'}, h('h2', {id: 'fig-title'}, 'Release figures'));
	clear(slot).append(sec);
	let f;
	try {
		f = await api.get(`/api/v1/runs/${id}/figures`);
	} catch (e) {
		sec.append(e.status === 404 ? h('p', {class: 'muted no-figures'}, 'No figures for this run.') : errorBox(e));
		return;
	}
	const samples = (f.samples || []).filter((x) => Number.isFinite(x.at_ms));
	if (!samples.length) {
		sec.append(h('p', {class: 'muted no-figures'}, 'No figures for this run.'));
		return;
	}
	const sides = ['canary', 'baseline'];
	const version = (side) => (samples.find((x) => x.side === side) || {}).version;
	const grid = h('div', {class: 'charts'});
	for (const [title, unit, pick] of CHARTS) {
		grid.append(lineChart({
			title, unit,
			markAt: f.decision_at_ms || null,
			series: sides.map((side) => ({
				name: `${side}${version(side) ? ` ${version(side)}` : ''}`,
				cls: `line-${side}`,
				marker: side === 'canary' ? 'circle' : 'square',
				points: samples.filter((x) => x.side === side && Number.isFinite(pick(x)))
					.map((x) => [x.at_ms, pick(x)]),
			})),
		}));
	}
	sec.append(h('p', {}, `A sample every ${f.interval_ms} ms, and at the run's events;`,
		' canary: solid line and circles, baseline: dashed line and squares.',
		f.decision_at_ms ? ' The vertical line marks the decision.' : ''), grid);
}
