// incidents.js — incidents newest first, open ones only by default, paged
// with `before`.

import * as api from '../lib/api.js';
import {h, clear, time, errorBox} from '../lib/dom.js';
import {stateBadge, words} from '../lib/words.js';

export function render(root, {query}) {
	const all = query.get('all') === '1';
	const before = query.get('before') || '';
	const slot = h('div', {'aria-live': 'polite'}, h('p', {}, 'Loading…'));
	root.append(h('h1', {}, all ? 'All incidents' : 'Open incidents'),
		h('p', {}, all ? h('a', {href: '#/incidents'}, 'Show open incidents only')
			: h('a', {href: '#/incidents?all=1'}, 'Show resolved incidents too')),
		slot);
	api.get(`/api/v1/incidents${api.query({open: all ? '' : 'true', limit: 20, before})}`).then((r) => {
		const list = r.incidents || [];
		clear(slot).append(list.length ? table(list) : h('p', {class: 'muted'}, all ? 'No incidents.' : 'No open incidents.'),
			r.next_before ? h('p', {class: 'pager'}, h('a', {href: `#/incidents${api.query({all: all ? 1 : '', before: r.next_before})}`},
				'Older incidents →')) : null);
	}).catch((e) => clear(slot).append(errorBox(e)));
}

function table(list) {
	return h('table', {class: 'incidents'},
		h('caption', {}, 'Incidents, newest first'),
		h('thead', {}, h('tr', {}, ['Incident', 'Severity', 'Environment', 'What', 'State', 'Level', 'Opened']
			.map((c) => h('th', {scope: 'col'}, c)))),
		h('tbody', {}, list.map((i) => h('tr', {},
			h('td', {}, h('a', {href: `#/incidents/${i.id}`}, `Incident ${i.id}`)),
			h('td', {}, i.severity), h('td', {}, i.env),
			h('td', {}, `${words(i.kind)} of ${i.failed_version || '?'}`),
			h('td', {}, stateBadge(i.state), i.escalating ? ' (escalating)' : ''),
			h('td', {}, String(i.level)), h('td', {}, time(i.opened))))));
}
