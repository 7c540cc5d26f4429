// controls.mjs — a deployer pauses, resumes and aborts a run from its page.
import {main, ok, signIn, shot, apiAs} from './lib.mjs';

await main(async ({person}) => {
	const page = await person('lena');
	await signIn(page, 'lena');
	const r = await apiAs('lena', 'POST', '/api/v1/deploys', {env: 'staging', version: 'v1'});
	ok(r.status === 201, `deploy started (${r.status})`);
	await page.goto(`${process.env.RG_URL}/#/runs/${r.json.run.id}`);
	await page.getByRole('button', {name: 'Pause'}).click();
	await page.locator('.run-state', {hasText: /paused|pause requested/}).waitFor();
	ok(true, 'paused from the page');
	await page.locator('.run-state', {hasText: 'paused'}).waitFor({timeout: 10000});
	const st = await apiAs('lena', 'GET', `/api/v1/runs/${r.json.run.id}`);
	ok(st.json.state === 'paused' || st.json.paused === true, `the server holds the pause (${st.json.state})`);
	await shot(page, 'run-paused');
	await page.getByRole('button', {name: 'Resume'}).click();
	await page.locator('.run-state', {hasText: 'succeeded'}).waitFor({timeout: 20000});
	ok(true, 'resumed from the page, and it went on to the end');
	ok(await page.getByRole('button', {name: 'Abort'}).count() === 0, 'a finished run offers no controls');

	const r2 = await apiAs('lena', 'POST', '/api/v1/deploys', {env: 'staging', version: 'v2'});
	await page.goto(`${process.env.RG_URL}/#/runs/${r2.json.run.id}`);
	await page.getByRole('button', {name: 'Abort'}).click();
	await page.locator('.run-state', {hasText: /aborted|rolled back/}).waitFor({timeout: 20000});
	const st2 = await apiAs('lena', 'GET', `/api/v1/runs/${r2.json.run.id}`);
	ok(['aborted', 'rolled_back'].includes(st2.json.state), `aborted from the page (${st2.json.state})`);
	await shot(page, 'run-aborted');
});
