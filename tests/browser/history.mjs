// history.mjs — the history page pages with `before` and filters by
// environment, state and kind.
import {main, ok, signIn, shot, apiAs} from './lib.mjs';

await main(async ({person}) => {
	const page = await person('carol');
	await signIn(page, 'carol');
	await page.getByRole('link', {name: 'History'}).first().click();
	const rows = page.locator('table.runs tbody tr');
	await rows.first().waitFor();
	ok(await rows.count() === 20, `a page holds 20 runs (${await rows.count()})`);
	ok(/#23/.test(await rows.first().innerText()), 'newest first');
	ok(await page.locator('table.runs time[title$="UTC"]').count() >= 20, 'times carry UTC on hover');
	await shot(page, 'history-page1');
	await page.getByRole('link', {name: 'Older runs →'}).click();
	await page.waitForURL(/before=/);
	await page.locator('table.runs tbody tr', {hasText: '#1'}).first().waitFor();
	ok(await rows.count() === 3, `the next page holds the other 3 (${await rows.count()})`);
	ok(await page.getByRole('link', {name: 'Older runs →'}).count() === 0, 'and is the last');

	await page.getByRole('link', {name: '← Newest'}).click();
	await page.getByLabel('Environment').selectOption('production');
	await page.getByRole('button', {name: 'Show'}).click();
	await page.waitForURL(/env=production/);
	await page.locator('table.runs tbody tr').first().waitFor();
	ok(await rows.count() === 1 && /production/.test(await rows.first().innerText()), 'filtered by environment');

	const all = (await apiAs('carol', 'GET', '/api/v1/runs?env=staging&limit=100')).json.runs;
	const failed = all.find((r) => r.version === 'v5');
	await page.getByLabel('Environment').selectOption('staging');
	await page.getByLabel('State').selectOption(failed.state);
	await page.getByRole('button', {name: 'Show'}).click();
	await page.waitForURL(new RegExp(`state=${failed.state}`));
	await page.locator('table.runs tbody tr', {hasText: 'v5'}).waitFor();
	ok(await rows.count() === 1, `filtered by state (${failed.state}): only v5`);
	await shot(page, 'history-filtered');
	await page.getByLabel('Kind').selectOption('rollback');
	await page.getByLabel('State').selectOption('');
	await page.getByRole('button', {name: 'Show'}).click();
	await page.locator('text=No runs match.').waitFor();
	ok(true, 'filtered by kind: no manual rollback, none shown');
});
