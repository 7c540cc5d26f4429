// history.js — past runs, newest first, filtered by environment (by the
// server) and by kind and state (here: the API filters only by
// environment, so the page reads on until it has a page of matches),
// paged with `before`.

import * as api from '../lib/api.js';
import {h, clear, time, duration, errorBox} from '../lib/dom.js';
import {stateBadge} from '../lib/words.js';

const PAGE = 20;
const STATES = ['queued', 'awaiting_approval', 'running', 'paused', 'verifying', 'monitoring', 'rolling_back',
	'succeeded', 'failed', 'rolled_back', 'rollback_failed', 'aborted'];

export function render(root, {query}) {
	const want = {env: query.get('env') || '', kind: query.get('kind') || '', state: query.get('state') || '',
		before: query.get('before') || ''};
	const table = h('div', {'aria-live': 'polite'}, h('p', {}, 'Loading…'));
	root.append(h('h1', {}, 'History'), filters(want), table);
	load(table, want);
}

function select(id, label, value, options) {
	return [h('label', {for: id}, label), h('select', {id, name: id},
		options.map(([v, text]) => h('option', {value: v, selected: v === value}, text)))];
}

function filters(want) {
	const envSlot = h('span');
	const form = h('form', {class: 'filters', role: 'search'},
		envSlot,
		select('kind', 'Kind', want.kind, [['', 'any'], ['deploy', 'deploy'], ['rollback', 'rollback']]),
		select('state', 'State', want.state, [['', 'any'], ...STATES.map((x) => [x, x.replace(/_/g, ' ')])]),
		h('button', {type: 'submit'}, 'Show'));
	api.get('/api/v1/status').then((st) => {
		const names = (st.environments || [st]).map((e) => e.env);
		envSlot.append(...select('env', 'Environment', want.env, [['', 'all'], ...names.map((n) => [n, n])]));
	}).catch(() => {});
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const q = api.query({env: form.elements.env ? form.elements.env.value : want.env,
			kind: form.elements.kind.value, state: form.elements.state.value});
		location.hash = `#/history${q}`;
	});
	return form;
}

async function load(slot, want) {
	const filtered = want.kind || want.state;
	const rows = [];
	let before = want.before, next = null;
	try {
		for (let pages = 0; pages < 10; pages++) {
			const r = await api.get(`/api/v1/runs${api.query({env: want.env, limit: filtered ? 100 : PAGE, before})}`);
			for (const run of r.runs) {
				if ((want.kind && run.kind !== want.kind) || (want.state && run.state !== want.state))
					continue;
				rows.push(run);
				if (rows.length === PAGE)
					break;
			}
			next = r.next_before || null;
			if (rows.length === PAGE) {
				// with filters, more may follow the last match inside this page
				if (filtered)
					next = rows[rows.length - 1].id;
				break;
			}
			if (!next)
				break;
			before = next;
		}
	} catch (e) {
		clear(slot).append(errorBox(e));
		return;
	}
	clear(slot).append(rows.length ? runsTable(rows) : h('p', {class: 'muted'}, 'No runs match.'),
		pager(want, next));
}

function runsTable(rows) {
	return h('table', {class: 'runs'},
		h('caption', {}, 'Runs, newest first'),
		h('thead', {}, h('tr', {}, ['Run', 'Environment', 'Kind', 'Version', 'From', 'State', 'Started', 'Took', 'By']
			.map((c) => h('th', {scope: 'col'}, c)))),
		h('tbody', {}, rows.map((r) => h('tr', {},
			h('td', {}, h('a', {href: `#/runs/${r.id}`}, `#${r.id}`)),
			h('td', {}, r.env), h('td', {}, r.kind), h('td', {}, r.version), h('td', {}, r.from_version || '—'),
			h('td', {}, stateBadge(r.state)), h('td', {}, time(r.started || r.created)),
			h('td', {}, r.ended_ms && r.started_ms ? duration(r.ended_ms - r.started_ms) : '—'),
			h('td', {}, r.actor)))));
}

function pager(want, next) {
	const base = {env: want.env, kind: want.kind, state: want.state};
	return h('p', {class: 'pager'},
		want.before ? h('a', {href: `#/history${api.query(base)}`}, '← Newest') : null, ' ',
		next ? h('a', {href: `#/history${api.query({...base, before: next})}`, rel: 'next'}, 'Older runs →') : null);
}
