// api.js — the one way pages talk to the server. Reads carry only the
// session cookie; every write carries the CSRF token the session gave and
// Content-Type: application/json, as the server requires.

let csrf = null;
let onUnauthorized = () => {};

export function setCsrf(token) {
	csrf = token;
}

// Called when any answer is 401: the session ended or expired.
export function setOnUnauthorized(fn) {
	onUnauthorized = fn;
}

export class ApiError extends Error {
	constructor(status, body, text) {
		super(body && body.error ? body.error.message : `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
		this.status = status;
		this.body = body;
	}
}

async function request(method, path, body, quiet401, accept) {
	const opts = {method, credentials: 'same-origin', headers: {Accept: accept || 'application/json'}};
	if (method !== 'GET') {
		opts.headers['Content-Type'] = 'application/json';
		if (csrf)
			opts.headers['X-Rollguard-CSRF'] = csrf;
		opts.body = JSON.stringify(body || {});
	}
	const r = await fetch(path, opts);
	const text = await r.text();
	if (r.ok && accept)
		return text;
	let data = null;
	try {
		data = text ? JSON.parse(text) : null;
	} catch {
		data = null;
	}
	if (!r.ok) {
		if (r.status === 401 && !quiet401)
			onUnauthorized();
		throw new ApiError(r.status, data, data ? '' : text);
	}
	return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body);
// A text answer (a post-mortem's Markdown) as it is.
export const getText = (path, accept) => request('GET', path, undefined, false, accept);

// The session calls: a 401 there is an answer, not an expiry.
export const getSession = () => request('GET', '/api/v1/session', undefined, true);
export const postSession = (token) => request('POST', '/api/v1/session', {token}, true);

// A query string from an object, leaving out empty values.
export function query(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v !== null && v !== undefined && v !== '')
			q.set(k, String(v));
	const t = q.toString();
	return t ? `?${t}` : '';
}
