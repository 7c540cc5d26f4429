// poll.js — calls fn about every interval ms while the page is visible,
// never two at once; returns the function that stops it.
export function poll(fn, interval) {
	let timer = null;
	let stopped = false;
	const tick = async () => {
		timer = null;
		if (stopped)
			return;
		if (!document.hidden) {
			try {
				await fn();
			} catch (e) {
				console.error(e);
			}
		}
		if (!stopped)
			timer = setTimeout(tick, interval);
	};
	const wake = () => {
		if (!document.hidden && timer !== null) {
			clearTimeout(timer);
			tick();
		}
	};
	document.addEventListener('visibilitychange', wake);
	tick();
	return () => {
		stopped = true;
		if (timer !== null)
			clearTimeout(timer);
		document.removeEventListener('visibilitychange', wake);
	};
}
