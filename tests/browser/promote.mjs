// promote.mjs — a canary held at 10 % for a long pause is promoted from
// the run page and the run finishes without waiting out the pause.
import {main, ok, signIn, shot, apiAs} from './lib.mjs';

await main(async ({person}) => {
	const page = await person('admin');
	await signIn(page, 'admin');
	const r = await apiAs('admin', 'POST', '/api/v1/deploys', {env: 'prod', version: 'v2'});
	ok(r.status === 201, `deploy of v2 started (${r.status})`);
	const t0 = Date.now();
	await page.goto(`${process.env.RG_URL}/#/`);
	await page.locator('section.env .split', {hasText: 'canary v2: 10 %'}).waitFor({timeout: 20000});
	await page.locator('section.env .run a').click();
	await page.getByRole('button', {name: 'Promote'}).click();
	await page.locator('.run-state', {hasText: 'succeeded'}).waitFor({timeout: 20000});
	const took = (Date.now() - t0) / 1000;
	ok(took < 30, `promoted from the page, the run ended in ${took.toFixed(1)} s, before its 30 s pause`);
	const st = await apiAs('admin', 'GET', '/api/v1/status?env=prod');
	ok(st.json.live.version === 'v2', 'v2 is live');
	await shot(page, 'run-promoted');
});
