import {performance} from 'node:perf_hooks';

/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable
 * between processes on one machine (both sides read CLOCK_REALTIME), for
 * intervals that start in one process and end in another.
 */
export function wallMs(): number {
	return performance.timeOrigin + performance.now();
}
