// app.js — the dashboard's shell: the session (sign-in, sign-out, expiry)
// and the hash router that mounts one page module at a time. A page's
// render(root, params) returns a function that stops what it started
// (polling, event streams), called before the next page mounts.

import * as api from './lib/api.js';
import * as session from './lib/session.js';
import {h, clear, errorBox} from './lib/dom.js';
import * as environments from './pages/environments.js';
import * as run from './pages/run.js';
import * as figures from './pages/figures.js';
import * as history from './pages/history.js';
import * as incidents from './pages/incidents.js';
import * as incident from './pages/incident.js';

const ROUTES = [
	[/^\/?$/, environments, 'Environments'],
	[/^\/runs\/(\d+)$/, run, 'Run'],
	[/^\/runs\/(\d+)\/figures$/, figures, 'Figures'],
	[/^\/history$/, history, 'History'],
	[/^\/incidents$/, incidents, 'Incidents'],
	[/^\/incidents\/(\d+)$/, incident, 'Incident'],
];

const $ = (id) => document.getElementById(id);
let stopPage = null;

function showSignin(message) {
	session.set(null);
	api.setCsrf(null);
	unmount();
	clear($('main')).hidden = true;
	$('nav').hidden = true;
	$('who').hidden = true;
	$('who-name').textContent = '';
	$('signin-view').hidden = false;
	$('signin-error').textContent = message || '';
	$('token').focus();
}

function showApp(s) {
	session.set(s);
	api.setCsrf(s.csrf);
	$('signin-view').hidden = true;
	$('nav').hidden = false;
	$('who').hidden = false;
	$('who-name').textContent = `${s.name} (${(s.roles || []).join(', ')}${s.envs ? `; ${s.envs.join(', ')}` : ''})`;
	$('main').hidden = false;
	route();
}

function unmount() {
	if (stopPage) {
		try {
			stopPage();
		} catch (e) {
			console.error(e);
		}
	}
	stopPage = null;
}

function parseHash() {
	const raw = location.hash.replace(/^#/, '') || '/';
	const [path, q] = raw.split('?');
	return {path, query: new URLSearchParams(q || '')};
}

function route() {
	if (!session.get())
		return;
	unmount();
	const {path, query} = parseHash();
	const main = clear($('main'));
	for (const [re, page, title] of ROUTES) {
		const m = path.match(re);
		if (!m)
			continue;
		document.title = `${title} · rollguard`;
		for (const a of document.querySelectorAll('#nav a'))
			a.toggleAttribute('aria-current', a.getAttribute('href') === `#${path === '/' ? '/' : path}`);
		try {
			stopPage = page.render(main, {id: m[1], query}) || null;
		} catch (e) {
			main.append(errorBox(e));
		}
		return;
	}
	main.append(h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', {href: '#/'}, 'Environments')));
}

async function signIn(ev) {
	ev.preventDefault();
	const input = $('token');
	const token = input.value.trim();
	// the token leaves the page once, to the server, and is forgotten
	input.value = '';
	$('signin-error').textContent = '';
	try {
		showApp(await api.postSession(token));
	} catch (e) {
		showSignin(e.status === 401 ? 'That token was refused: it is unknown, revoked or expired.'
			: `Sign-in failed: ${e.message}`);
	}
}

async function signOut() {
	try {
		await api.post('/api/v1/session/end', {});
	} catch (e) {
		console.error(e);
	}
	showSignin('Signed out.');
}

async function boot() {
	$('signin').addEventListener('submit', signIn);
	$('signout').addEventListener('click', signOut);
	window.addEventListener('hashchange', route);
	api.setOnUnauthorized(() => showSignin('Your session ended; sign in again.'));
	try {
		showApp(await api.getSession());
	} catch {
		showSignin('');
	}
}

boot();
