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
	/** For a message of line framing: it ended in CRLF (else LF; the terminator is not in `data`). */
	readonly isCrlf?: boolean;
	/** In a relay's log: which way the bytes were going (what the client sent goes to the server). */
	readonly toward?: 'server' | 'client';
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

/** Size of the buffers that lasting copies (foreign senders' bytes) are cut from. */
const arenaBytes = 64 * 1024;

/** Bytes of bookkeeping charged per entry, so many tiny entries are bounded too. */
export const ENTRY_OVERHEAD = 96;

/** Numbers kept per entry in a log's `nums` column: */
const STRIDE = 6;
const SEQ = 0;
const AT = 1;
/** Wire bytes. */
const BYTES = 2;
/** Where the entry's copy starts in the ring (absolute: bytes written before it), or the ring's mark then for entries without data. */
const MARK = 3;
/** Bytes copied into the ring, or -1 for none (notes). */
const LENGTH = 4;
/** Direction, kind and isError (see `flagsOf`). */
const FLAGS = 5;

const directions: readonly LogDirection[] = ['in', 'out', 'note'];
const kinds: ReadonlyArray<LogEntry['kind']> = ['chunk', 'message', 'datagram', 'note'];

function flagsOf(direction: LogDirection, kind: LogEntry['kind'], isError: boolean, isCrlf = false, toward?: 'server' | 'client'): number {
	return directions.indexOf(direction) + kinds.indexOf(kind) * 4 + (isError ? 16 : 0) + (isCrlf ? 32 : 0) + (toward === 'server' ? 64 : toward === 'client' ? 128 : 0);
}

/**
 * The bytes of every log, in one ring: entries hold where their copy starts
 * (absolute, counting every byte ever written), so a copy is valid while
 * fewer than `capacity` bytes have been written after it. The ring is the
 * budget and an eighth more, and the log book evicts entries before their bytes are
 * overwritten, so only entries already evicted ever lose their bytes, and
 * only a view published long before (a budget's worth of traffic later) can
 * still see one of those.
 */
class Ring {
	readonly capacity: number;
	/** Bytes written so far, counting the unused tail at each wrap. */
	written = 0;
	#buffer: Buffer | undefined;

	constructor(capacity: number) {
		this.capacity = capacity;
	}

	/** Where `length` bytes would go next (absolute), skipping the tail if they do not fit before the wrap. */
	nextMark(length: number): number {
		const offset = this.written % this.capacity;
		return offset + length > this.capacity ? this.written + (this.capacity - offset) : this.written;
	}

	/** Copy `data` in at `mark` (from `nextMark`). */
	write(mark: number, data: Buffer): void {
		// Made on first use: a session that logs nothing does not reserve the ring (its pages are only touched as it fills).
		this.#buffer ??= Buffer.allocUnsafeSlow(this.capacity);
		// TypedArray#set is a native copy; Buffer#copy's JS wrapper costs more than the memcpy at these sizes.
		this.#buffer.set(data, mark % this.capacity);
		this.written = mark + data.length;
	}

	/** A copy of the bytes at `mark`, or undefined when they have been overwritten since. */
	read(mark: number, length: number): Buffer | undefined {
		if (mark + this.capacity < this.written || !this.#buffer) {
			return undefined;
		}

		const start = mark % this.capacity;
		// A copy: the ring's bytes are overwritten later, and an entry never changes once seen.
		return Buffer.from(this.#buffer.subarray(start, start + length));
	}
}

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

/** Entries in a log's first chunk; each next chunk is twice the last, up to MAX_CHUNK. */
const FIRST_CHUNK = 4;
const MAX_CHUNK = 512;

type Slot = LogEntry | string | undefined;

/**
 * A run of a log's entries, as columns: `nums` holds STRIDE numbers per
 * entry, and `slots` holds, per entry, the entry object once made, or its
 * text (a datagram's peer) until then. Written once per entry, in order,
 * and never reused, so a view that reads a chunk only ever sees what it saw.
 *
 * `slots` is made only when an entry needs one of its own: until then every
 * entry's slot is `shared` (a flood's entries all have the same peer, or no
 * text at all). A chunk lives as long as its entries are kept and a
 * published view holds it, long enough to be promoted to V8's old
 * generation; a 4 KiB slots array per 512 datagrams promoted there grew
 * the young generation and kept V8 marking the old one: 20–40 full
 * collections in a 3 s flood, ~0.4 µs per datagram (issue 18).
 */
type Chunk = {
	/** Index (in the log, counting from its first entry ever) of the chunk's first entry. */
	readonly start: number;
	readonly capacity: number;
	readonly nums: Float64Array;
	/** Per entry, once some entry's slot differs from `shared`. */
	slots: Slot[] | undefined;
	/** The slot of every entry while `slots` is not made. */
	shared: string | undefined;
};

/** Entry `offset`'s slot. */
function slotOf(chunk: Chunk, offset: number): Slot {
	return chunk.slots === undefined ? chunk.shared : chunk.slots[offset];
}

/** Set entry `offset`'s slot (its first, from append, or the entry made on first look). */
function setSlot(chunk: Chunk, offset: number, slot: Slot): void {
	if (chunk.slots === undefined) {
		if (slot === chunk.shared) {
			return;
		}

		if (offset === 0 && typeof slot !== 'object') {
			chunk.shared = slot;
			return;
		}

		chunk.slots = Array.from<Slot>({length: chunk.capacity}).fill(chunk.shared);
	}

	chunk.slots[offset] = slot;
}

/** The chunk of `chunks` (ordered by start) that holds entry `index`. */
function chunkOf(chunks: readonly Chunk[], index: number): Chunk {
	let low = 0;
	let high = chunks.length - 1;
	while (low < high) {
		const middle = (low + high + 1) >> 1;
		if (chunks[middle]!.start <= index) {
			low = middle;
		} else {
			high = middle - 1;
		}
	}

	return chunks[low]!;
}

/**
 * One socket's log, kept in chunks of columns so an entry costs no object
 * until someone looks at it, and appending copies nothing already kept.
 * Entries are appended at `end` and evicted by moving `head`; a chunk is
 * dropped once evicted entirely (the chunk list is then replaced, not
 * changed in place), so a published view stays valid for as long as anyone
 * holds it.
 */
export class SocketLog {
	/** The socket this log belongs to. */
	readonly id: string;
	chunks: Chunk[] = [];
	/** Index in `chunks` of the chunk that holds `head`. */
	headChunk = 0;
	/** Index of the oldest kept entry (counting from the first entry ever). */
	head = 0;
	/** Index the next entry gets. */
	end = 0;
	evicted = 0;
	evictedBytes = 0;
	readonly #ring: Ring;
	#view: LogView | undefined;

	constructor(id: string, ring: Ring) {
		this.id = id;
		this.#ring = ring;
	}

	/** Entries kept. */
	get length(): number {
		return this.end - this.head;
	}

	append(seq: number, at: number, bytes: number, mark: number, length: number, flags: number, slot: Slot): void {
		let chunk = this.chunks.at(-1);
		if (!chunk || this.end === chunk.start + chunk.capacity) {
			const capacity = chunk ? Math.min(MAX_CHUNK, chunk.capacity * 2) : FIRST_CHUNK;
			chunk = {start: this.end, capacity, nums: new Float64Array(capacity * STRIDE), slots: undefined, shared: undefined};
			this.chunks.push(chunk);
		}

		const index = this.end - chunk.start;
		const base = index * STRIDE;
		const {nums} = chunk;
		nums[base + SEQ] = seq;
		nums[base + AT] = at;
		nums[base + BYTES] = bytes;
		nums[base + MARK] = mark;
		nums[base + LENGTH] = length;
		nums[base + FLAGS] = flags;
		setSlot(chunk, index, slot);
		this.end++;
		this.#view = undefined;
	}

	/** The ring mark of the oldest kept entry. */
	headMark(): number {
		const chunk = this.chunks[this.headChunk];
		return chunk && this.head < this.end ? chunk.nums[(this.head - chunk.start) * STRIDE + MARK]! : Number.POSITIVE_INFINITY;
	}

	/** Drop the oldest entry; returns its budget cost (0 when the log is empty). */
	evictOldest(): number {
		if (this.head >= this.end) {
			return 0;
		}

		const chunk = this.chunks[this.headChunk]!;
		const index = this.head - chunk.start;
		const cost = costOf(chunk, index);
		this.evicted++;
		this.evictedBytes += chunk.nums[index * STRIDE + BYTES]!;
		this.head++;
		if (this.head === chunk.start + chunk.capacity) {
			this.headChunk++;
			// Drop evicted chunks: a new list, so views keep the one they have. At once while the list
			// is short (a flood's log holds a dozen chunks): an evicted chunk kept until half the list
			// was evicted lived twice as long, long enough to be promoted (see Chunk). Long lists are
			// copied once a sixteenth of them is evicted.
			if (this.headChunk * 16 >= this.chunks.length) {
				this.chunks = this.chunks.slice(this.headChunk);
				this.headChunk = 0;
			}
		}

		this.#view = undefined;
		return cost;
	}

	/** Budget charged for every kept entry. */
	keptCost(): number {
		let total = 0;
		for (let index = this.head; index < this.end; index++) {
			const chunk = chunkOf(this.chunks, index);
			total += costOf(chunk, index - chunk.start);
		}

		return total;
	}

	/** Wire bytes of the oldest kept entry. */
	headBytes(): number {
		const chunk = this.chunks[this.headChunk];
		return chunk && this.head < this.end ? chunk.nums[(this.head - chunk.start) * STRIDE + BYTES]! : 0;
	}

	/** The current view; the same object until the log changes. */
	view(): LogView {
		this.#view ??= new LogWindow(this.chunks, this.#ring, this.head, this.end, this.evicted, this.evictedBytes);
		return this.#view;
	}
}

/** Budget charged for entry `index` of a chunk. */
function costOf(chunk: Chunk, index: number): number {
	const slot = slotOf(chunk, index);
	const text = typeof slot === 'string' ? slot : slot?.text;
	return ENTRY_OVERHEAD + Math.max(0, chunk.nums[index * STRIDE + LENGTH]!) + (text?.length ?? 0);
}

/** Entry `index` of a log, made (and kept in its slot) on first look. */
function entryAt(chunks: readonly Chunk[], ring: Ring | undefined, index: number): LogEntry {
	const chunk = chunkOf(chunks, index);
	const offset = index - chunk.start;
	const slot = slotOf(chunk, offset);
	if (typeof slot === 'object') {
		return slot;
	}

	const at = offset * STRIDE;
	const {nums} = chunk;
	const flags = nums[at + FLAGS]!;
	const length = nums[at + LENGTH]!;
	const data = length < 0 ? undefined : ring?.read(nums[at + MARK]!, length);
	let text = slot;
	if (length >= 0 && !data) {
		// Only an entry evicted a whole ring ago, seen through a view published before that, gets here.
		text = `${slot === undefined ? '' : `${slot} `}(evicted: its bytes are no longer kept)`;
	}

	const entry: LogEntry = {
		seq: nums[at + SEQ]!,
		at: nums[at + AT]!,
		direction: directions[flags & 3]!,
		kind: kinds[(flags >> 2) & 3]!,
		bytes: nums[at + BYTES]!,
		data,
		...(text === undefined ? {} : {text}),
		...(flags & 16 ? {isError: true} : {}),
		...(flags & 32 ? {isCrlf: true} : {}),
		...(flags & 64 ? {toward: 'server' as const} : flags & 128 ? {toward: 'client' as const} : {}),
	};
	setSlot(chunk, offset, entry);
	return entry;
}

/** A frozen window on a log's chunks; methods on the prototype, so a view costs one small object. */
class LogWindow implements LogView {
	readonly #chunks: readonly Chunk[];
	readonly #ring: Ring | undefined;
	readonly #start: number;
	readonly length: number;
	readonly evicted: number;
	readonly evictedBytes: number;

	constructor(chunks: readonly Chunk[], ring: Ring | undefined, start: number, end: number, evicted: number, evictedBytes: number) {
		this.#chunks = chunks;
		this.#ring = ring;
		this.#start = start;
		this.length = end - start;
		this.evicted = evicted;
		this.evictedBytes = evictedBytes;
		Object.freeze(this);
	}

	at(index: number): LogEntry | undefined {
		return index >= 0 && index < this.length ? entryAt(this.#chunks, this.#ring, this.#start + index) : undefined;
	}

	slice(from = 0, to = this.length): LogEntry[] {
		const clamp = (value: number) => Math.max(0, Math.min(this.length, value < 0 ? this.length + value : value));
		const entries: LogEntry[] = [];
		for (let index = clamp(from); index < clamp(to); index++) {
			entries.push(entryAt(this.#chunks, this.#ring, this.#start + index));
		}

		return entries;
	}
}

/** An empty view, for sockets with no log. */
export const emptyLogView: LogView = new LogWindow([], undefined, 0, 0, 0, 0);

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
