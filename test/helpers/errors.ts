import {expect} from 'vitest';
import {NetdashError} from '../../source/core/errors.js';

/** Runs `action` and returns what it threw, failing the test when it did not throw a NetdashError. */
export function thrown(action: () => unknown): NetdashError {
	try {
		action();
	} catch (error) {
		expect(error).toBeInstanceOf(NetdashError);
		return error as NetdashError;
	}

	throw new Error('expected a NetdashError, nothing was thrown');
}
