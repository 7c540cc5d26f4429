// ofrep-client.mjs — a real OpenFeature application reading rollguard's
// flags: @openfeature/server-sdk with @openfeature/ofrep-provider, as a
// service would use them. Used by tests/integration/t_flags.sh and
// bench/flags.sh.
//
//   node ofrep-client.mjs once FLAG          one evaluation, printed as JSON
//   node ofrep-client.mjs watch FLAG MS N    evaluates every MS ms until the
//                                           value turns false or N tries
//                                           pass; prints "on"/"off" lines
//                                           ("off EPOCH_MS" when it turns)
// Environment: OFREP_URL (rollguard's base URL), OFREP_TOKEN (a bearer
// token, e.g. of role flags), OFREP_KEY (the targetingKey, default
// "user-1"), OFREP_ENV (context attribute env; unset: none).
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const [mode, flag, everyMs = '20', tries = '500'] = process.argv.slice(2);
const headers = process.env.OFREP_TOKEN ? [['Authorization', `Bearer ${process.env.OFREP_TOKEN}`]] : [];
await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: process.env.OFREP_URL, headers }));
const client = OpenFeature.getClient('rollguard-test');
const context = { targetingKey: process.env.OFREP_KEY ?? 'user-1' };
if (process.env.OFREP_ENV) context.env = process.env.OFREP_ENV;

if (mode === 'once') {
	const d = await client.getBooleanDetails(flag, false, context);
	console.log(JSON.stringify({ value: d.value, reason: d.reason, variant: d.variant,
				     errorCode: d.errorCode ?? null }));
} else if (mode === 'watch') {
	let last = null;
	for (let i = 0; i < Number(tries); i++) {
		const d = await client.getBooleanDetails(flag, false, context);
		const now = d.value ? 'on' : 'off';
		if (now !== last) {
			console.log(now === 'off' ? `off ${Date.now()} ${d.reason}` : `on ${d.reason}`);
			last = now;
		}
		if (!d.value && !d.errorCode)
			break;
		await new Promise((r) => setTimeout(r, Number(everyMs)));
	}
} else {
	console.error('usage: ofrep-client.mjs once FLAG | watch FLAG MS N');
	process.exit(2);
}
await OpenFeature.close();
