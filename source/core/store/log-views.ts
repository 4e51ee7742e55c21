import type {LogView} from './log.js';

/** Overlays on top of a flat map before lookups walk too far: a copy of the whole map every this many publishes. */
const MAX_DEPTH = 32;

/** A removed view, in an overlay. */
const gone = Symbol('gone');

type Layer = ReadonlyMap<string, LogView | typeof gone>;

/**
 * A snapshot's log views by socket: a read-only map that shares what did not
 * change with the one before it. A publish used to copy the whole map to
 * change the one log that moved: at 17,000 connections that was most of a
 * publish (~10 ms, issue 18). Each map is now a small overlay of the changed
 * views on the map before, made flat again once the chain is MAX_DEPTH long,
 * so a lookup stays short, and a map once published never changes.
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
