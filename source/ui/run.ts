import process from 'node:process';
import type {Core} from '../core/index.js';
import {runJsonLines} from '../core/json-lines.js';

/** What the CLI hands the dashboard. */
export type DashboardOptions = {
	core: Core;
	/** Opens the listeners and connections named by flags. */
	openFromFlags: (core: Core) => void;
};

/** Until the dashboard lands, a terminal gets the event stream. */
export async function runDashboard({core, openFromFlags}: DashboardOptions): Promise<void> {
	const session = runJsonLines({core, input: process.stdin, output: process.stdout});
	process.on('SIGINT', () => void session.quit());
	process.on('SIGTERM', () => void session.quit());
	openFromFlags(core);
	await session.done;
	process.exit(0);
}
