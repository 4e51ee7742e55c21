import {existsSync} from 'node:fs';
import path from 'node:path';
import {performance} from 'node:perf_hooks';
import {createElement, useSyncExternalStore, type ComponentType, type ReactNode} from 'react';
import {render, type Instance} from 'ink';
import type {Core, Store} from '../../../source/core/index.js';
import {VirtualKeyboard, VirtualTerminal} from './virtual-terminal.js';
import {dashboardRenderOptions} from '../../../source/ui/render-options.js';

const repo = path.resolve(import.meta.dirname, '..', '..', '..');

/** The built dashboard the bench renders (`App` with `{core, store}` props). */
export const dashboardPath = path.join(repo, 'dist', 'ui', 'app.js');

/** True once the dashboard is built. */
export function isDashboardBuilt(): boolean {
	return existsSync(dashboardPath);
}

/** Props of the dashboard's root (the bench passes no onQuit: nothing quits). */
export type AppProps = {core: Core; store: Store; onCrash?: (error: unknown) => void};

/** Ink options the bench renders with: the CLI's own (source/ui/render-options.ts). */
export const inkOptions = dashboardRenderOptions;

/** A dashboard mounted on a virtual terminal. */
export type MountedDashboard = {
	readonly terminal: VirtualTerminal;
	readonly keyboard: VirtualKeyboard;
	readonly instance: Instance;
	/** `totals.events` of the snapshot in the tree that was rendered last. */
	renderedEvents(): number;
	/**
	 * Each render of a new snapshot: when, and its `totals.events`. Ink writes
	 * nothing for a render whose output is the same as the last frame's, so a
	 * snapshot whose events change nothing on screen leaves no frame; this is
	 * when the tree held it.
	 */
	readonly renders: ReadonlyArray<{at: number; tag: number}>;
};

let renderedEvents = 0;
const renders: Array<{at: number; tag: number}> = [];

/**
 * Records which snapshot the tree holds. It reads the store in render (not
 * in an effect): Ink draws in React's resetAfterCommit, before layout
 * effects, so an effect would tag each frame with the previous snapshot.
 */
function Probe({store, children}: {store: Store; children?: ReactNode}): ReactNode {
	const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot);
	if (snapshot.totals.events !== renderedEvents) {
		renders.push({at: performance.now(), tag: snapshot.totals.events});
	}

	renderedEvents = snapshot.totals.events;
	return children;
}

/** Load `App`: the built dashboard, or the bench's stub (to test the harness itself). */
export async function loadApp(isStub: boolean): Promise<ComponentType<AppProps>> {
	// Non-literal specifiers: source/ui/app.tsx may not exist yet, and hooks.ts maps source/ to dist/.
	const specifier = isStub ? './stub-app.js' : '../../../source/ui/app.js';
	const module = (await import(specifier)) as {App?: ComponentType<AppProps>};
	if (!module.App) {
		throw new Error(`${specifier} exports no App`);
	}

	return module.App;
}

/** Render `App` into a 120×40 virtual terminal, frames tagged with the snapshot they show. */
export function mountDashboard(App: ComponentType<AppProps>, core: Core, store: Store, onCrash: (error: unknown) => void): MountedDashboard {
	const terminal = new VirtualTerminal(120, 40);
	const keyboard = new VirtualKeyboard();
	terminal.tagFrame = () => renderedEvents;
	const instance = render(createElement(Probe, {store}, createElement(App, {core, store, onCrash})), {
		stdout: terminal as unknown as NodeJS.WriteStream,
		stdin: keyboard as unknown as NodeJS.ReadStream,
		stderr: new VirtualTerminal() as unknown as NodeJS.WriteStream,
		exitOnCtrlC: false,
		patchConsole: false,
		interactive: true,
		...inkOptions,
	});
	return {terminal, keyboard, instance, renderedEvents: () => renderedEvents, renders};
}
