import {startRole, type RoleChild, type RoleOptions} from './child.js';

/**
 * Drivers: the processes that make load (senders, clients). The same one
 * serves both sides of every comparison and lives across runs, so a run
 * spawns only the process it measures.
 */
const drivers = new Map<string, RoleChild>();

/** The running driver of this role, started on first use. */
export function driver(name: 'tcp-sender' | 'udp-sender' | 'scale-client', options: RoleOptions = {}): RoleChild {
	let child = drivers.get(name);
	if (!child || child.process.exitCode !== null || child.process.signalCode !== null) {
		child = startRole(name, {}, options);
		drivers.set(name, child);
	}

	return child;
}

/** Stop one driver (the next use starts it afresh, with that use's options). */
export async function stopDriver(name: string): Promise<void> {
	await drivers.get(name)?.kill();
	drivers.delete(name);
}

/** Stop every driver. */
export async function stopDrivers(): Promise<void> {
	await Promise.all([...drivers.values()].map(async (child) => child.kill()));
	drivers.clear();
}
