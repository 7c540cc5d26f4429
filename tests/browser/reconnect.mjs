// reconnect.mjs — a run page left open while serve is killed and started
// again: its event stream comes back by itself (Last-Event-ID), the events
// of the restarted run reach the page without a reload, none twice, and the
// session made before the restart still reads.
import fs from 'node:fs';
import path from 'node:path';
import {main, ok, signIn, shot, apiAs} from './lib.mjs';

const TOK_DIR = process.env.TOK_DIR;

// Asks the test to SIGKILL serve and start it again, and waits until it has.
async function restartServe() {
	fs.writeFileSync(path.join(TOK_DIR, 'restart.want'), '');
	const done = path.join(TOK_DIR, 'restart.done');
	for (let i = 0; i < 600 && !fs.existsSync(done); i++)
		await new Promise((res) => setTimeout(res, 100));
	return fs.existsSync(done);
}

await main(async ({person}) => {
	const page = await person('rita');
	await signIn(page, 'rita');
	const r = await apiAs('rita', 'POST', '/api/v1/deploys', {env: 'prod', version: 'v2'});
	ok(r.status === 201, `deploy of v2 started (${r.status})`);
	const id = r.json.run.id;
	await page.goto(`${process.env.RG_URL}/#/runs/${id}`);
	const items = page.locator('ol.timeline li');
	await page.locator('ol.timeline li', {hasText: /10 ?%/}).first().waitFor({timeout: 20000});
	// a mark on this very document: a reload would lose it
	await page.evaluate(() => { window.rgKept = true; });
	const before = await items.count();

	ok(await restartServe(), 'serve was killed and started again');
	const st = await apiAs('rita', 'GET', `/api/v1/runs/${id}`);
	ok(st.status === 200 && !['succeeded', 'failed', 'rolled_back', 'aborted'].includes(st.json.state),
		`the run goes on after the restart (${st.json.state})`);

	// promoted from outside the page: only its stream can tell it
	const p = await apiAs('rita', 'POST', `/api/v1/runs/${id}/promote`, {});
	ok(p.status < 300, `promoted (${p.status})`);
	await page.locator('.run-state', {hasText: 'succeeded'}).waitFor({timeout: 30000});
	ok(await page.evaluate(() => window.rgKept === true), 'the page was not reloaded');
	const end = await apiAs('rita', 'GET', `/api/v1/runs/${id}`);
	const stored = end.json.events.length;
	ok(stored > before, `the run has events after the restart (${before} before, ${stored} now)`);
	// the page re-reads the run a moment after the stream's last event
	const last = end.json.events[stored - 1];
	await page.locator('ol.timeline li', {hasText: last.message}).first().waitFor({timeout: 10000});
	const shown = await items.count();
	ok(shown === stored, `the timeline shows each of the ${stored} events once (${shown} shown)`);
	await shot(page, 'run-after-restart');
});
