import {afterEach} from 'vitest';
import {setTimeout as sleep} from 'node:timers/promises';
import {render} from 'ink-testing-library';
import {createElement} from 'react';
import {createCore, createStore, type Core, type CoreOptions, type Store, type StoreOptions} from '../../source/core/index.js';
import {App} from '../../source/ui/app.js';

/** Keys as a terminal sends them. */
export const keys = {
	enter: '\r',
	escape: '\u001B',
	tab: '\t',
	shiftTab: '\u001B[Z',
	up: '\u001B[A',
	down: '\u001B[B',
} as const;

/**
 * Poll a frame until `predicate` holds: wait for content, not for time. On
 * timeout, fail with what was asked and the last frame, as the user saw it.
 */
export async function waitForFrame(lastFrame: () => string | undefined, predicate: (frame: string) => boolean, what = 'the expected frame', timeoutMs = 8000): Promise<string> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const frame = lastFrame() ?? '';
		if (predicate(frame)) {
			return frame;
		}

		if (Date.now() > deadline) {
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last frame:\n${frame}`);
		}

		await sleep(10);
	}
}

/** A rendered dashboard over a real core and store. */
export type Dashboard = ReturnType<typeof render> & {
	readonly core: Core;
	readonly store: Store;
	/** How many times the app asked to quit. */
	readonly quits: () => number;
	/** Type text (or a key from {@link keys}) and wait until the frame shows `expected`. */
	type(text: string, expected?: string | RegExp | ((frame: string) => boolean)): Promise<string>;
	/** Wait until the frame shows `expected`. */
	see(expected: string | RegExp | ((frame: string) => boolean), timeoutMs?: number): Promise<string>;
	/** Unmount, close every socket, stop the store. */
	dispose(): Promise<void>;
};

function toPredicate(expected: string | RegExp | ((frame: string) => boolean)): (frame: string) => boolean {
	if (typeof expected === 'string') {
		return (frame) => frame.includes(expected);
	}

	return expected instanceof RegExp ? (frame) => expected.test(frame) : expected;
}

/** Render the real App over a real core (loopback sockets) and a real store. */
export async function renderDashboard(options: {core?: CoreOptions; store?: StoreOptions} = {}): Promise<Dashboard> {
	const core = createCore(options.core);
	const store = createStore(core.bus, options.store);
	let quits = 0;
	const rendered = render(
		createElement(App, {
			core,
			store,
			onQuit() {
				quits++;
			},
		}),
	);
	const see = async (expected: string | RegExp | ((frame: string) => boolean), timeoutMs?: number) =>
		waitForFrame(rendered.lastFrame, toPredicate(expected), `a frame showing ${String(expected)}`, timeoutMs);
	const dashboard: Dashboard = {
		...rendered,
		core,
		store,
		quits: () => quits,
		async type(text, expected) {
			rendered.stdin.write(text);
			return expected === undefined ? (rendered.lastFrame() ?? '') : see(expected);
		},
		see,
		async dispose() {
			rendered.unmount();
			await core.closeAll(200);
			store.dispose();
		},
	};
	await see('1 Listeners');
	return dashboard;
}

/** Make the fake terminal `columns` × `rows` and tell Ink, as a terminal resize does. */
export function resize(dashboard: Dashboard, columns: number, rows: number): void {
	Object.defineProperty(dashboard.stdout, 'columns', {configurable: true, get: () => columns});
	Object.defineProperty(dashboard.stdout, 'rows', {configurable: true, get: () => rows});
	dashboard.stdout.emit('resize');
}

/**
 * Dashboards for a test file: `open()` renders one over a real core; after
 * each test everything pushed on `cleanups` runs, newest first, then every
 * dashboard opened is disposed. Call once, at the top of the file.
 */
export function dashboardsForEachTest(): {open: () => Promise<Dashboard>; cleanups: Array<() => void | Promise<void>>} {
	const dashboards: Dashboard[] = [];
	const cleanups: Array<() => void | Promise<void>> = [];
	afterEach(async () => {
		for (const cleanup of cleanups.splice(0).reverse()) {
			await cleanup();
		}

		await Promise.all(dashboards.splice(0).map(async (dashboard) => dashboard.dispose()));
	});

	async function open(): Promise<Dashboard> {
		const dashboard = await renderDashboard();
		dashboards.push(dashboard);
		return dashboard;
	}

	return {open, cleanups};
}
