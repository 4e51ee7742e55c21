// First: NO_COLOR must be applied before Ink's chalk is imported.
import './no-color.js';
import process from 'node:process';
import {render, type Instance} from 'ink';
import {createStore, oneLine, type Core, type Store} from '../core/index.js';
import type {ReplayPlayer} from '../core/replay/player.js';
import {toDisplayString} from '../core/format/index.js';
import {App} from './app.js';
import {dashboardRenderOptions} from './render-options.js';
import {dashboardStdout, dumbTerminalRefusal, terminalKind} from './terminal.js';

/** What the CLI hands the dashboard. */
export type DashboardOptions = {
	core: Core;
	/** Opens the listeners and connections named by flags. */
	openFromFlags: (core: Core) => void;
	/** Runs after every socket is closed, before exit (e.g. flush a log file). */
	finish?: () => Promise<void>;
	/** The store to show (default: a new one over the core's bus). */
	store?: Store;
	/** A recording played back (`netdash replay`): its status line and keys are shown. */
	replay?: ReplayPlayer;
};

/** How long sockets get to close on the way out before the process exits anyway. */
const closeGraceMs = 500;
const exitDeadlineMs = 2000;

/**
 * The dashboard: the App on the alternate screen (render-options.ts: the
 * store publishes at most every 50 ms; keys are answered at once).
 * However it ends — q, :quit, ctrl-c, SIGINT, SIGTERM or a crash — the
 * terminal is restored first, then the sockets are closed.
 */
export async function runDashboard({core, openFromFlags, finish, store = createStore(core.bus), replay}: DashboardOptions): Promise<void> {
	if (terminalKind() === 'dumb') {
		// Nothing is open yet (openFromFlags has not run): one line and out, as for a bad flag.
		process.stderr.write(`netdash: ${dumbTerminalRefusal}\n`);
		process.exit(2);
	}

	let instance: Instance | undefined;
	let isLeaving = false;

	const leave = async (code: number, message?: string): Promise<void> => {
		if (isLeaving) {
			return;
		}

		isLeaving = true;
		try {
			instance?.unmount();
		} catch {
			// The terminal may already be gone; nothing more to restore.
		}

		if (message) {
			process.stderr.write(`netdash: ${message}\n`);
		}

		// A stuck close must not keep the process alive (and the timer keeps the loop alive until then).
		setTimeout(() => process.exit(code), exitDeadlineMs);
		try {
			await core.closeAll(closeGraceMs);
			await finish?.();
		} finally {
			store.dispose();
			process.exit(code);
		}
	};

	const crash = (error: unknown) => {
		// After the screen is restored, still one escaped line: an error message may quote peer data.
		void leave(1, `crashed: ${toDisplayString(oneLine(error), {maxChars: 500})}`);
	};

	process.on('SIGINT', () => void leave(0));
	process.on('SIGTERM', () => void leave(0));
	process.on('SIGHUP', () => void leave(0));
	process.on('uncaughtException', crash);
	process.on('unhandledRejection', crash);

	instance = render(<App core={core} store={store} replay={replay} onQuit={() => void leave(0)} onCrash={crash} />, {
		...dashboardRenderOptions,
		// VT100 and the Linux console: no synchronized-output brackets (terminal.ts).
		stdout: dashboardStdout(process.stdout),
		exitOnCtrlC: false,
		// Ink turns itself non-interactive (no alternate screen, one frame at exit) when CI is set;
		// a person at a terminal in such an environment still gets the dashboard.
		interactive: Boolean(process.stdout.isTTY),
	});
	openFromFlags(core);
	await instance.waitUntilExit();
	await leave(0);
}
