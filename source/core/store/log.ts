/** Which way bytes went, or a note about the socket (opened, failed, …). */
export type LogDirection = 'in' | 'out' | 'note';

/** One row of a socket's log: a chunk, a framed message, a datagram, or a note. */
export type LogEntry = {
	/** The bus `seq` of the event it came from. */
	readonly seq: number;
	readonly at: number;
	readonly direction: LogDirection;
	/** `chunk` (raw stream bytes), `message` (framed), `datagram`, or `note`. */
	readonly kind: 'chunk' | 'message' | 'datagram' | 'note';
	/** Size on the wire; `data` holds at most the first `logEntryBytes` of it. */
	readonly bytes: number;
	/** A copy of the first bytes (never the socket's own buffer, which would pin 64 KiB per chunk). */
	readonly data: Buffer | undefined;
	/** For notes: the text; for datagrams: the peer (`10.0.0.2:5000`). */
	readonly text?: string;
	/** For notes: true when it reports a failure. */
	readonly isError?: boolean;
};

/** A read-only window on one socket's log as it was at publish time. */
export type LogView = {
	/** Entries kept, oldest first. */
	readonly length: number;
	/** Entries of this log evicted so far to stay within the byte budget. */
	readonly evicted: number;
	/** Bytes of those evicted entries (wire size). */
	readonly evictedBytes: number;
	/** Entry `index` (0 is the oldest kept). */
	at(index: number): LogEntry | undefined;
	/** Entries from `start` to `end` (exclusive), like Array.prototype.slice. */
	slice(start?: number, end?: number): LogEntry[];
};

/** Size of the buffers that log copies are cut from. */
const arenaBytes = 256 * 1024;

/** Bytes of bookkeeping charged per entry, so many tiny entries are bounded too. */
export const ENTRY_OVERHEAD = 96;

/**
 * One socket's log. Entries are appended to `storage` and evicted by moving
 * `head`; storage is compacted into a new array, never rewritten in place,
 * so a published view stays valid for as long as anyone holds it.
 */
export class SocketLog {
	/** The socket this log belongs to. */
	readonly id: string;
	storage: LogEntry[] = [];
	head = 0;
	evicted = 0;
	evictedBytes = 0;
	#view: LogView | undefined;

	constructor(id: string) {
		this.id = id;
	}

	/** Entries kept. */
	get length(): number {
		return this.storage.length - this.head;
	}

	append(entry: LogEntry): void {
		this.storage.push(entry);
		this.#view = undefined;
	}

	/** Drop the oldest entry; returns it. */
	evictOldest(): LogEntry | undefined {
		const entry = this.storage[this.head];
		if (!entry) {
			return undefined;
		}

		this.head++;
		this.evicted++;
		this.evictedBytes += entry.bytes;
		if (this.head > 1024 && this.head * 2 > this.storage.length) {
			this.storage = this.storage.slice(this.head);
			this.head = 0;
		}

		this.#view = undefined;
		return entry;
	}

	/** The current view; the same object until the log changes. */
	view(): LogView {
		this.#view ??= makeView(this.storage, this.head, this.storage.length, this.evicted, this.evictedBytes);
		return this.#view;
	}
}

/** A frozen window on a log's storage; methods on the prototype, so a view costs one small object. */
class LogWindow implements LogView {
	readonly #storage: LogEntry[];
	readonly #start: number;
	readonly length: number;
	readonly evicted: number;
	readonly evictedBytes: number;

	constructor(storage: LogEntry[], start: number, end: number, evicted: number, evictedBytes: number) {
		this.#storage = storage;
		this.#start = start;
		this.length = end - start;
		this.evicted = evicted;
		this.evictedBytes = evictedBytes;
		Object.freeze(this);
	}

	at(index: number): LogEntry | undefined {
		return index >= 0 && index < this.length ? this.#storage[this.#start + index] : undefined;
	}

	slice(from = 0, to = this.length): LogEntry[] {
		const clamp = (value: number) => Math.max(0, Math.min(this.length, value < 0 ? this.length + value : value));
		return this.#storage.slice(this.#start + clamp(from), this.#start + clamp(to));
	}
}

function makeView(storage: LogEntry[], start: number, end: number, evicted: number, evictedBytes: number): LogView {
	return new LogWindow(storage, start, end, evicted, evictedBytes);
}

/** An empty view, for sockets with no log. */
export const emptyLogView: LogView = makeView([], 0, 0, 0, 0);

/**
 * Every socket's log under one byte budget. When the budget is exceeded the
 * globally oldest entries go first, whichever socket they belong to.
 */
export class LogBook {
	readonly #logs = new Map<string, SocketLog>();
	/** Owners of entries in global append order (a queue with a moving head). */
	#order: SocketLog[] = [];
	#orderHead = 0;
	#bytes = 0;
	#evicted = 0;
	#evictedBytes = 0;
	readonly #budget: number;
	readonly #entryBytes: number;
	#arena = Buffer.allocUnsafeSlow(0);
	#arenaUsed = 0;

	constructor(budgetBytes: number, entryBytes: number) {
		this.#budget = budgetBytes;
		this.#entryBytes = entryBytes;
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
			log = new SocketLog(id);
			this.#logs.set(id, log);
		}

		return log;
	}

	/** The log of a socket if it has one. */
	get(id: string): SocketLog | undefined {
		return this.#logs.get(id);
	}

	/** Copy at most `entryBytes` of a payload: the socket's buffer is never kept. */
	keep(data: Buffer): Buffer {
		const length = Math.min(data.length, this.#entryBytes);
		// Copies go into arenas handed out in order: no allocation per entry, and since eviction is
		// oldest first too, an arena is freed once the budget has moved past it (at most one extra).
		if (this.#arenaUsed + length > this.#arena.length) {
			this.#arena = Buffer.allocUnsafeSlow(Math.max(arenaBytes, length));
			this.#arenaUsed = 0;
		}

		const start = this.#arenaUsed;
		// TypedArray#set is a native copy; Buffer#copy's JS wrapper costs more than the memcpy at these sizes.
		this.#arena.set(length === data.length ? data : data.subarray(0, length), start);
		this.#arenaUsed += length;
		return this.#arena.subarray(start, start + length);
	}

	/** Append an entry to a socket's log and evict old ones past the budget. Returns the ids of logs that changed. */
	append(id: string, entry: LogEntry, changed: Set<string>): void {
		const log = this.log(id);
		log.append(entry);
		this.#order.push(log);
		this.#bytes += cost(entry);
		changed.add(id);
		while (this.#bytes > this.#budget && this.#orderHead < this.#order.length) {
			const owner = this.#order[this.#orderHead++]!;
			const evicted = owner.evictOldest();
			if (evicted) {
				this.#bytes -= cost(evicted);
				this.#evicted++;
				this.#evictedBytes += evicted.bytes;
				changed.add(owner.id);
			}
		}

		if (this.#orderHead > 4096 && this.#orderHead * 2 > this.#order.length) {
			this.#order = this.#order.slice(this.#orderHead);
			this.#orderHead = 0;
		}
	}

	/** Forget these sockets' logs entirely (their entries stop counting against the budget). */
	delete(ids: Iterable<string>): void {
		const gone = new Set<SocketLog>();
		for (const id of ids) {
			const log = this.#logs.get(id);
			if (!log) {
				continue;
			}

			for (let index = log.head; index < log.storage.length; index++) {
				this.#bytes -= cost(log.storage[index]!);
			}

			log.storage = [];
			log.head = 0;
			this.#logs.delete(id);
			gone.add(log);
		}

		if (gone.size > 0) {
			this.#order = this.#order.slice(this.#orderHead).filter((log) => !gone.has(log));
			this.#orderHead = 0;
		}
	}
}

function cost(entry: LogEntry): number {
	return ENTRY_OVERHEAD + (entry.data?.length ?? 0) + (entry.text?.length ?? 0);
}
