import type {LogView} from './log.js';

/** Overlays on top of a flat map before lookups walk too far: a copy of the whole map every this many publishes. */
const MAX_DEPTH = 32;

/**
 * An overlay of at most this many views takes the next changes into a copy of itself, instead of
 * getting another overlay on top: a view shadowed by a later one is then no longer held. Without
 * it, a flood into one socket left a view of its log in each of the last 32 overlays, each
 * holding the log's chunks of its time (1.6 s of them at 20 publishes a second): enough garbage
 * promoted to keep V8 running full collections every ~100 ms (issue 18).
 */
const MERGE_SIZE = 256;

/** A removed view, in an overlay. */
const gone = Symbol('gone');

type Layer = ReadonlyMap<string, LogView | typeof gone>;

/**
 * A snapshot's log views by socket: a read-only map that shares what did not
 * change with the one before it. A publish used to copy the whole map to
 * change the one log that moved: at 17,000 connections that was most of a
 * publish (~10 ms, issue 18). Each map is now a small overlay of the changed
 * views on the map before (a small overlay takes the next changes into a copy
 * of itself), made flat again once the chain is MAX_DEPTH long, so a lookup
 * stays short, and a map once published never changes.
 */
export class LogViews implements ReadonlyMap<string, LogView> {
	/** No views. */
	static readonly empty = new LogViews(new Map(), undefined);

	readonly #changes: Layer;
	readonly #base: LogViews | undefined;
	readonly #depth: number;
	/** Every view, when asked for as a whole (a flat map is its own). */
	#all: Map<string, LogView> | undefined;

	private constructor(changes: Layer, base: LogViews | undefined) {
		this.#changes = changes;
		this.#base = base;
		this.#depth = base ? base.#depth + 1 : 0;
		if (!base) {
			// A root holds no removals: its changes are every view.
			this.#all = changes as Map<string, LogView>;
		}
	}

	/** This map with `changes` over it (undefined: the view is removed). */
	with(changes: ReadonlyMap<string, LogView | undefined>): LogViews {
		if (this.#changes.size <= MERGE_SIZE) {
			// Small: a copy of this map's own layer with the changes in it, on the same base.
			if (!this.#base) {
				const all = new Map(this.#all);
				for (const [id, view] of changes) {
					if (view) {
						all.set(id, view);
					} else {
						all.delete(id);
					}
				}

				return new LogViews(all, undefined);
			}

			const merged = new Map(this.#changes);
			for (const [id, view] of changes) {
				merged.set(id, view ?? gone);
			}

			return new LogViews(merged, this.#base);
		}

		const layer = new Map<string, LogView | typeof gone>();
		for (const [id, view] of changes) {
			layer.set(id, view ?? gone);
		}

		const next = new LogViews(layer, this);
		return next.#depth < MAX_DEPTH ? next : new LogViews(next.#flat(), undefined);
	}

	get(id: string): LogView | undefined {
		for (let layer: LogViews | undefined = this; layer; layer = layer.#base) {
			const view = layer.#changes.get(id);
			if (view !== undefined) {
				return view === gone ? undefined : view;
			}
		}

		return undefined;
	}

	has(id: string): boolean {
		return this.get(id) !== undefined;
	}

	get size(): number {
		return this.#flat().size;
	}

	forEach(callback: (view: LogView, id: string, map: ReadonlyMap<string, LogView>) => void, thisArgument?: unknown): void {
		for (const [id, view] of this.#flat()) {
			callback.call(thisArgument, view, id, this);
		}
	}

	entries(): MapIterator<[string, LogView]> {
		return this.#flat().entries();
	}

	keys(): MapIterator<string> {
		return this.#flat().keys();
	}

	values(): MapIterator<LogView> {
		return this.#flat().values();
	}

	[Symbol.iterator](): MapIterator<[string, LogView]> {
		return this.entries();
	}

	/**
	 * Every view as one map, made on first need (iterating a snapshot's logs is rare; flattening
	 * the chain is once every MAX_DEPTH publishes): the nearest layer below that has one, with the
	 * changes above it applied in order. Layers between keep none of their own.
	 */
	#flat(): Map<string, LogView> {
		if (this.#all) {
			return this.#all;
		}

		const above: LogViews[] = [];
		let layer: LogViews = this;
		while (!layer.#all) {
			above.push(layer);
			layer = layer.#base!;
		}

		const all = new Map(layer.#all);
		for (let index = above.length - 1; index >= 0; index--) {
			for (const [id, view] of above[index]!.#changes) {
				if (view === gone) {
					all.delete(id);
				} else {
					all.set(id, view);
				}
			}
		}

		this.#all = all;
		return all;
	}
}
