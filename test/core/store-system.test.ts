import {afterEach, describe, expect, it} from 'vitest';
import {Core} from '../../source/core/core.js';
import {Store} from '../../source/core/store/store.js';
import {record, until} from '../helpers/recorder.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

describe('the store folds the machine\'s sockets for the System pane', () => {
	it('a reading lists netdash\'s own listener as its own, and a watch removes it once it is closed', async () => {
		const core = new Core();
		const store = new Store(core.bus);
		const events = record(core.bus);
		cleanups.push(async () => {
			store.dispose();
			await core.closeAll(100);
			core.dispose();
		});
		const listener = core.listen('127.0.0.1', 0)!;
		await until(() => events.of('listener-opened').length === 1, () => 'listening');
		const port = events.of('listener-opened')[0]!.port;
		const isOurs = (socket: {protocol: string; local: {port: number}; remote: {port: number}}) => socket.protocol === 'tcp' && socket.local.port === port && socket.remote.port === 0;

		core.listSystemSockets();
		await until(() => events.of('system-sockets').length === 1, () => 'system-sockets');
		store.flush();
		const first = store.getSnapshot();
		expect(first.system.sockets.find(isOurs)).toMatchObject({state: 'LISTEN', pid: process.pid, isOwn: true});
		expect(first.system.refreshedAt).toBe(events.of('system-sockets')[0]!.at);

		core.watchSystemSockets(100);
		cleanups.push(() => {
			core.unwatchSystemSockets();
		});
		await until(() => events.of('system-sockets-changed').length >= 1, () => 'first refresh');
		core.close(listener);
		await until(() => events.of('system-sockets-changed').some((event) => event.closed.some(isOurs)), () => 'the listener closed');
		store.flush();
		const second = store.getSnapshot();
		expect(second.system.sockets.find(isOurs)).toBeUndefined();
		expect(second.system.sockets.length).toBe(events.of('system-sockets-changed').at(-1)!.total);
		// Nothing new read: the same view.
		store.flush();
		expect(store.getSnapshot().system).toBe(second.system);
	});
});
