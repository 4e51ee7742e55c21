import {createReadStream} from 'node:fs';
import {createInterface} from 'node:readline';
import {NetdashError} from '../errors.js';
import type {BusEvent} from '../events.js';
import {toDisplayString} from '../format/display.js';

/** One run of netdash in a `--log` file: from its `session-started` record to the next. */
export type RecordedSession = {
	/** 1-based, in file order: what `--session N` names. */
	number: number;
	/** The line of its `session-started` record (1 when the file starts without one). */
	line: number;
	/** From `session-started`: ISO time, netdash's version and arguments. Absent for events before any such record. */
	startedAt?: string;
	version?: string;
	arguments?: readonly string[];
	/** Bus events recorded (commands the core was given are not counted). */
	events: number;
	/** Recorded time of its first and last event (ms), undefined when it has none. */
	firstAt?: number;
	lastAt?: number;
};

/** A line of the file that is not a record: cut by a SIGKILL, or not from netdash. */
export type BadLine = {line: number; reason: string};

/** What a pass over a recording found. */
export type RecordingIndex = {
	sessions: RecordedSession[];
	badLines: BadLine[];
};

/** The events of one session, ready to replay. */
export type LoadedSession = {
	session: RecordedSession;
	/** In file order (which is `seq` order); payloads decoded back to `data` Buffers. */
	events: BusEvent[];
	/** Bad lines inside this session's part of the file. */
	badLines: BadLine[];
};

type Visitor = {
	session(session: RecordedSession): void;
	event(event: BusEvent, line: number): void;
	bad(bad: BadLine): void;
};

/** A record's JSON back to a bus event: `base64` (how --log and --json write `data`) decoded again. */
function toEvent(record: Record<string, unknown>): BusEvent {
	if (typeof record['base64'] === 'string') {
		const {base64, ...rest} = record;
		return {...rest, data: Buffer.from(base64 as string, 'base64')} as unknown as BusEvent;
	}

	return record as unknown as BusEvent;
}

async function walk(path: string, visit: Visitor): Promise<void> {
	const input = createReadStream(path);
	await new Promise<void>((resolve, reject) => {
		input.once('open', () => resolve());
		input.once('error', (error: NodeJS.ErrnoException) => reject(new NetdashError(error.code ?? 'REPLAY_FAILED', `cannot read the recording ${path}: ${String(error.message).split('\n', 1)[0]}`)));
	});
	let line = 0;
	let session: RecordedSession | undefined;
	try {
		for await (const text of createInterface({input, crlfDelay: Number.POSITIVE_INFINITY})) {
			line++;
			if (text === '') {
				continue;
			}

			let record: Record<string, unknown>;
			try {
				record = JSON.parse(text) as Record<string, unknown>;
			} catch {
				visit.bad({line, reason: 'not JSON (cut short?)'});
				continue;
			}

			if (typeof record !== 'object' || record === null || typeof record['type'] !== 'string') {
				visit.bad({line, reason: 'not a netdash record'});
				continue;
			}

			if (record['type'] === 'session-started') {
				session = {
					number: (session?.number ?? 0) + 1,
					line,
					...(typeof record['startedAt'] === 'string' ? {startedAt: record['startedAt']} : {}),
					...(typeof record['version'] === 'string' ? {version: record['version']} : {}),
					...(Array.isArray(record['arguments']) ? {arguments: record['arguments'].map(String)} : {}),
					events: 0,
				};
				visit.session(session);
				continue;
			}

			if (record['type'] === 'command') {
				continue;
			}

			if (typeof record['seq'] !== 'number' || typeof record['at'] !== 'number') {
				visit.bad({line, reason: `a ${String(record['type']).slice(0, 40)} record without seq and at`});
				continue;
			}

			if (session === undefined) {
				session = {number: 1, line: 1, events: 0};
				visit.session(session);
			}

			session.events++;
			session.firstAt ??= record['at'];
			session.lastAt = record['at'];
			visit.event(toEvent(record), line);
		}
	} finally {
		input.destroy();
	}
}

/**
 * The runs a `--log` file holds (one per `session-started` record) and its
 * lines that are not records, in one pass that keeps no payload. Throws
 * NetdashError when the file cannot be read.
 */
export async function indexRecording(path: string): Promise<RecordingIndex> {
	const index: RecordingIndex = {sessions: [], badLines: []};
	await walk(path, {
		session(session) {
			index.sessions.push(session);
		},
		event() {
			// Counted on the session itself.
		},
		bad(bad) {
			index.badLines.push(bad);
		},
	});
	return index;
}

/**
 * The events of run `number` (1-based) of a `--log` file, with the lines
 * inside it that are not records. Throws NetdashError when the file cannot
 * be read or holds no such run.
 */
export async function loadSession(path: string, number: number): Promise<LoadedSession> {
	let session: RecordedSession | undefined;
	const events: BusEvent[] = [];
	const badLines: BadLine[] = [];
	let count = 0;
	await walk(path, {
		session(each) {
			count = each.number;
			if (each.number === number) {
				session = each;
			}
		},
		event(event) {
			if (count === number) {
				events.push(event);
			}
		},
		bad(bad) {
			if (count === number || (number === 1 && count === 0)) {
				badLines.push(bad);
			}
		},
	});
	if (!session) {
		throw new NetdashError('NO_SESSION', `${path} holds ${count} run${count === 1 ? '' : 's'}: there is no run ${number}`);
	}

	return {session, events, badLines};
}

/** One line about a run, for choosing: `2  2026-12-03T22:01:02.000Z  netdash -l 0  (41 events, 3.2 s)`. */
export function describeSession(session: RecordedSession): string {
	const span = session.firstAt === undefined || session.lastAt === undefined ? '' : `, ${((session.lastAt - session.firstAt) / 1000).toFixed(1)} s`;
	const args = session.arguments === undefined ? '' : `  netdash ${toDisplayString(session.arguments.join(' '), {maxChars: 50})}`;
	return `${session.number}  ${session.startedAt ?? '(no session-started record)'}${args}  (${session.events} event${session.events === 1 ? '' : 's'}${span})`;
}
