// run.js — one run: its steps with state and duration, the decision and
// its evidence, the approvals given and still needed, the buttons the
// session's roles allow, and the timeline growing live from the event
// stream. Every event also re-reads the run, so steps and state follow.

import * as api from '../lib/api.js';
import * as session from '../lib/session.js';
import {h, clear, time, duration, facts, errorBox, say, attempt} from '../lib/dom.js';
import {stateBadge, words, TERMINAL} from '../lib/words.js';
import {streamEvents} from '../lib/sse.js';
import {rollbackPanel} from '../lib/rollback.js';
import {decisionView} from '../lib/decision.js';
import {figuresSection} from './figures.js';

export function render(root, {id}) {
	const parts = {
		head: h('div'), panel: h('div', {class: 'panel-slot'}), controls: h('div'),
		// outside what each event redraws, so an answer stays in view
		msg: h('p', {role: 'status', class: 'action-msg'}),
		approval: h('div'), steps: h('div'), decision: h('div'), figures: h('div'),
		timeline: h('ol', {class: 'timeline', 'aria-live': 'polite'}),
	};
	root.append(parts.head, parts.controls, parts.msg, parts.panel, parts.approval, parts.steps, parts.decision,
		h('section', {'aria-labelledby': 'tl-title'}, h('h2', {id: 'tl-title'}, 'Timeline'), parts.timeline),
		parts.figures);
	const seen = new Set();
	let stopped = false, pending = null, figuresShown = false, stopStream = null;

	const refresh = async () => {
		pending = null;
		let run;
		try {
			run = await api.get(`/api/v1/runs/${id}`);
		} catch (e) {
			clear(parts.head).append(h('h1', {}, `Run ${id}`), errorBox(e));
			return;
		}
		if (stopped)
			return;
		draw(parts, run, refresh);
		for (const ev of run.events || [])
			addEvent(parts.timeline, seen, ev);
		if (!figuresShown) {
			figuresShown = true;
			figuresSection(parts.figures, id);
		}
		if (!stopStream && !TERMINAL.has(run.state))
			stopStream = streamEvents(`/api/v1/runs/${id}/events?after=${Math.max(0, ...seen)}`, {
				onEvent: (ev) => {
					addEvent(parts.timeline, seen, ev);
					later();
				},
				onEnd: () => later(),
				onError: (e) => console.error(e),
			});
	};
	// many events arrive together: one re-read for the lot
	const later = () => {
		if (!pending && !stopped)
			pending = setTimeout(refresh, 250);
	};
	refresh();
	return () => {
		stopped = true;
		if (pending)
			clearTimeout(pending);
		if (stopStream)
			stopStream();
	};
}

function addEvent(list, seen, ev) {
	if (seen.has(ev.id))
		return;
	seen.add(ev.id);
	list.append(h('li', {'data-type': ev.type}, time(ev.at), ' ',
		h('span', {class: 'ev-type'}, words(ev.type)), ev.step ? ` [${ev.step}]` : '', ' — ', ev.message));
}

function draw(parts, run, refresh) {
	clear(parts.head).append(
		h('h1', {}, `Run ${run.id}: ${run.kind} of ${run.version} to ${run.env}`),
		h('p', {class: 'run-state'}, stateBadge(run.state), run.paused && run.state !== 'paused' ? ' (pause requested)' : '',
			run.total ? ` — step ${Math.min(run.cursor + (TERMINAL.has(run.state) ? 0 : 1), run.total)}/${run.total}` : ''),
		facts([
			['Environment', h('a', {href: `#/history?env=${encodeURIComponent(run.env)}`}, run.env)],
			['Replaces', run.from_version],
			['Requested by', run.actor],
			['Reason', run.reason],
			['Created', time(run.created)],
			['Started', run.started ? time(run.started) : null],
			['Ended', run.ended ? time(run.ended) : null],
			['Emergency', run.emergency ? 'yes' : null],
			['Schema', run.schema],
			['Error', run.error],
			['Warning', run.warning],
		]));
	drawControls(parts, run, refresh);
	drawApproval(parts, run, refresh);
	drawSteps(parts.steps, run);
	clear(parts.decision).append(h('section', {'aria-labelledby': 'dec-title'},
		h('h2', {id: 'dec-title'}, 'Decision'),
		run.decision ? decisionView(run.decision) : h('p', {class: 'muted'}, 'No decision was taken.'),
		(run.decisions || []).length > 1
			? [h('h3', {}, 'Every decision, oldest first'),
				h('ol', {}, run.decisions.map((d) => h('li', {}, time(d.at), ` ${d.trigger}: ${d.action} — ${d.reason || ''}`)))]
			: null));
}

const STEP_MARK = {succeeded: '✅', failed: '❌', running: '▶️', pending: '○', undone: '↩️', skipped: '⤼'};

function drawSteps(slot, run) {
	const steps = run.steps || [];
	clear(slot).append(h('section', {'aria-labelledby': 'steps-title'},
		h('h2', {id: 'steps-title'}, 'Steps'),
		steps.length ? h('ol', {class: 'steps'}, steps.map((st) => h('li', {class: `step step-${st.state}`},
			h('span', {'aria-hidden': 'true'}, `${STEP_MARK[st.state] || '•'} `),
			h('strong', {}, st.name), st.phase === 'reverse' ? ' (undo)' : '',
			` — ${words(st.state)}`,
			st.duration_ms !== null && st.duration_ms !== undefined ? ` in ${duration(st.duration_ms)}` : '',
			st.attempts > 1 ? `, ${st.attempts} attempts` : '',
			st.state === 'failed' ? `, exit code ${st.exit_code}` : '',
			st.error ? h('div', {class: 'error'}, st.error) : null)))
			: h('p', {class: 'muted'}, 'No step has started yet.')));
}

function drawApproval({approval: slot, msg}, run, refresh) {
	clear(slot);
	const ap = run.approval;
	if (!ap)
		return;
	const given = (ap.approved_by || []).map((a) => h('li', {}, '✅ approved by ', h('strong', {}, a.by), ' ', time(a.at),
		a.comment ? ` — “${a.comment}”` : ''));
	const refused = (ap.rejected_by || []).map((a) => h('li', {}, '❌ rejected by ', h('strong', {}, a.by), ' ', time(a.at),
		a.reason ? ` — “${a.reason}”` : ''));
	const sec = h('section', {class: 'card', 'aria-labelledby': 'ap-title'},
		h('h2', {id: 'ap-title'}, `Approval (${ap.gate} gate): `, stateBadge(ap.status)),
		h('p', {}, `${ap.required} required from ${(ap.from || []).join(', ')}; `,
			ap.status === 'waiting' ? h('strong', {class: 'needed'}, `${ap.needed} still needed`) : `${ap.needed} still needed`,
			ap.timeout_at ? [' — times out ', time(ap.timeout_at)] : '',
			ap.starts_at ? [' — starts ', time(ap.starts_at)] : ''),
		given.length || refused.length ? h('ul', {}, given, refused) : h('p', {class: 'muted'}, 'No answer yet.'));
	if (run.state === 'awaiting_approval' && session.can('approve', run.env))
		sec.append(answerForm(run, msg, refresh));
	slot.append(sec);
}

function answerForm(run, msg, refresh) {
	const text = h('input', {id: 'ap-text', type: 'text', maxlength: 500});
	const send = (what) => async () => {
		const t = text.value.trim();
		if (what === 'reject' && !t) {
			say(msg, 'A rejection needs a reason.', true);
			text.focus();
			return;
		}
		say(msg, '…');
		const body = what === 'reject' ? {reason: t} : t ? {comment: t} : {};
		if (await attempt(msg, () => api.post(`/api/v1/runs/${run.id}/${what}`, body))) {
			say(msg, what === 'approve' ? 'Approved.' : 'Rejected.');
			refresh();
		}
	};
	return h('div', {class: 'stack'},
		h('label', {for: 'ap-text'}, 'Comment (approve) or reason (reject)'), text,
		h('p', {class: 'actions'},
			h('button', {type: 'button', id: 'approve', on: {click: send('approve')}}, 'Approve'), ' ',
			h('button', {type: 'button', id: 'reject', class: 'danger', on: {click: send('reject')}}, 'Reject')));
}

function drawControls({controls: slot, panel, msg}, run, refresh) {
	clear(slot);
	const bar = h('p', {class: 'actions'});
	const live = !TERMINAL.has(run.state);
	const button = (what, label, cls) => h('button', {type: 'button', id: `ctl-${what}`, class: cls, on: {click: async () => {
		say(msg, `${label}…`);
		if (await attempt(msg, () => api.post(`/api/v1/runs/${run.id}/${what}`, {}))) {
			say(msg, `${label}: done.`);
			refresh();
		}
	}}}, label);
	if (live && session.can('control', run.env)) {
		if (run.state === 'paused' || run.paused)
			bar.append(button('resume', 'Resume'), ' ');
		else if (['running', 'verifying', 'monitoring'].includes(run.state))
			bar.append(button('pause', 'Pause'), ' ');
		if (run.kind === 'deploy' && (run.steps || []).some((st) => st.action === 'traffic'))
			bar.append(button('promote', 'Promote'), ' ');
		bar.append(button('abort', 'Abort', 'danger'), ' ');
	}
	if (session.can('rollback', run.env))
		bar.append(h('button', {type: 'button', id: 'ctl-rollback', on: {click: () => rollbackPanel(panel, run.env)}},
			`Roll back ${run.env}…`), ' ');
	bar.append(h('a', {href: `#/runs/${run.id}/figures`}, 'Figures'));
	slot.append(bar);
}
