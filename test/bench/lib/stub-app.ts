/**
 * A stand-in dashboard, only to test the bench's own machinery (virtual
 * terminal, probe, key and frame timing) before the real one lands:
 * `npm run bench -- --stub-dashboard`. It follows the rules the real one
 * must: one snapshot per frame, only visible rows rendered.
 */
import {createElement as h, useState, type ReactNode} from 'react';
import {Box, Text, useInput} from 'ink';
import {useSyncExternalStore} from 'react';
import type {AppProps} from './dashboard.js';

const VISIBLE_ROWS = 30;

/** The stub: totals, a windowed connections list (j/k), a help overlay (?). */
export function App({store}: AppProps): ReactNode {
	const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot);
	const [cursor, setCursor] = useState(0);
	const [isHelpShown, setHelpShown] = useState(false);
	const {connections, totals} = snapshot;
	useInput((input) => {
		if (input === 'j') {
			setCursor((value) => Math.min(value + 1, connections.length - 1));
		} else if (input === 'k') {
			setCursor((value) => Math.max(value - 1, 0));
		} else if (input === '?') {
			setHelpShown((value) => !value);
		}
	});
	const start = Math.max(0, Math.min(cursor - VISIBLE_ROWS + 1, connections.length - VISIBLE_ROWS));
	const rows = connections.slice(start, start + VISIBLE_ROWS).map((row, index) =>
		h(Text, {key: row.id, inverse: start + index === cursor}, `${row.id.padEnd(8)} ${row.state.padEnd(12)} ${String(row.bytesIn).padStart(14)} B in`),
	);
	return h(
		Box,
		{flexDirection: 'column', width: 120, height: 39},
		h(Text, {bold: true}, `stub dashboard · ${totals.connections} connections · ${totals.bytesIn} B in · event ${totals.events}`),
		isHelpShown ? h(Text, {}, 'show or hide this help') : h(Box, {flexDirection: 'column'}, ...rows),
	);
}
