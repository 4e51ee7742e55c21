import {AT, BYTES, directions, ENTRY_OVERHEAD, FLAGS, kinds, LENGTH, MARK, SEQ, STRIDE, type LogEntry, type LogView} from './log-entry.js';

/**
 * The bytes of every log, in one ring: entries hold where their copy starts
 * (absolute, counting every byte ever written), so a copy is valid while
 * fewer than `capacity` bytes have been written after it. The ring is the
 * budget and an eighth more, and the log book evicts entries before their bytes are
 * overwritten, so only entries already evicted ever lose their bytes, and
 * only a view published long before (a budget's worth of traffic later) can
 * still see one of those.
 */
export class Ring {
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
