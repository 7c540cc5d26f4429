// lib.mjs — what every browser story shares: Debian's chromium driven by
// playwright-core (from tests/node), sign-in through the page itself,
// screenshots into build/screenshots/, and TAP-like "ok"/"not ok" lines.
// Environment: RG_URL (the dashboard), TOK_DIR (tok.NAME files written by
// the person helper of tests/integration/lib.sh), SHOT_DIR.
import {createRequire} from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(new URL('../node/package.json', import.meta.url));
const {chromium} = require('playwright-core');

export const URL_ = process.env.RG_URL;
// the API itself (the same server but for a stand-in during development)
const API_URL = process.env.API_URL || URL_;
const TOK_DIR = process.env.TOK_DIR;
const SHOT_DIR = process.env.SHOT_DIR || 'build/screenshots';

export function token(name) {
	return fs.readFileSync(path.join(TOK_DIR, `tok.${name}`), 'utf8').trim();
}

let failures = 0;
export function ok(cond, what) {
	console.log(`${cond ? 'ok' : 'not ok'} - ${what}`);
	if (!cond)
		failures++;
	return cond;
}

// Runs story(browser) and exits 0 only when every ok() held, nothing
// threw, and no page met a CSP violation or a script error.
export async function main(story) {
	const browser = await chromium.launch({executablePath: '/usr/bin/chromium', args: ['--no-sandbox']});
	const problems = [];
	const watch = (page) => {
		page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
		page.on('console', (m) => {
			if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text()))
				problems.push(`console: ${m.text()}`);
		});
	};
	const person = async (name) => {
		const ctx = await browser.newContext({viewport: {width: 1100, height: 900}});
		const page = await ctx.newPage();
		watch(page);
		page.setDefaultTimeout(15000);
		return page;
	};
	try {
		await story({browser, person});
	} catch (e) {
		ok(false, `story threw: ${e.stack || e}`);
		// what each page showed when it went wrong
		let n = 0;
		for (const ctx of browser.contexts())
			for (const pg of ctx.pages())
				await shot(pg, `failed-${++n}`).catch(() => {});
	} finally {
		await browser.close();
	}
	for (const p of problems)
		ok(false, p);
	console.log(`browser: ${failures ? 'FAILED' : 'passed'}`);
	process.exit(failures ? 1 : 0);
}

// Opens the dashboard and signs in as NAME by pasting their token.
export async function signIn(page, name) {
	await page.goto(`${URL_}/`);
	await page.getByLabel('Token').fill(token(name));
	await page.getByRole('button', {name: 'Sign in'}).click();
	await page.locator('#who-name').filter({hasText: name}).waitFor();
}

export async function shot(page, name) {
	fs.mkdirSync(SHOT_DIR, {recursive: true});
	await page.screenshot({path: path.join(SHOT_DIR, `${name}.png`), fullPage: true});
}

// The API with a token, for set-up and for checking what the server holds.
export async function apiAs(name, method, p, body) {
	const r = await fetch(`${API_URL}${p}`, {method, headers: {Authorization: `Bearer ${token(name)}`,
		...(body ? {'Content-Type': 'application/json'} : {})}, body: body ? JSON.stringify(body) : undefined});
	const text = await r.text();
	let json = null;
	try {
		json = JSON.parse(text);
	} catch {
		json = null;
	}
	return {status: r.status, json, text};
}
