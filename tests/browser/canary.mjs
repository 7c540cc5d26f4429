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
	const real = await apiAs('admin', 'GET', `/api/v1/runs/${id}/figures`);
	if (real.status === 200 && real.json.samples.length)
		ok(await page.locator('svg.chart').count() === 5, `the figures page draws the run's ${real.json.samples.length} samples`);
	else
		ok(/No figures for this run/.test(figs), `without figures (${real.status}) the page says so and draws nothing`);
	await shot(page, 'figures');

	// the drawing itself, from samples shaped as the figures endpoint answers
	const t0 = Date.now() - 20000;
	const samples = [];
	for (let i = 0; i < 20; i++)
		for (const side of ['canary', 'baseline'])
			samples.push({at_ms: t0 + i * 1000, side, version: side === 'canary' ? 'v2' : 'v1', requests: 50,
				rps: 50 + (i % 5), error_rate: side === 'canary' && i > 12 ? 0.2 : 0.01,
				p50_ms: 3 + i / 10, p95_ms: 9 + i / 5, p99_ms: 20 + i / 2});
	await page.route('**/api/v1/runs/*/figures', (route) => route.fulfill({status: 200, contentType: 'application/json',
		body: JSON.stringify({run: id, interval_ms: 1000, decision_at_ms: t0 + 15000, samples})}));
	await page.goto(`${process.env.RG_URL}/#/runs/${id}`);
	await page.goto(`${process.env.RG_URL}/#/runs/${id}/figures`);
	await page.locator('svg.chart').first().waitFor();
	ok(await page.locator('svg.chart').count() === 5, 'five charts: request rate, error rate, p50, p95, p99');
	ok(await page.locator('svg.chart polyline.line-canary').count() === 5 &&
		await page.locator('svg.chart polyline.line-baseline').count() === 5, 'each with a canary and a baseline line');
	ok(await page.locator('svg.chart line.mark').count() === 5, 'and the decision moment marked');
	ok(await page.locator('svg.chart circle.dot.line-canary').count() >= 5 &&
		await page.locator('svg.chart rect.dot.line-baseline').count() >= 5, 'each sample marked: circles for the canary, squares for the baseline');
	ok(/canary v2 20\.0 %/.test(await page.locator('.charts').innerText()), 'the latest figures are in text too');
	await shot(page, 'figures-drawn');
	await page.unroute('**/api/v1/runs/*/figures');
});
