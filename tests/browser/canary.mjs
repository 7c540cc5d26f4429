// canary.mjs — the environments page follows a canary 10 → 50 → 100 as
// the run shifts traffic, without a reload; the run page's timeline grows
// from the event stream.
import {main, ok, signIn, shot, apiAs} from './lib.mjs';

await main(async ({person}) => {
	const page = await person('admin');
	await signIn(page, 'admin');
	const card = page.locator('section.env[data-env="prod"]');
	await card.waitFor();
	const r = await apiAs('admin', 'POST', '/api/v1/deploys', {env: 'prod', version: 'v2'});
	ok(r.status === 201, `deploy of v2 started (${r.status})`);
	const id = r.json.run.id;
	// a second tab follows the run itself while the first watches the split
	const runPage = await page.context().newPage();
	await runPage.goto(`${process.env.RG_URL}/#/runs/${id}`);
	await runPage.locator('ol.timeline li').first().waitFor();
	const n0 = await runPage.locator('ol.timeline li').count();
	const split = card.locator('.split');
	for (const w of [10, 50]) {
		await split.filter({hasText: `canary v2: ${w} %`}).waitFor({timeout: 20000});
		ok(true, `the page shows the canary at ${w} % (${await split.innerText()})`);
		if (w === 10) {
			ok(/stable v1: 90 %/.test(await split.innerText()), 'with the stable release at 90 %');
			ok(await card.locator('.run', {hasText: /step \d+\/\d+/}).count() === 1, 'and the run in progress with step n/m');
			await shot(page, 'environments-canary');
		}
	}
	await split.filter({hasText: /canary v2: 100 %|stable v2: 100 %/}).waitFor({timeout: 20000});
	ok(true, `the page shows v2 at 100 % (${await split.innerText()})`);

	await runPage.locator('.run-state', {hasText: 'succeeded'}).waitFor({timeout: 30000});
	const n1 = await runPage.locator('ol.timeline li').count();
	await runPage.close();
	await page.goto(`${process.env.RG_URL}/#/runs/${id}`);
	await page.locator('.run-state', {hasText: 'succeeded'}).waitFor();
	ok(n1 > n0, `the timeline grew live (${n0} → ${n1} events)`);
	ok(await page.locator('ol.steps li', {hasText: /✅|succeeded/}).count() >= 1, 'steps show their state in words');
	ok(await page.locator('ol.timeline li[data-type="succeeded"]').count() === 1, 'the end of the run arrived by the stream');
	await page.locator('.figures').waitFor();
	await shot(page, 'run');
	await page.goto(`${process.env.RG_URL}/#/runs/${id}/figures`);
	await page.locator('.figures p').first().waitFor();
	const figs = await page.locator('.figures').innerText();
	ok(/No figures for this run|One sample every/.test(figs), `the figures page draws figures or says there are none`);
	await shot(page, 'figures');
});
