// incident.js — one incident: severity, ladder level, who answered, the
// opening decision, the runs it covers, its timeline, the checklist with
// its ticks, and ack / note / resolve for those whose roles allow them.

import * as api from '../lib/api.js';
import * as session from '../lib/session.js';
import {h, clear, time, facts, errorBox, say, attempt} from '../lib/dom.js';
import {stateBadge, words} from '../lib/words.js';
import {decisionView} from '../lib/decision.js';

export function render(root, {id}) {
	const slot = h('div');
	root.append(slot);
	const load = async () => {
		try {
			draw(slot, await api.get(`/api/v1/incidents/${id}`), load);
		} catch (e) {
			clear(slot).append(h('h1', {}, `Incident ${id}`), errorBox(e));
		}
	};
	load();
}

function draw(slot, inc, reload) {
	const may = session.can('incident', inc.env);
	clear(slot).append(
		h('h1', {}, `Incident ${inc.id}: ${inc.severity} ${words(inc.kind)} in ${inc.env}`),
		h('p', {}, stateBadge(inc.state), ` — escalation level ${inc.level}`,
			inc.escalating ? ' (still climbing)' : '',
			inc.next_escalation_at ? [', next level ', time(inc.next_escalation_at)] : ''),
		facts([
			['Failed release', inc.failed_version],
			['Restored release', inc.restored_version],
			['Trigger', inc.trigger],
			['Opened', [time(inc.opened), inc.opened_by ? ` by ${inc.opened_by}` : '']],
			['Acknowledged', inc.acked ? [time(inc.acked), ` by ${inc.acked_by}`] : null],
			['Resolved', inc.resolved ? [time(inc.resolved), ` by ${inc.resolved_by}`] : null],
		]),
		may && inc.state !== 'resolved' ? answers(inc, reload) : null,
		h('section', {'aria-labelledby': 'cl-title'}, h('h2', {id: 'cl-title'}, 'Checklist'), checklist(inc, may, reload)),
		h('section', {'aria-labelledby': 'dec-title'}, h('h2', {id: 'dec-title'}, 'Decision'),
			inc.decision ? decisionView(inc.decision) : h('p', {class: 'muted'}, 'No decision recorded.')),
		h('section', {'aria-labelledby': 'runs-title'}, h('h2', {id: 'runs-title'}, 'Runs'),
			h('ul', {}, (inc.runs || []).map((r) => h('li', {}, h('a', {href: `#/runs/${r.id}`}, `Run ${r.id}`),
				` ${r.kind} of ${r.version}${r.from_version ? ` (from ${r.from_version})` : ''} — `, stateBadge(r.state))))),
		h('section', {'aria-labelledby': 'tl-title'}, h('h2', {id: 'tl-title'}, 'Timeline'),
			h('ol', {class: 'timeline'}, (inc.timeline || []).map((e) => h('li', {}, time(e.at), ' ',
				h('span', {class: 'ev-type'}, words(e.type)),
				e.source === 'run' ? ` (run ${e.run_id}${e.step ? `, ${e.step}` : ''})` : e.actor ? ` (${e.actor})` : '',
				' — ', e.message)))),
		postmortem(inc));
}

// The blameless draft the server writes from the stored incident (what
// `rollguard postmortem ID` prints), shown as its Markdown text.
function postmortem(inc) {
	const body = h('pre', {class: 'postmortem'}, 'Loading the draft…');
	api.getText(`/api/v1/incidents/${inc.id}/postmortem`, 'text/markdown')
		.then((md) => {
			body.textContent = md;
		})
		.catch((e) => clear(body).append(errorBox(e)));
	return h('section', {'aria-labelledby': 'pm-title'}, h('h2', {id: 'pm-title'}, 'Post-mortem draft'),
		h('p', {}, 'Copy it into the incident report and fill in the sections a person writes. ',
			h('code', {}, `rollguard postmortem ${inc.id}`), ' prints the same.'),
		body);
}

function answers(inc, reload) {
	const note = h('input', {id: 'inc-note', type: 'text', maxlength: 500});
	const msg = h('p', {role: 'status'});
	const send = (what) => async () => {
		const t = note.value.trim();
		if (what === 'note' && !t) {
			say(msg, 'A note needs some text.', true);
			note.focus();
			return;
		}
		if (await attempt(msg, () => api.post(`/api/v1/incidents/${inc.id}/${what}`, t ? {note: t} : {})))
			reload();
	};
	return h('section', {class: 'card', 'aria-labelledby': 'ans-title'}, h('h2', {id: 'ans-title'}, 'Answer'),
		h('div', {class: 'stack'}, h('label', {for: 'inc-note'}, 'Note (optional for acknowledge and resolve)'), note),
		h('p', {class: 'actions'},
			inc.state === 'open' ? [h('button', {type: 'button', id: 'inc-ack', on: {click: send('ack')}}, 'Acknowledge'), ' '] : null,
			h('button', {type: 'button', id: 'inc-note-add', on: {click: send('note')}}, 'Add note'), ' ',
			h('button', {type: 'button', id: 'inc-resolve', on: {click: send('resolve')}}, 'Resolve')),
		msg);
}

function checklist(inc, may, reload) {
	const msg = h('p', {role: 'status', class: 'checklist-msg'});
	const items = (inc.checklist || []).map((c) => {
		const li = h('li', {class: c.ticked ? 'ticked' : 'unticked', 'data-item': c.item},
			h('span', {'aria-hidden': 'true'}, c.ticked ? '☑ ' : '☐ '), c.text,
			c.ticked ? [h('span', {class: 'by'}, ` — ticked by ${c.by} `), time(c.at)] : h('span', {class: 'sr'}, ' — not ticked'));
		if (!c.ticked && may)
			li.append(' ', h('button', {type: 'button', class: 'tick', 'aria-label': `Tick: ${c.text}`, on: {click: async () => {
				if (await attempt(msg, () => api.post(`/api/v1/incidents/${inc.id}/checklist`, {tick: String(c.item)})))
					reload();
			}}}, 'Tick'));
		return li;
	});
	const done = (inc.checklist || []).filter((c) => c.ticked).length;
	return [h('p', {}, `${done} of ${items.length} done.`), h('ol', {class: 'checklist'}, items), msg];
}
