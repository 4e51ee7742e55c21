import {Core} from '../core.js';
import {Store, type StoreOptions} from '../store/store.js';
import {ReplayPlayer, type ReplayOptions} from './player.js';
import type {LoadedSession} from './recording.js';

/** A recording ready to be shown: a core that refuses every command, a store, and the player feeding them. */
export type Replay = {
	readonly core: Core;
	readonly store: Store;
	readonly player: ReplayPlayer;
};

/**
 * Wire a loaded session for the dashboard: the player feeds the recorded
 * events to the core's bus, where the store folds them as it folds live
 * ones, so no pane knows it is a replay. The core opens nothing: a command
 * that would touch a socket fails with one line saying the replay of `file`
 * is read-only. Rates are measured in recorded time; a seek back empties
 * the store and folds the recording again. Call `player.start()` to play.
 */
export function openReplay(loaded: LoadedSession, file: string, options: ReplayOptions & {store?: StoreOptions} = {}): Replay {
	const {store: storeOptions, ...playerOptions} = options;
	const core = new Core({readOnly: `a replay is read-only (${file}): nothing is opened, sent or closed`});
	const startedAt = loaded.session.startedAt === undefined ? Number.NaN : Date.parse(loaded.session.startedAt);
	const player = new ReplayPlayer(core.bus, loaded.events, {
		badLines: loaded.badLines,
		...(Number.isNaN(startedAt) ? {} : {startAt: startedAt}),
		...playerOptions,
		rewind: () => store.reset(),
	});
	const store = new Store(core.bus, {...storeOptions, clock: player.now});
	return {core, store, player};
}
