import type {LogEntry, LogView} from '../core/index.js';
import type {Completion} from '../core/command-line.js';

/** The entry with this seq and kind in a log view, found by bisection (seqs only grow). */
export function entryOf(view: LogView | undefined, seq: number, kind: string): LogEntry | undefined {
	if (!view) {
		return undefined;
	}

	let low = 0;
	let high = view.length - 1;
	while (low < high) {
		const middle = (low + high) >> 1;
		if (view.at(middle)!.seq < seq) {
			low = middle + 1;
		} else {
			high = middle;
		}
	}

	for (let index = low; index < view.length && view.at(index)!.seq === seq; index++) {
		if (view.at(index)!.kind === kind) {
			return view.at(index);
		}
	}

	return undefined;
}

/**
 * Tab in the send prompt of a UDP socket: the address of a peer that sent
 * to it (from its log, newest first), while the destination is typed.
 * A TCP connection has nothing to complete: tab leaves the text alone.
 */
export function completeDestination(text: string, view: LogView | undefined): Completion {
	if (!view || text.includes(' ')) {
		return {text, candidates: []};
	}

	const peers = new Set<string>();
	for (let index = view.length - 1; index >= Math.max(0, view.length - 500); index--) {
		const entry = view.at(index)!;
		if (entry.kind === 'datagram' && entry.direction === 'in' && entry.text?.startsWith(text)) {
			peers.add(entry.text);
		}
	}

	const candidates = [...peers];
	if (candidates.length === 1) {
		return {text: `${candidates[0]} `, candidates: []};
	}

	let prefix = candidates[0] ?? text;
	for (const candidate of candidates) {
		while (!candidate.startsWith(prefix)) {
			prefix = prefix.slice(0, -1);
		}
	}

	return {text: prefix.length > text.length ? prefix : text, candidates};
}
