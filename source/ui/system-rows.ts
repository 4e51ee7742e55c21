import type {SystemRow} from '../core/index.js';
import {formatEndpoint} from './format.js';

/**
 * What the System pane lists, derived from the snapshot's rows (pure):
 * filtered, sorted, and per socket or grouped per process.
 */

/** How the System pane orders its rows. */
export type SystemSort = 'rate' | 'queue' | 'age';

/** The sort orders in the order `o` steps through them. */
export const systemSorts: readonly SystemSort[] = ['rate', 'queue', 'age'];

/** Per socket, or totals per program (like bandwhich). */
export type SystemGrouping = 'socket' | 'process';

/** A program's sockets added up: one row of the grouped view. */
export type ProcessGroup = {
	/** `pid:4242`, or `?` for the sockets no process could be named for. */
	readonly key: string;
	readonly pid: number | null;
	readonly process: string;
	readonly sockets: number;
	readonly listening: number;
	readonly recvQueue: number;
	readonly sendQueue: number;
	/** TCP bytes received and acked, over the sockets that have counters. */
	readonly bytesIn: number;
	readonly bytesOut: number;
	readonly rateIn: number;
	readonly rateOut: number;
	readonly historyIn: readonly number[];
	readonly historyOut: readonly number[];
	/** The newest socket's first sight (for the age order). */
	readonly firstSeen: number;
	readonly isOwn: boolean;
};

/** `?` when the process is unknown, with the reason in a word or two (the details view says it in full). */
export function processText(row: Pick<SystemRow, 'pid' | 'process' | 'inode' | 'whyUnknown'>): string {
	if (row.pid !== null) {
		return `${row.pid} ${row.process}`;
	}

	if (row.inode === 0) {
		return '? closing';
	}

	const uid = /owned by uid (\d+)/.exec(row.whyUnknown ?? '');
	return uid ? `? uid ${uid[1]}` : '? not found';
}

/** Bytes in four characters or so: `999`, `1.2K`, `12K`, `3.4M`, `5.6G`. */
export function compactBytes(value: number | null): string {
	if (value === null) {
		return '–';
	}

	const units = ['', 'K', 'M', 'G', 'T'];
	let scaled = value;
	let unit = 0;
	while (scaled >= 1000 && unit < units.length - 1) {
		scaled /= 1024;
		unit++;
	}

	return unit === 0 ? String(Math.round(scaled)) : `${scaled < 10 ? scaled.toFixed(1) : Math.round(scaled)}${units[unit]}`;
}

/** A round-trip time: `0.05ms`, `12.3ms`, `240ms`, or `–`. */
export function formatRtt(rttMs: number | null): string {
	if (rttMs === null) {
		return '–';
	}

	return `${rttMs < 10 ? rttMs.toFixed(2) : rttMs < 100 ? rttMs.toFixed(1) : Math.round(rttMs)}ms`;
}

/** The remote end, or `*` for a listener or an unconnected UDP socket. */
export function remoteText(row: SystemRow): string {
	return row.remote.port === 0 ? '*' : formatEndpoint(row.remote);
}

/** `tcp`, `tcp6`, `udp`, `udp6`, as ss and netstat write them. */
export function protocolText(row: Pick<SystemRow, 'protocol' | 'family'>): string {
	return row.family === 6 ? `${row.protocol}6` : row.protocol;
}

/** A history as long as `refreshes` makes it: the refreshes since its last sample repeat it (an unchanged socket kept its rate). */
export function historyAt(history: readonly number[], sampledAt: number, refreshes: number): readonly number[] {
	const skipped = Math.min(16, Math.max(0, refreshes - sampledAt));
	if (skipped === 0 || history.length === 0) {
		return history;
	}

	return [...history, ...Array.from({length: skipped}, () => history.at(-1)!)];
}

function wordsOf(filter: string): string[] {
	return filter.toLowerCase().split(/\s+/).filter((word) => word !== '');
}

/** The text a filter word is looked for in. */
function searchText(row: SystemRow): string {
	return `${protocolText(row)} ${formatEndpoint(row.local)} ${formatEndpoint(row.remote)} ${row.state} ${row.pid ?? '?'} ${row.process} ${row.isOwn ? 'own netdash' : ''}`.toLowerCase();
}

/**
 * The rows matching every word of `filter` (case-insensitive, anywhere in
 * the protocol, addresses and ports, state, pid and process); `pid:N` keeps
 * exactly that process's sockets (what `p` sets). An empty filter returns
 * the same array.
 */
export function filterSystemRows(rows: readonly SystemRow[], filter: string): readonly SystemRow[] {
	const words = wordsOf(filter);
	if (words.length === 0) {
		return rows;
	}

	const pids = words.filter((word) => /^pid:(\d+|\?)$/.test(word)).map((word) => word.slice(4));
	const others = words.filter((word) => !/^pid:(\d+|\?)$/.test(word));
	return rows.filter((row) => pids.every((pid) => String(row.pid ?? '?') === pid) && (others.length === 0 || others.every((word) => searchText(row).includes(word))));
}

const rateOf = (row: {rateIn: number | null; rateOut: number | null}) => (row.rateIn ?? 0) + (row.rateOut ?? 0);
const queueOf = (row: {recvQueue: number; sendQueue: number}) => row.recvQueue + row.sendQueue;

/**
 * Busiest first (rate), fullest first (queue), or newest first (age); ties
 * by process name, then key. The sort key is worked out once per row and
 * compared with `<` (localeCompare in the comparator cost ~0.4 s at 23,000
 * rows, measured in the bench's pane keys under load).
 */
export function sortSystemRows<T extends {rateIn: number | null; rateOut: number | null; recvQueue: number; sendQueue: number; firstSeen: number; process: string; key: string}>(rows: readonly T[], sort: SystemSort): T[] {
	const primary = sort === 'rate' ? rateOf : sort === 'queue' ? queueOf : (row: T) => row.firstSeen;
	const keyed = rows.map((row) => ({row, value: primary(row)}));
	keyed.sort((a, b) => b.value - a.value || (a.row.process < b.row.process ? -1 : a.row.process > b.row.process ? 1 : a.row.key < b.row.key ? -1 : a.row.key > b.row.key ? 1 : 0));
	return keyed.map(({row}) => row);
}

/** Add two histories aligned at their newest sample. */
function addHistories(a: readonly number[], b: readonly number[]): number[] {
	const length = Math.max(a.length, b.length);
	const sum: number[] = [];
	for (let index = 0; index < length; index++) {
		sum.push((a[a.length - length + index] ?? 0) + (b[b.length - length + index] ?? 0));
	}

	return sum;
}

/** Totals per program: one group per pid, and one `?` group for the sockets no process could be named for. */
export function groupByProcess(rows: readonly SystemRow[], refreshes: number): ProcessGroup[] {
	const groups = new Map<string, ProcessGroup>();
	for (const row of rows) {
		const key = row.pid === null ? '?' : `pid:${row.pid}`;
		const group = groups.get(key);
		const historyIn = historyAt(row.historyIn, row.sampledAt, refreshes);
		const historyOut = historyAt(row.historyOut, row.sampledAt, refreshes);
		groups.set(key, {
			key,
			pid: row.pid,
			process: row.process,
			sockets: (group?.sockets ?? 0) + 1,
			listening: (group?.listening ?? 0) + (row.state === 'LISTEN' ? 1 : 0),
			recvQueue: (group?.recvQueue ?? 0) + row.recvQueue,
			sendQueue: (group?.sendQueue ?? 0) + row.sendQueue,
			bytesIn: (group?.bytesIn ?? 0) + (row.bytesIn ?? 0),
			bytesOut: (group?.bytesOut ?? 0) + (row.bytesOut ?? 0),
			rateIn: (group?.rateIn ?? 0) + (row.rateIn ?? 0),
			rateOut: (group?.rateOut ?? 0) + (row.rateOut ?? 0),
			historyIn: group ? addHistories(group.historyIn, historyIn) : historyIn,
			historyOut: group ? addHistories(group.historyOut, historyOut) : historyOut,
			firstSeen: Math.max(group?.firstSeen ?? 0, row.firstSeen),
			isOwn: (group?.isOwn ?? false) || row.isOwn,
		});
	}

	return [...groups.values()];
}

/** Why `f` cannot start a relay to `row`, or undefined when it can: only another program's TCP listener. */
export function whyNotRelayed(row: Pick<SystemRow, 'protocol' | 'state' | 'isOwn'>): string | undefined {
	if (row.protocol !== 'tcp') {
		return 'f relays to TCP listeners: this is a UDP socket';
	}

	if (row.state !== 'LISTEN') {
		return `f relays to a listener: this socket is ${row.state} — pick a LISTEN row`;
	}

	return row.isOwn ? "f relays to another program's listener: this one is netdash's own" : undefined;
}

