// environments.js — every environment at a glance: its live release, the
// traffic split, the run in progress (step n of m) and open incidents,
// polled every second while the page is visible.

import * as api from '../lib/api.js';
import * as session from '../lib/session.js';
import {h, clear, time, errorBox} from '../lib/dom.js';
import {poll} from '../lib/poll.js';
import {stateBadge, words} from '../lib/words.js';
import {rollbackPanel} from '../lib/rollback.js';

export function render(root) {
	const list = h('div', {class: 'envs', 'aria-live': 'polite'});
	const panel = h('div', {class: 'panel-slot'});
	root.append(h('h1', {}, 'Environments'), panel, list);
	let last = '';
	return poll(async () => {
		let status, incidents;
		try {
			// the incidents are extra: a refusal of them must not hide the rest
			[status, incidents] = await Promise.all([
				api.get('/api/v1/status'),
				api.get('/api/v1/incidents?open=true&limit=100').catch(() => ({incidents: []})),
			]);
		} catch (e) {
			clear(list).append(errorBox(e));
			last = '';
			return;
		}
		// redraw only on change, so focus and selection survive the polling
		const sig = JSON.stringify([status, incidents]);
		if (sig === last)
			return;
		last = sig;
		const envs = status.environments || [status];
		clear(list).append(...envs.map((st) => envCard(st, incidents.incidents || [], panel)));
	}, 1000);
}

function envCard(st, incidents, panel) {
	const open = incidents.filter((i) => i.env === st.env);
	return h('section', {class: 'card env', 'data-env': st.env, 'aria-labelledby': `env-${st.env}`},
		h('h2', {id: `env-${st.env}`}, st.env),
		liveLine(st.live),
		trafficLine(st.traffic),
		runLine(st.run),
		incidentLines(open),
		actions(st, panel));
}

function liveLine(live) {
	if (!live)
		return h('p', {class: 'live'}, 'Live: nothing deployed yet.');
	return h('p', {class: 'live'}, 'Live: ', h('strong', {class: 'version'}, live.version), ' ',
		stateBadge(live.state),
		live.verified_at ? [' since ', time(live.verified_at)] : null,
		live.schema ? ` · schema ${live.schema}` : null);
}

// The split as a bar for the eye and as numbers in text for everyone.
export function trafficLine(tr) {
	if (!tr)
		return h('p', {class: 'traffic muted'}, 'Traffic: no router.');
	if (!tr.stable && !tr.canary)
		return h('p', {class: 'traffic muted'}, `Traffic (${tr.router}): nothing routed yet.`);
	const w = tr.canary ? Number(tr.canary_weight) || 0 : 0;
	const stable = h('span', {class: 'bar-stable'});
	const canary = h('span', {class: 'bar-canary'});
	stable.style.width = `${100 - w}%`;   // CSSOM, which the CSP allows
	canary.style.width = `${w}%`;
	const text = [`stable ${tr.stable ? tr.stable.version : '—'}: ${100 - w} %`];
	if (tr.canary)
		text.push(`canary ${tr.canary.version}: ${w} %`);
	return h('div', {class: 'traffic'},
		h('span', {class: 'bar', 'aria-hidden': 'true'}, stable, canary),
		h('p', {class: 'split'}, `Traffic (${tr.router}): `, text.join(' · ')));
}

function runLine(run) {
	if (!run)
		return h('p', {class: 'run muted'}, 'No run in progress.');
	const step = run.total ? `step ${Math.min(run.cursor + 1, run.total)}/${run.total}${run.step ? ` (${run.step})` : ''}` : '';
	const ap = run.approval && run.approval.status === 'waiting'
		? h('p', {class: 'approval'}, `✋ ${run.approval.needed} approval(s) still needed from ${(run.approval.from || []).join(', ')}`)
		: null;
	return h('div', {class: 'run'},
		h('p', {}, 'Run ', h('a', {href: `#/runs/${run.id}`}, `#${run.id}`), `: ${run.kind} of `,
			h('strong', {}, run.version), ' — ', stateBadge(run.state), step ? ` — ${step}` : ''),
		ap);
}

function incidentLines(open) {
	if (!open.length)
		return h('p', {class: 'incidents muted'}, 'No open incidents.');
	return h('ul', {class: 'incidents'}, open.map((i) => h('li', {},
		h('a', {href: `#/incidents/${i.id}`}, `Incident ${i.id}`),
		` ${i.severity} ${words(i.kind)} of ${i.failed_version || '?'} — `, stateBadge(i.state),
		` — level ${i.level}`)));
}

function actions(st, panel) {
	const bar = h('p', {class: 'actions'},
		h('a', {href: `#/history?env=${encodeURIComponent(st.env)}`}, 'History'));
	if (st.live && session.can('rollback', st.env))
		bar.append(' ', h('button', {type: 'button', on: {click: () => rollbackPanel(panel, st.env)}},
			`Roll back ${st.env}…`));
	return bar;
}
