// rollback.js — a manual rollback, in two steps: the dry-run plan first
// (POST /api/v1/rollbacks {"dry_run": true}: nothing starts), then the
// real request once a person has read it — in an environment marked
// production (GET /api/v1/status) only after typing its name.

import * as api from './api.js';
import {h, clear, errorBox, say, attempt} from './dom.js';

export async function rollbackPanel(slot, env) {
	clear(slot);
	const box = h('section', {class: 'card panel', 'aria-labelledby': 'rb-title'},
		h('h2', {id: 'rb-title'}, `Roll back ${env}`), h('p', {}, 'Asking for the plan (dry run)…'));
	slot.append(box);
	let plan, production;
	try {
		const [dry, status] = await Promise.all([api.post('/api/v1/rollbacks', {env, dry_run: true}),
			api.get(`/api/v1/status?env=${encodeURIComponent(env)}`)]);
		plan = dry.plan;
		production = status.production === true;
	} catch (e) {
		box.append(errorBox(e), closeButton(slot));
		return;
	}
	clear(box).append(h('h2', {id: 'rb-title'}, `Roll back ${env}: plan`), h('div', {class: 'plan'}, planView(plan)));

	const reason = h('input', {id: 'rb-reason', type: 'text', maxlength: 500});
	const form = h('form', {class: 'stack'},
		h('label', {for: 'rb-reason'}, 'Reason (one line)'), reason);
	const go = h('button', {type: 'submit', class: 'danger'}, `Roll back ${env} to ${plan.to}`);
	if (production) {
		const confirm = h('input', {id: 'rb-confirm', type: 'text', autocomplete: 'off', spellcheck: 'false'});
		go.disabled = true;
		confirm.addEventListener('input', () => {
			go.disabled = confirm.value !== env;
		});
		form.append(h('label', {for: 'rb-confirm'}, `Type ${env} to confirm`), confirm);
	}
	const msg = h('p', {role: 'status'});
	form.append(h('p', {class: 'actions'}, go, ' ', closeButton(slot)), msg);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		go.disabled = true;
		say(msg, 'Starting the rollback…');
		const body = {env, to: plan.to};
		if (reason.value.trim())
			body.reason = reason.value.trim();
		let r = null;
		if (await attempt(msg, async () => {
			r = await api.post('/api/v1/rollbacks', body);
		}))
			location.hash = `#/runs/${r.run.id}`;
		else
			go.disabled = false;
	});
	box.append(form);
	reason.focus();
}

function planView(plan) {
	return [
		h('p', {}, `From ${plan.from || '—'} to `, h('strong', {}, plan.to),
			plan.approves_run ? ` (this answers the rollback approval of run ${plan.approves_run})` : ''),
		h('h3', {}, 'Steps'),
		plan.steps && plan.steps.length
			? h('ol', {class: 'plan'}, plan.steps.map((st) => h('li', {},
				h('strong', {}, st.name), ` — ${st.action}`, st.command ? [': ', h('code', {}, st.command)] : '')))
			: h('p', {class: 'muted'}, 'No steps.'),
		list('Checks', plan.checks),
		list('Risks', plan.risks),
	];
}

function list(title, items) {
	if (!items || !items.length)
		return null;
	return [h('h3', {}, title), h('ul', {}, items.map((x) => h('li', {},
		typeof x === 'string' ? x : JSON.stringify(x))))];
}

function closeButton(slot) {
	return h('button', {type: 'button', on: {click: () => clear(slot)}}, 'Cancel');
}
