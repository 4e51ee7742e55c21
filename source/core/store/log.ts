import {ENTRY_OVERHEAD, flagsOf, type LogEntry} from './log-entry.js';
import {Ring, SocketLog} from './socket-log.js';

export {ENTRY_OVERHEAD, type LogDirection, type LogEntry, type LogView} from './log-entry.js';
export {emptyLogView, SocketLog} from './socket-log.js';

/** Size of the buffers that lasting copies (foreign senders' bytes) are cut from. */
const arenaBytes = 64 * 1024;

/** Any pattern does: V8 flattens a regular expression's subject before matching it. */
const nul = /\0/;

/**
 * The same text, kept as one flat string. A template literal builds a tree
 * of its pieces (a V8 cons string, 32 B a node); matching a regular
 * expression against it turns the tree into one string in place (and the
 * next collection drops the tree's nodes). A listener's "accepted C9 from
 * 127.0.0.1:40000", one per client, measured ~210 B as a tree, ~65 B flat.
 */
function flattened(text: string): string {
	nul.test(text);
	return text;
}

/**
 * Every socket's log under one byte budget. When the budget is exceeded the
 * globally oldest entries go first, whichever socket they belong to.
 *
 * The hot path (a chunk or a datagram) allocates nothing: numbers go to
 * packed columns and the first `entryBytes` of the payload to the ring.
 * Entry objects are made only for entries someone reads (the rows on
 * screen), so a flood does not feed the garbage collector an object per
 * datagram that lives just long enough to be promoted.
 */
export class LogBook {
	readonly #logs = new Map<string, SocketLog>();
	/**
	 * Owners of entries in global append order, as runs (a flood from one socket is one run):
	 * `#runs[i]` owns the next `#runLengths[i]` entries. A queue with a moving head.
	 */
	#runs: SocketLog[] = [];
	#runLengths: number[] = [];
	#runHead = 0;
	#bytes = 0;
	#evicted = 0;
	#evictedBytes = 0;
	readonly #budget: number;
	readonly #entryBytes: number;
	readonly #ring: Ring;
	#arena = Buffer.allocUnsafeSlow(0);
	#arenaUsed = 0;

	constructor(budgetBytes: number, entryBytes: number) {
		this.#budget = budgetBytes;
		this.#entryBytes = entryBytes;
		// What the budget keeps and an eighth more: kept entries never come near being overwritten
		// (#evictBefore would evict one first), and views published a little while ago still find
		// the bytes of entries evicted since (1 MiB of traffic later, by default: two publishes at
		// 10 MB/s). Not twice the budget: every page of the ring is touched once when it first
		// fills, and on a virtual machine a first touch costs 10-25 µs a page: 16 MiB of ring took
		// ~70 ms of CPU and ~200 ms of wall time at the start of a datagram flood (readme, Performance).
		const budget = Math.max(budgetBytes, entryBytes, 4096);
		this.#ring = new Ring(budget + Math.max(entryBytes, Math.ceil(budget / 8)));
	}

	/** Entries evicted from all logs. */
	get evicted(): number {
		return this.#evicted;
	}

	/** Wire bytes of all evicted entries. */
	get evictedBytes(): number {
		return this.#evictedBytes;
	}

	/** Bytes charged against the budget now. */
	get bytes(): number {
		return this.#bytes;
	}

	/** The log of a socket, made on first use. */
	log(id: string): SocketLog {
		let log = this.#logs.get(id);
		if (!log) {
			log = new SocketLog(id, this.#ring);
			this.#logs.set(id, log);
		}

		return log;
	}

	/** The log of a socket if it has one. */
	get(id: string): SocketLog | undefined {
		return this.#logs.get(id);
	}

	/**
	 * A lasting copy of at most `limit` bytes (for rows that outlive the log, like a foreign
	 * sender's last bytes), cut from arenas: no allocation per copy.
	 */
	copy(data: Buffer, limit: number): Buffer {
		const length = Math.min(data.length, limit);
		if (this.#arenaUsed + length > this.#arena.length) {
			this.#arena = Buffer.allocUnsafeSlow(Math.max(arenaBytes, length));
			this.#arenaUsed = 0;
		}

		const start = this.#arenaUsed;
		this.#arena.set(length === data.length ? data : data.subarray(0, length), start);
		this.#arenaUsed += length;
		return this.#arena.subarray(start, start + length);
	}

	/**
	 * Log a chunk, message or datagram: its first `entryBytes` are copied (the socket's buffer
	 * is never kept). `text` is a datagram's peer; `isCrlf` marks a line message ended by CRLF;
	 * `toward` the way bytes in a relay's log were going.
	 */
	appendData(
		id: string,
		seq: number,
		at: number,
		direction: 'in' | 'out',
		kind: 'chunk' | 'message' | 'datagram',
		data: Buffer,
		bytes: number,
		text: string | undefined,
		changed: Set<string>,
		isCrlf = false,
		toward?: 'server' | 'client',
	): void {
		const length = Math.min(data.length, this.#entryBytes);
		const mark = this.#ring.nextMark(length);
		this.#evictBefore(mark + length - this.#ring.capacity, changed);
		this.#ring.write(mark, length === data.length ? data : data.subarray(0, length));
		this.#append(this.log(id), seq, at, bytes, mark, length, flagsOf(direction, kind, false, isCrlf, toward), text, ENTRY_OVERHEAD + length + (text?.length ?? 0), changed);
	}

	/**
	 * Log a note (opened, failed, …). Its text is kept in the slot and the entry made on first
	 * look, like a datagram's: a listener's "accepted" notes, one per client, are mostly never read.
	 */
	appendNote(id: string, seq: number, at: number, text: string, isError: boolean, changed: Set<string>): void {
		this.#append(this.log(id), seq, at, 0, this.#ring.written, -1, flagsOf('note', 'note', isError), flattened(text), ENTRY_OVERHEAD + text.length, changed);
	}

	#append(log: SocketLog, seq: number, at: number, bytes: number, mark: number, length: number, flags: number, slot: LogEntry | string | undefined, cost: number, changed: Set<string>): void {
		log.append(seq, at, bytes, mark, length, flags, slot);
		const last = this.#runs.length - 1;
		if (last >= this.#runHead && this.#runs[last] === log) {
			this.#runLengths[last]!++;
		} else {
			this.#runs.push(log);
			this.#runLengths.push(1);
		}

		this.#bytes += cost;
		changed.add(log.id);
		while (this.#bytes > this.#budget && this.#evictOldest(changed)) {
			// Evicting until within budget.
		}
	}

	/**
	 * Evict the entries whose bytes start before `mark` in the ring, which the next copy
	 * overwrites. Within the budget this never happens (the ring holds the budget and more); it
	 * does when deleted logs had left room in the budget but not in the ring.
	 */
	#evictBefore(mark: number, changed: Set<string>): void {
		while (this.#runHead < this.#runs.length && this.#runs[this.#runHead]!.headMark() < mark && this.#evictOldest(changed)) {
			// Evicting what would be overwritten.
		}
	}

	/** Evict the globally oldest entry; false when there is none. */
	#evictOldest(changed: Set<string>): boolean {
		if (this.#runHead >= this.#runs.length) {
			return false;
		}

		const owner = this.#runs[this.#runHead]!;
		if (--this.#runLengths[this.#runHead]! === 0) {
			this.#runHead++;
			if (this.#runHead > 1024 && this.#runHead * 2 > this.#runs.length) {
				this.#runs = this.#runs.slice(this.#runHead);
				this.#runLengths = this.#runLengths.slice(this.#runHead);
				this.#runHead = 0;
			}
		}

		const wireBytes = owner.headBytes();
		const cost = owner.evictOldest();
		if (cost > 0) {
			this.#bytes -= cost;
			this.#evicted++;
			this.#evictedBytes += wireBytes;
			changed.add(owner.id);
		}

		return true;
	}

	/** Forget these sockets' logs entirely (their entries stop counting against the budget). */
	delete(ids: Iterable<string>): void {
		const gone = new Set<SocketLog>();
		for (const id of ids) {
			const log = this.#logs.get(id);
			if (!log) {
				continue;
			}

			this.#bytes -= log.keptCost();
			log.chunks = [];
			log.headChunk = 0;
			log.head = log.end;
			this.#logs.delete(id);
			gone.add(log);
		}

		if (gone.size > 0) {
			const runs: SocketLog[] = [];
			const lengths: number[] = [];
			for (let index = this.#runHead; index < this.#runs.length; index++) {
				const log = this.#runs[index]!;
				if (gone.has(log)) {
					continue;
				}

				// Runs of one log that met when a deleted one between them went are joined.
				if (runs.at(-1) === log) {
					lengths[lengths.length - 1]! += this.#runLengths[index]!;
				} else {
					runs.push(log);
					lengths.push(this.#runLengths[index]!);
				}
			}

			this.#runs = runs;
			this.#runLengths = lengths;
			this.#runHead = 0;
		}
	}
}
