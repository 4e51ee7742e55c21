import {afterEach, describe, expect, it} from 'vitest';
import {createCore, type Core} from '../../source/core/index.js';
import {parseCliOptions} from '../../source/options.js';
import {runCli} from '../helpers/cli.js';
import {record, type Recorder} from '../helpers/recorder.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function setup(): {core: Core; events: Recorder} {
	const core = createCore();
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
	});
	return {core, events: record(core.bus)};
}

/** Collects Node's process warnings (TimeoutOverflowWarning among them) while a test runs. */
function warnings(): string[] {
	const seen: string[] = [];
	const onWarning = (warning: Error) => {
		seen.push(`${warning.name}: ${warning.message}`);
	};

	process.on('warning', onWarning);
	cleanups.push(() => process.off('warning', onWarning));
	return seen;
}

describe('timeouts beyond what Node timers can hold', () => {
	it('--connect-timeout 3000000 exits with code 2 and one clear line, not a TimeoutOverflowWarning and a dial that fails at once', async () => {
		const {code, stdout, stderr} = await runCli(['--json', '--connect-timeout', '3000000', '--connect', '127.0.0.1:9']);
		expect(code).toBe(2);
		expect(stdout).toBe('');
		expect(stderr).toBe("netdash: --connect-timeout 3000000 is too long: Node's timers go up to 2147483 seconds (about 24 days)\n");
	});

	it('every timer flag is checked the same way, and the longest allowed value is accepted', () => {
		for (const flag of ['connectTimeout', 'idleTimeout', 'stallTimeout'] as const) {
			expect(() => parseCliOptions({[flag]: '2147484'}, []), flag).toThrow(/too long: Node's timers go up to 2147483 seconds/);
			expect(() => parseCliOptions({[flag]: '2147483'}, []), flag).not.toThrow();
		}

		expect(() => parseCliOptions({discover: '', discoverInterval: '1e9'}, [])).toThrow(/--discover-interval 1e9 is too long/);
	});

	it('a connect command with a timeout over the limit fails with BAD_TIMEOUT and no warning, and nothing is dialed', async () => {
		const seen = warnings();
		const {core, events} = setup();
		expect(core.connect('127.0.0.1', 9, {connectTimeoutMs: 3_000_000_000, ref: 'long'})).toBeUndefined();
		const failed = await events.waitFor('command-failed');
		expect(failed).toMatchObject({ref: 'long', code: 'BAD_TIMEOUT'});
		expect(failed.message).toMatch(/longer than Node's timers allow/);
		expect(events.of('connection-dialing')).toHaveLength(0);
		expect(events.of('socket-failed')).toHaveLength(0);
		// Warnings are emitted on the next tick: give one turn before looking.
		await new Promise((resolve) => setImmediate(resolve));
		expect(seen).toEqual([]);
	});

	it('a UDP request whose timeout is over the limit fails with BAD_TIMEOUT', async () => {
		const seen = warnings();
		const {core, events} = setup();
		const socket = core.udpBind('127.0.0.1', 0);
		await events.waitFor('udp-bound');
		expect(core.udpRequest(socket!, '127.0.0.1', 9, Buffer.from('x'), {timeoutMs: 3_000_000_000, ref: 'udp-long'})).toBeUndefined();
		expect(await events.waitFor('command-failed')).toMatchObject({ref: 'udp-long', code: 'BAD_TIMEOUT'});
		await new Promise((resolve) => setImmediate(resolve));
		expect(seen).toEqual([]);
	});
});
