// signin.mjs — without a session the page shows the sign-in and nothing
// else; a bad token is refused; a good one signs in, and the token is
// never kept by the page; a viewer gets no write buttons; sign-out ends it.
import {execFileSync} from 'node:child_process';
import path from 'node:path';
import {main, ok, signIn, shot, token, URL_} from './lib.mjs';

await main(async ({person}) => {
	const page = await person('carol');
	await page.goto(`${URL_}/#/history`);
	await page.locator('#signin-view').waitFor();
	ok(await page.locator('#signin-view').isVisible(), 'a page without a session shows the sign-in');
	ok(!(await page.locator('#main').isVisible()) && !(await page.locator('#nav').isVisible()),
		'and nothing else: no pages, no navigation');
	const body = await page.locator('body').innerText();
	ok(!/staging|production/.test(body), 'no environment name reaches a page without a session');
	const st = await page.evaluate(async () => (await fetch('/api/v1/status')).status);
	ok(st === 401, `the API answers 401 to the page without a session (got ${st})`);
	await shot(page, 'signin');

	await page.getByLabel('Token').fill('rg_0000000000000000_notatokennotatokennotatokennotatokennotatok');
	await page.getByRole('button', {name: 'Sign in'}).click();
	await page.locator('#signin-error').filter({hasText: 'refused'}).waitFor();
	ok(await page.locator('#signin-view').isVisible(), 'a bad token is refused and the sign-in stays');

	await signIn(page, 'carol');
	await page.locator('section.env').first().waitFor();
	ok(await page.locator('section.env h2', {hasText: 'staging'}).count() === 1, 'signed in, the environments show');
	const tok = token('carol');
	const html = await page.content();
	const stored = await page.evaluate(() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage}));
	const cookies = await page.evaluate(() => document.cookie);
	ok(!html.includes(tok) && !stored.includes(tok) && !stored.includes('rg_'), 'the token is not in the page nor in storage');
	ok(!cookies.includes('rg_session'), 'the session cookie is HttpOnly: scripts cannot read it');
	ok(await page.getByRole('button', {name: /Roll back/}).count() === 0, 'a viewer sees no rollback button');
	await shot(page, 'environments');
	// a narrow window: one column, nothing cut off sideways
	await page.setViewportSize({width: 380, height: 800});
	const wide = await page.evaluate(() => document.documentElement.scrollWidth);
	ok(wide <= 380, `a narrow window needs no sideways scrolling (${wide}px)`);
	await shot(page, 'environments-narrow');
	await page.setViewportSize({width: 1100, height: 900});
	// keyboard: Tab reaches the navigation links and Sign out
	const reached = [];
	for (let i = 0; i < 15; i++) {
		await page.keyboard.press('Tab');
		reached.push(await page.evaluate(() => document.activeElement === document.body ? 'body' : document.activeElement.textContent.trim().slice(0, 40)));
	}
	ok(reached.includes('History') && reached.includes('Sign out'), `the keyboard reaches the links and buttons (${reached.join(', ')})`);

	await page.getByRole('link', {name: 'History'}).first().click();
	await page.locator('table.runs').waitFor();
	ok(await page.locator('table.runs tbody tr').count() >= 1, 'the history lists the runs');
	await shot(page, 'history');
	await page.getByRole('link', {name: 'Incidents'}).click();
	await page.getByRole('heading', {name: /incidents/i}).waitFor();
	await shot(page, 'incidents');

	await page.getByRole('button', {name: 'Sign out'}).click();
	await page.locator('#signin-view').waitFor();
	const after = await page.evaluate(async () => (await fetch('/api/v1/status')).status);
	ok(after === 401, `after sign-out the API answers 401 again (got ${after})`);
	await page.reload();
	await page.locator('#signin-view').waitFor();
	ok(!(await page.locator('#main').isVisible()), 'a reload after sign-out shows only the sign-in');

	// a token limited to staging: only staging, and its buttons only there
	await signIn(page, 'dan');
	await page.locator('section.env').first().waitFor();
	const envs = await page.locator('section.env h2').allInnerTexts();
	ok(envs.join() === 'staging', `a session limited to staging sees only staging (${envs.join(', ')})`);
	ok(await page.getByRole('button', {name: 'Roll back staging…'}).count() === 1, 'with its rollback button');
	ok(/staging/.test(await page.locator('#who-name').innerText()), 'the header names the environments it is limited to');

	// revoking the token ends its session: the polling page falls back to the sign-in
	execFileSync(process.env.RG_BIN, ['token', 'revoke', 'dan', '-c', path.join(process.env.TOK_DIR, 'rollguard.yaml')],
		{stdio: 'ignore'});
	await page.locator('#signin-error', {hasText: 'session ended'}).waitFor({timeout: 5000});
	ok(!(await page.locator('#main').isVisible()) && !/staging/.test(await page.locator('body').innerText()),
		'a revoked token\'s open page returns to the sign-in and shows nothing more');
});
