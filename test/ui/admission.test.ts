import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {parseCommandLine} from '../../source/core/command-line.js';
import {keys, renderDashboard, type Dashboard} from '../helpers/ink.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

async function command(dashboard: Dashboard, line: string): Promise<void> {
	await dashboard.type(':', 'tab completes');
	await dashboard.type(line, `:${line}`);
	await dashboard.type(keys.enter, (frame) => !frame.includes('tab completes'));
}

function client(port: number, localAddress: string): net.Socket {
	const socket = net.connect({port, host: '127.0.0.1', localAddress});
	socket.on('error', () => {});
	cleanups.push(() => socket.destroy());
	return socket;
}

describe('admission control from the command line', () => {
	it('parses allow, deny, none and maxconns into admission commands, and refuses bad ones in one line', () => {
		expect(parseCommandLine('allow 10.0.0.0/8', {})).toEqual({cmd: 'allow', cidr: '10.0.0.0/8'});
		expect(parseCommandLine('deny 10.0.0.1 10.0.0.2', {})).toEqual({cmd: 'admission', deny: ['10.0.0.1', '10.0.0.2']});
		expect(parseCommandLine('allow none', {})).toEqual({cmd: 'admission', allow: []});
		expect(parseCommandLine('maxconns 5', {})).toEqual({cmd: 'admission', maxConnections: 5});
		expect(() => parseCommandLine('maxconns zero', {})).toThrow(/maxconns needs a whole number/);
		expect(() => parseCommandLine('deny', {})).toThrow(/deny needs a CIDR/);
	});

	it(':deny refuses a client while running, the refusal is counted on screen, and :deny none lets it in again', async () => {
		const dashboard = await renderDashboard();
		cleanups.push(async () => dashboard.dispose());
		await command(dashboard, 'listen 0');
		const listening = await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
		const port = Number(/L1\s+127\.0\.0\.1:(\d+)/.exec(listening)![1]);

		await command(dashboard, 'deny 127.0.0.5');
		client(port, '127.0.0.5');
		const refused = await dashboard.see(/refused 1/);
		expect(refused).not.toMatch(/C1 /);
		// A bad CIDR is one line in the bottom line and changes nothing.
		await command(dashboard, 'deny 10.1');
		await dashboard.see(/'10\.1' is not an address or CIDR/);

		await command(dashboard, 'deny none');
		client(port, '127.0.0.5');
		const admitted = await dashboard.see(/C1 .*127\.0\.0\.5/);
		expect(admitted).toMatch(/refused 1/);
	});
});
