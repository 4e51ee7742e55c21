import {NetdashError} from './errors.js';

/**
 * The longest delay Node's timers take: 2^31 − 1 ms (about 24.8 days). A
 * longer one is not an error to Node: it prints a `TimeoutOverflowWarning`
 * on stderr (over the dashboard) and fires after 1 ms, so a
 * `--connect-timeout 3000000` gave up every dial at once.
 */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * Check a timeout before it reaches a timer: a finite number of ms from 0 to
 * MAX_TIMEOUT_MS. Throws NetdashError('BAD_TIMEOUT') naming `what` otherwise.
 */
export function checkTimeout(ms: number, what: string): number {
	if (!Number.isFinite(ms) || ms < 0) {
		throw new NetdashError('BAD_TIMEOUT', `${what} must be a number of seconds from 0, not ${ms / 1000}`);
	}

	if (ms > MAX_TIMEOUT_MS) {
		throw new NetdashError('BAD_TIMEOUT', `${what} of ${ms / 1000} seconds is longer than Node's timers allow (at most ${Math.floor(MAX_TIMEOUT_MS / 1000)} seconds, about 24 days)`);
	}

	return ms;
}
