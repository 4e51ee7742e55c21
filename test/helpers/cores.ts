import {afterEach} from 'vitest';
import {Core} from '../../source/core/core.js';
import {record, type Recorder} from './recorder.js';

/**
 * Cores for a test file: `makeCore()` gives a fresh core with a recorder on
 * its bus; after each test everything pushed on `cleanups` runs, newest
 * first, and each core made is closed. Call once, at the top of the file.
 */
export function coresForEachTest(): {makeCore: () => {core: Core; events: Recorder}; cleanups: Array<() => Promise<void> | void>} {
	const cleanups: Array<() => Promise<void> | void> = [];
	afterEach(async () => {
		for (const cleanup of cleanups.splice(0).reverse()) {
			await cleanup();
		}
	});

	function makeCore(): {core: Core; events: Recorder} {
		const core = new Core();
		const events = record(core.bus);
		cleanups.push(async () => {
			events.stop();
			await core.closeAll(200);
			core.dispose();
		});
		return {core, events};
	}

	return {makeCore, cleanups};
}
