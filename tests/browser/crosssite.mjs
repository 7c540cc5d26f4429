// crosssite.mjs — a page from another origin (another port of 127.0.0.1:
// the same site, so SameSite alone would let the cookie through) posts a
// form to the API in the browser of someone signed in. The server must
// refuse it and nothing may change.
import http from 'node:http';
import {main, ok, signIn, shot, apiAs} from './lib.mjs';

const EVIL_PORT = Number(process.env.EVIL_PORT);
const api = process.env.RG_URL;

// text/plain lets a form send a body that reads as JSON
const page = `<!doctype html><html><body>
<form id="f" method="post" enctype="text/plain" action="${api}/api/v1/deploys">
<input type="hidden" name='{"env":"staging","version":"evil","x":"' value='"}'>
</form>
<form id="g" method="post" action="${api}/api/v1/rollbacks">
<input type="hidden" name="env" value="staging">
</form>
<script>document.getElementById(location.hash === '#g' ? 'g' : 'f').submit()</script>
</body></html>`;

await main(async ({person}) => {
	const evil = http.createServer((req, res) => {
		res.writeHead(200, {'Content-Type': 'text/html'});
		res.end(req.url === '/nothing' ? '<!doctype html><p>nothing here</p>' : page);
	});
	await new Promise((res) => evil.listen(EVIL_PORT, '127.0.0.1', res));
	try {
		const p = await person('admin');
		await signIn(p, 'admin');
		const before = await apiAs('admin', 'GET', '/api/v1/runs?env=staging');
		for (const form of ['f', 'g']) {
			const answer = p.waitForResponse((r) => r.url().startsWith(`${api}/api/v1/`) && r.request().method() === 'POST');
			await p.goto(`http://127.0.0.1:${EVIL_PORT}/#${form}`);
			const res = await answer;
			ok(res.status() === 403 || res.status() === 415, `the cross-site form post (${form === 'f' ? 'text/plain JSON' : 'urlencoded'}) is refused: ${res.status()}`);
			await p.waitForLoadState();
		}
		await shot(p, 'cross-site-refused');
		// a script on that page cannot do it either: no CORS, so no JSON write
		await p.goto(`http://127.0.0.1:${EVIL_PORT}/nothing`);
		const scripted = await p.evaluate(async (u) => {
			try {
				const r = await fetch(`${u}/api/v1/deploys`, {method: 'POST', credentials: 'include',
					headers: {'Content-Type': 'application/json'}, body: '{"env":"staging","version":"evil2"}'});
				return `status ${r.status}`;
			} catch (e) {
				return 'blocked';
			}
		}, api);
		ok(scripted === 'blocked', `a cross-origin fetch with JSON is blocked before it is sent (${scripted})`);
		const after = await apiAs('admin', 'GET', '/api/v1/runs?env=staging');
		ok(after.json.runs.length === before.json.runs.length, 'no run was started');
		ok(!after.text.includes('evil'), 'no run of version "evil" exists');
		// the signed-in page itself still works
		await p.goto(`${api}/#/`);
		await p.locator('section.env').first().waitFor();
		ok(true, 'the dashboard itself still works for the same person');
	} finally {
		evil.close();
	}
});
