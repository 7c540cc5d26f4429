// approval.mjs — a gated production deploy: its requester is shown the
// Approve button (roles allow it) but the server refuses them, a second
// person's approval is taken, and the page says who approved.
import {main, ok, signIn, shot, apiAs} from './lib.mjs';

await main(async ({person}) => {
	const r = await apiAs('alice', 'POST', '/api/v1/deploys', {env: 'production', version: 'v1'});
	ok(r.status === 201 && ['queued', 'awaiting_approval'].includes(r.json.run.state), `alice's deploy waits for approval (${r.status})`);
	const id = r.json.run.id;
	const runUrl = `${process.env.RG_URL}/#/runs/${id}`;

	const alice = await person('alice');
	await signIn(alice, 'alice');
	await alice.goto(runUrl);
	await alice.locator('.needed', {hasText: '1 still needed'}).waitFor();
	ok(true, 'the run page says how many approvals are still needed');
	await alice.getByRole('button', {name: 'Approve'}).click();
	const refusal = alice.locator('.action-msg.error');
	await refusal.waitFor();
	const text = await refusal.innerText();
	ok(/cannot approve/.test(text) && /403/.test(text), `the requester is refused by the server: ${text}`);
	const still = await apiAs('admin', 'GET', `/api/v1/runs/${id}`);
	ok(still.json.state === 'awaiting_approval' && still.json.approval.approved_by.length === 0,
		'and nothing was approved');
	await shot(alice, 'run-approval-refused');

	const carol = await person('carol');
	await signIn(carol, 'carol');
	await carol.goto(runUrl);
	await carol.locator('#ap-title').waitFor();
	ok(await carol.getByRole('button', {name: 'Approve'}).count() === 0, 'a viewer is shown no Approve button');
	ok(await carol.getByRole('button', {name: 'Abort'}).count() === 0, 'nor any run control');

	const bob = await person('bob');
	await signIn(bob, 'bob');
	await bob.goto(runUrl);
	await bob.getByLabel(/Comment/).fill('change ticket 42');
	await bob.getByRole('button', {name: 'Approve'}).click();
	await bob.locator('#ap-title', {hasText: 'approved'}).waitFor();
	const ap = await bob.locator('section', {has: bob.locator('#ap-title')}).innerText();
	ok(/approved by bob/.test(ap) && /change ticket 42/.test(ap), 'a second person approves; the page names them and their comment');
	await bob.locator('.run-state', {hasText: /succeeded/}).waitFor({timeout: 20000});
	ok(true, 'the approved run went on to succeed, followed live');
	await shot(bob, 'run-approved');

	// a rejection needs a reason, and then stops the run
	const r2 = await apiAs('alice', 'POST', '/api/v1/deploys', {env: 'production', version: 'v2'});
	await bob.goto(`${process.env.RG_URL}/#/runs/${r2.json.run.id}`);
	await bob.locator('.needed').waitFor();
	await bob.getByRole('button', {name: 'Reject'}).click();
	ok(/needs a reason/.test(await bob.locator('.action-msg').innerText()), 'a rejection without a reason is not sent');
	await bob.getByLabel(/reason/).fill('not during the freeze');
	await bob.getByRole('button', {name: 'Reject'}).click();
	await bob.locator('#ap-title', {hasText: 'rejected'}).waitFor();
	const rej = await apiAs('admin', 'GET', `/api/v1/runs/${r2.json.run.id}`);
	ok(rej.json.approval.rejected_by[0].by === 'bob' && rej.json.approval.rejected_by[0].reason === 'not during the freeze',
		`rejected with its reason (${rej.json.state})`);
});
