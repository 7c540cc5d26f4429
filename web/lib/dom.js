// dom.js — builds elements from data. Text always goes in as text nodes
// (never innerHTML), so nothing a run, an event or a person wrote can
// become markup or script.

// h('a', {href: '#/', class: 'x', on: {click: f}}, 'text', child, …)
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	setAttrs(el, attrs);
	append(el, children);
	return el;
}

// The same for SVG elements (charts).
const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
	const el = document.createElementNS(SVG_NS, tag);
	setAttrs(el, attrs);
	append(el, children);
	return el;
}

function setAttrs(el, attrs) {
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k === 'on') {
			for (const [ev, fn] of Object.entries(v))
				el.addEventListener(ev, fn);
		} else if (k === 'style') {
			throw new Error('style attributes are refused by the CSP: use a class');
		} else {
			el.setAttribute(k, v === true ? '' : String(v));
		}
	}
}

function append(el, children) {
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false)
			continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

export function clear(el) {
	while (el.firstChild)
		el.firstChild.remove();
	return el;
}

// A time in the viewer's zone, the UTC time on hover (title) and for
// machines (datetime).
export function time(iso) {
	if (!iso)
		return h('span', {class: 'muted'}, '—');
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return h('span', {}, String(iso));
	return h('time', {datetime: d.toISOString(), title: d.toISOString().replace('T', ' ').replace('.000Z', 'Z') + ' UTC'},
		d.toLocaleString(undefined, {year: 'numeric', month: 'short', day: 'numeric',
			hour: '2-digit', minute: '2-digit', second: '2-digit'}));
}

// "1.2 s", "3 min 4 s", "—".
export function duration(ms) {
	if (ms === null || ms === undefined || ms < 0)
		return '—';
	if (ms < 1000)
		return `${ms} ms`;
	const sec = ms / 1000;
	if (sec < 60)
		return `${sec.toFixed(1)} s`;
	const m = Math.floor(sec / 60);
	if (m < 60)
		return `${m} min ${Math.round(sec % 60)} s`;
	return `${Math.floor(m / 60)} h ${m % 60} min`;
}

// A definition list from [label, value] pairs, leaving out empty values.
export function facts(pairs) {
	const dl = h('dl', {class: 'facts'});
	for (const [k, v] of pairs) {
		if (v === null || v === undefined || v === '')
			continue;
		dl.append(h('dt', {}, k), h('dd', {}, v));
	}
	return dl;
}

// An error from the API as one line a person can act on.
export function errorText(e) {
	if (e && e.body && e.body.error) {
		const er = e.body.error;
		return `${er.message}${er.field ? ` (field ${er.field})` : ''} [${e.status}]`;
	}
	return e && e.message ? e.message : String(e);
}

export function errorBox(e) {
	return h('p', {class: 'error', role: 'alert'}, errorText(e));
}

// Says TEXT in a status line; bad marks it an error (class and role).
export function say(el, text, bad) {
	el.textContent = text;
	el.classList.toggle('error', !!bad);
}

// Runs one write; on failure says why in msg. True when it worked.
export async function attempt(msg, fn) {
	try {
		await fn();
		return true;
	} catch (e) {
		say(msg, errorText(e), true);
		return false;
	}
}
