// words.js — states said in words with a symbol beside them, so colour is
// never the only signal (the runbooks' ✅/❌ lists).
import {h} from './dom.js';

const MARKS = {
	succeeded: '✅', known_good: '✅', live: '✅', approved: '✅', resolved: '✅',
	failed: '❌', rollback_failed: '❌', rejected: '❌', aborted: '⛔',
	rolled_back: '↩️', undone: '↩️', rolling_back: '↩️', superseded: '·',
	running: '▶️', verifying: '🔎', monitoring: '👀', queued: '⏳', pending: '○',
	awaiting_approval: '✋', waiting: '✋', paused: '⏸️', skipped: '⤼',
	open: '🔥', acknowledged: '👂',
};

const WORDS = {
	awaiting_approval: 'awaiting approval', rolled_back: 'rolled back',
	rollback_failed: 'rollback failed', rolling_back: 'rolling back', known_good: 'known good',
};

export function words(state) {
	return WORDS[state] || String(state || '').replace(/_/g, ' ');
}

// <span class="state state-failed">❌ failed</span>
export function stateBadge(state) {
	const st = String(state || 'unknown');
	return h('span', {class: `state state-${st}`},
		h('span', {'aria-hidden': 'true'}, `${MARKS[st] || '•'} `), words(st));
}

export const TERMINAL = new Set(['succeeded', 'failed', 'rolled_back', 'rollback_failed', 'aborted']);
