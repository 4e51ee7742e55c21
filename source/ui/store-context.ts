import {createContext, createElement, useContext, useMemo, useSyncExternalStore, type ReactNode} from 'react';
import type {Core, Snapshot, Store} from '../core/index.js';

/** What the dashboard reads (the store) and drives (the core). */
export type DashboardContextValue = {
	readonly core: Core;
	readonly store: Store;
};

const DashboardContext = createContext<DashboardContextValue | undefined>(undefined);

/** Props of {@link DashboardProvider}. */
export type DashboardProviderProps = DashboardContextValue & {
	readonly children?: ReactNode;
};

/** Puts the core and the store in context for every pane below. */
export function DashboardProvider({core, store, children}: DashboardProviderProps) {
	const value = useMemo(() => ({core, store}), [core, store]);
	return createElement(DashboardContext.Provider, {value}, children);
}

function useDashboardContext(): DashboardContextValue {
	const value = useContext(DashboardContext);
	if (!value) {
		throw new Error('netdash panes must be rendered inside <DashboardProvider>');
	}

	return value;
}

/** The core, for commands. */
export function useCore(): Core {
	return useDashboardContext().core;
}

/** The store, for `clearClosed` and the like. */
export function useStore(): Store {
	return useDashboardContext().store;
}

/**
 * A part of the latest snapshot, re-rendering only when it changes. The
 * selector must pick (`s => s.connections`), never build: a new array on
 * every call would make useSyncExternalStore loop. Derive with useMemo.
 */
export function useSnapshot<T>(selector: (snapshot: Snapshot) => T): T {
	const {store} = useDashboardContext();
	return useSyncExternalStore(store.subscribe, () => selector(store.getSnapshot()));
}
