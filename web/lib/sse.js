// sse.js — reads a run's event stream (GET /api/v1/runs/{id}/events with
// Accept: text/event-stream) with fetch. EventSource hands a named event
// ("step_started", "decision", …) only to a listener for that very name,
// and the set of event types grows with the engine, so the page reads the
// frames itself. A stream that ends without "end" (serve restarted) is
// opened again with Last-Event-ID: nothing is lost or repeated.

export function streamEvents(url, {onEvent, onEnd, onError}) {
	const ctl = new AbortController();
	let lastId = null;
	let retry = 2000;
	let done = false;

	const frame = (lines) => {
		let type = 'message', id = null;
		const data = [];
		for (const line of lines) {
			if (!line || line.startsWith(':'))
				continue;
			const i = line.indexOf(':');
			const field = i < 0 ? line : line.slice(0, i);
			const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
			if (field === 'event')
				type = value;
			else if (field === 'data')
				data.push(value);
			else if (field === 'id')
				id = value;
			else if (field === 'retry' && /^\d+$/.test(value))
				retry = Number(value);
		}
		if (!data.length)
			return;
		if (id !== null)
			lastId = id;
		let obj = null;
		try {
			obj = JSON.parse(data.join('\n'));
		} catch {
			return;
		}
		if (type === 'end') {
			done = true;
			onEnd && onEnd(obj);
		} else {
			onEvent(obj);
		}
	};

	const open = async () => {
		const headers = {Accept: 'text/event-stream'};
		if (lastId !== null)
			headers['Last-Event-ID'] = lastId;
		const r = await fetch(url, {headers, credentials: 'same-origin', signal: ctl.signal});
		if (!r.ok)
			throw Object.assign(new Error(`event stream: HTTP ${r.status}`), {status: r.status});
		const reader = r.body.getReader();
		const dec = new TextDecoder();
		let buf = '';
		for (;;) {
			const {value, done: eof} = await reader.read();
			if (eof)
				break;
			buf += dec.decode(value, {stream: true});
			let cut;
			while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
				const block = buf.slice(0, cut);
				buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
				frame(block.split(/\r?\n/));
			}
		}
	};

	(async () => {
		while (!done && !ctl.signal.aborted) {
			try {
				await open();
			} catch (e) {
				if (ctl.signal.aborted)
					return;
				onError && onError(e);
				if (e.status && e.status < 500)
					return;   // 401, 403, 404: trying again cannot help
			}
			if (!done && !ctl.signal.aborted)
				await new Promise((res) => setTimeout(res, retry));
		}
	})();
	return () => ctl.abort();
}
