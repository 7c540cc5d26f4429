// rollback.mjs — an automatic rollback appears live on the run page with
// its decision in words and numbers; its incident's checklist item is
// ticked from the page; a manual rollback shows its dry-run plan and asks
// for the environment's name before it starts.
import {main, ok, signIn, shot, apiAs} from './lib.mjs';

await main(async ({person}) => {
	const page = await person('olga');
	await signIn(page, 'olga');
	const r = await apiAs('olga', 'POST', '/api/v1/deploys', {env: 'production', version: 'v2'});
	ok(r.status === 201, `deploy of v2 started (${r.status})`);
	const id = r.json.run.id;
	await page.goto(`${process.env.RG_URL}/#/runs/${id}`);
	await page.locator('.run-state').waitFor();
	const first = await page.locator('.run-state').innerText();
	await page.locator('.run-state', {hasText: 'rolled back'}).waitFor({timeout: 30000});
	ok(!/rolled back/.test(first), `the run page, opened while it ran (${first}), shows the automatic rollback as it happens`);
	const dec = page.locator('.decision');
	await dec.waitFor();
	const d = await dec.innerText();
	ok(/rollback/.test(d) && /health-down/.test(d), `the decision names its action and trigger: ${d.split('\n')[0]}`);
	ok(/Observed/.test(d) && /Threshold/.test(d), 'with the observed figure against the threshold');
	ok(await page.locator('ol.timeline li[data-type="rollback_started"]').count() === 1, 'the timeline shows the rollback start');
	await shot(page, 'run-rolled-back');

	const inc = await apiAs('olga', 'GET', '/api/v1/incidents?env=production');
	const incId = inc.json.incidents[0].id;
	await page.getByRole('link', {name: 'Incidents'}).click();
	await page.getByRole('link', {name: `Incident ${incId}`}).click();
	await page.locator('ol.checklist').waitFor();
	await page.locator('pre.postmortem', {hasText: 'Post-mortem'}).waitFor();
	ok(true, 'the incident page shows the post-mortem draft');
	await shot(page, 'incident');
	const item = page.locator('ol.checklist li[data-item="2"]');
	await item.getByRole('button', {name: /Tick/}).click();
	await page.locator('ol.checklist li[data-item="2"].ticked, .checklist-msg.error').first().waitFor();
	const errs = await page.locator('.checklist-msg.error').allInnerTexts();
	ok(/ticked by olga/.test(await page.locator('ol.checklist li[data-item="2"]').innerText()) && !errs.length,
		`a checklist item is ticked from the page, with who ${errs.join(' ')}`);
	const after = await apiAs('olga', 'GET', `/api/v1/incidents/${incId}`);
	ok(after.json.checklist[1].ticked === true && after.json.checklist[1].by === 'olga', 'and the server holds the tick');
	ok(after.json.checklist.filter((c) => c.ticked).length === 1, 'only that one');
	await page.getByRole('button', {name: 'Acknowledge'}).click();
	await page.locator('.state-acknowledged').first().waitFor();
	ok(true, 'the incident is acknowledged from the page');
	await shot(page, 'incident-ticked');
	// markup in a note stays text
	await page.getByLabel(/^Note/).fill('customers saw 502s <img src=x onerror="window.__owned=1">');
	await page.getByRole('button', {name: 'Add note'}).click();
	await page.locator('ol.timeline li', {hasText: 'customers saw 502s <img'}).waitFor();
	ok(true, 'a note is added from the page and shows in the timeline, as text');
	ok(await page.locator('ol.timeline img').count() === 0 && !(await page.evaluate(() => window.__owned)),
		'markup in a note never becomes an element or runs');
	await page.getByLabel(/^Note/).fill('v2 pulled');
	await page.getByRole('button', {name: 'Resolve'}).click();
	await page.locator('.state-resolved').first().waitFor();
	const resolved = await apiAs('olga', 'GET', `/api/v1/incidents/${incId}`);
	ok(resolved.json.state === 'resolved' && resolved.json.resolved_by === 'olga', 'resolved from the page, by olga');
	ok(await page.getByRole('button', {name: 'Resolve'}).count() === 0, 'a resolved incident offers no answers');

	// a manual rollback: the plan first, then the environment's name typed
	await page.goto(`${process.env.RG_URL}/#/`);
	await page.getByRole('button', {name: 'Roll back production…'}).click();
	await page.locator('#rb-title', {hasText: 'plan'}).waitFor();
	const plan = await page.locator('.panel').innerText();
	ok(/From v1 to v0/.test(plan) && /Steps/.test(plan) && !/object HTML/.test(plan), `the dry-run plan is shown first: ${plan.split('\n')[1]}`);
	const go = page.getByRole('button', {name: /^Roll back production to/});
	ok(await go.isDisabled(), 'the rollback button waits for the environment name');
	await page.getByLabel('Type production to confirm').fill('prod');
	ok(await go.isDisabled(), 'a wrong name keeps it disabled');
	const runsBefore = (await apiAs('olga', 'GET', '/api/v1/runs?env=production')).json.runs.length;
	ok(runsBefore === 3, `the dry run started nothing (${runsBefore} runs)`);
	await page.getByLabel('Type production to confirm').fill('production');
	await page.getByLabel(/Reason/).fill('from the dashboard');
	await shot(page, 'rollback-plan');
	await go.click();
	await page.waitForURL(/#\/runs\/\d+$/);
	await page.locator('h1', {hasText: 'rollback of'}).waitFor();
	ok(true, 'confirmed, the rollback starts and its run page opens');
});
