// decision.js — a decision in words and numbers: which trigger, what it
// saw against what threshold over which window, and the evidence kept.
import {h, time, facts} from './dom.js';

export function decisionView(d) {
	return h('div', {class: 'decision'},
		h('p', {class: 'decision-line'}, h('strong', {}, d.action), ` because of trigger `, h('strong', {}, d.trigger),
			d.severity ? ` (${d.severity})` : '', d.at ? [' at ', time(d.at)] : ''),
		d.reason ? h('p', {class: 'reason'}, d.reason) : null,
		facts([
			['Observed', d.observed],
			['Threshold', d.threshold],
			['Window', d.window],
		]),
		evidence(d.evidence));
}

function evidence(ev) {
	if (ev === null || ev === undefined)
		return null;
	if (typeof ev !== 'object')
		return h('p', {}, 'Evidence: ', String(ev));
	return [h('h3', {}, 'Evidence'), facts(Object.entries(ev).map(([k, v]) =>
		[k.replace(/_/g, ' '), typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)]))];
}
