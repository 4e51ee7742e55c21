import dgram from 'node:dgram';
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import type {BusEvent} from '../../source/core/events.js';
import {until} from '../helpers/recorder.js';
import {coresForEachTest} from '../helpers/cores.js';

/*
 * Commands to one UDP socket take effect in the order given, whether the
 * socket is still binding or bound, and however fast they follow each other:
 * what a script sees is what running them one at a time would give.
 */

const {makeCore, cleanups} = coresForEachTest();

/** A plain dgram socket on the wildcard address (it hears 127.255.255.255 too), recording what arrives in order. */
async function receiver(): Promise<{port: number; received: string[]}> {
	const socket = dgram.createSocket({type: 'udp4', reuseAddr: true});
	const received: string[] = [];
	socket.on('error', () => {});
	socket.on('message', (message) => received.push(message.toString()));
	await new Promise<void>((resolve) => {
		socket.bind(0, '0.0.0.0', resolve);
	});
	cleanups.push(() => {
		socket.close();
	});
	return {port: socket.address().port, received};
}

/** The event that settles the command with this ref, as a word: `sent`, `EACCES`, `failed`, `closed`, … */
function outcomeOf(event: BusEvent): string | undefined {
	switch (event.type) {
		case 'datagram-sent': {
			return 'sent';
		}

		case 'socket-failed': {
			return event.code;
		}

		case 'command-failed': {
			return 'failed';
		}

		case 'udp-broadcast-changed': {
			return event.isBroadcast ? 'broadcast-on' : 'broadcast-off';
		}

		case 'udp-connected': {
			return 'connected';
		}

		case 'udp-closed': {
			return 'closed';
		}

		default: {
			return undefined;
		}
	}
}

describe('UDP commands take effect in order', () => {
	for (const when of ['bound', 'binding'] as const) {
		it(`a sendto followed at once by close (socket ${when}) reports datagram-sent, then udp-closed, and the datagram arrives`, async () => {
			const {core, events} = makeCore();
			const peer = await receiver();
			const id = core.udpBind('127.0.0.1', 0)!;
			if (when === 'bound') {
				await events.waitFor('udp-bound');
			}

			core.udpSend(id, '127.0.0.1', peer.port, Buffer.from('last words'), {ref: 's'});
			core.close(id, {ref: 'c'});

			const closed = await events.waitFor('udp-closed');
			const types = events.events.filter((event) => event.ref === 's' || event.ref === 'c').map((event) => event.type);
			expect(types).toEqual(['datagram-sent', 'udp-closed']);
			expect(closed).toMatchObject({datagramsOut: 1, bytesOut: 10});
			await until(() => peer.received.length === 1, () => `received ${JSON.stringify(peer.received)}`);
			expect(peer.received).toEqual(['last words']);
		});

		it(`a sendto to a broadcast address before broadcast on (socket ${when}) fails with EACCES; the one after it is delivered`, async () => {
			const {core, events} = makeCore();
			const peer = await receiver();
			const id = core.udpBind('127.0.0.1', 0)!;
			if (when === 'bound') {
				await events.waitFor('udp-bound');
			}

			core.udpSend(id, '127.255.255.255', peer.port, Buffer.from('too early'), {ref: 'early'});
			core.setBroadcast(id, true, {ref: 'on'});
			core.udpSend(id, '127.255.255.255', peer.port, Buffer.from('in time'), {ref: 'late'});

			const refused = await events.waitFor('socket-failed', (event) => event.ref === 'early');
			expect(refused.code).toBe('EACCES');
			await events.waitFor('datagram-sent', (event) => event.ref === 'late');
			expect(events.of('datagram-sent').map((event) => event.ref)).toEqual(['late']);
			await until(() => peer.received.length === 1, () => `received ${JSON.stringify(peer.received)}`);
			expect(peer.received).toEqual(['in time']);
		});
	}

	it('a sendto to a name waits for its lookup, and a broadcast on and close given after it wait for the send', async () => {
		const {core, events} = makeCore();
		const peer = await receiver();
		const id = core.udpBind('127.0.0.1', 0)!;
		await events.waitFor('udp-bound');

		core.udpSend(id, 'localhost', peer.port, Buffer.from('by name'), {ref: 'named'});
		core.setBroadcast(id, true, {ref: 'on'});
		core.close(id, {ref: 'c'});

		await events.waitFor('udp-closed');
		const types = events.events.filter((event) => event.ref !== undefined).map((event) => `${event.ref} ${event.type}`);
		// A send reports from its callback, so udp-broadcast-changed may come first; udp-closed waits for it.
		expect(types.toSorted()).toEqual(['c udp-closed', 'named datagram-sent', 'on udp-broadcast-changed']);
		expect(types.at(-1)).toBe('c udp-closed');
		expect(events.of('datagram-sent')[0]!.to).toEqual({address: '127.0.0.1', port: peer.port});
		await until(() => peer.received.length === 1, () => `received ${JSON.stringify(peer.received)}`);
	});

	it('commands given while a socket binds to a port in use each fail, in order, instead of vanishing', async () => {
		const {core, events} = makeCore();
		const taken = core.udpBind('127.0.0.1', 0)!;
		const {port} = await events.waitFor('udp-bound', (event) => event.socket === taken);
		const peer = await receiver();

		const id = core.udpBind('127.0.0.1', port)!;
		core.udpSend(id, '127.0.0.1', peer.port, Buffer.from('never'), {ref: 'a'});
		core.setBroadcast(id, true, {ref: 'b'});

		await until(() => events.of('command-failed').length === 2, () => `command-failed: ${JSON.stringify(events.of('command-failed'))}`);
		expect(events.of('socket-failed').map((event) => event.code)).toEqual(['EADDRINUSE']);
		expect(events.of('command-failed').map((event) => [event.ref, event.code, event.target])).toEqual([
			['a', 'NOT_OPEN', id],
			['b', 'NOT_OPEN', id],
		]);
	});

	type Step = {kind: 'unicast' | 'broadcast-send' | 'broadcast-on' | 'broadcast-off' | 'connect' | 'close'};
	const step = fc.constantFrom<Step['kind']>('unicast', 'unicast', 'broadcast-send', 'broadcast-send', 'broadcast-on', 'broadcast-off', 'connect', 'close').map((kind): Step => ({kind}));

	it('random command sequences on a real socket have the effects of running them one at a time', async () => {
		let runs = 0;
		await fc.assert(
			fc.asyncProperty(fc.array(step, {minLength: 1, maxLength: 12}), fc.boolean(), async (steps, isBoundFirst) => {
				runs++;
				const {core, events} = makeCore();
				const peer = await receiver();
				const id = core.udpBind('127.0.0.1', 0)!;
				if (isBoundFirst) {
					await events.waitFor('udp-bound');
				}

				// The sequential model: what each command does, given those before it.
				const model = {isOpen: true, isBroadcast: false, isConnected: false};
				const expected: string[] = [];
				const delivered: string[] = [];
				let closeIndex = -1;
				for (const [index, {kind}] of steps.entries()) {
					const ref = `r${index}`;
					const text = `${kind}-${index}`;
					switch (kind) {
						case 'unicast': {
							core.udpSend(id, '127.0.0.1', peer.port, Buffer.from(text), {ref});
							expected.push(model.isOpen ? 'sent' : 'failed');
							if (model.isOpen) {
								delivered.push(text);
							}

							break;
						}

						case 'broadcast-send': {
							core.udpSend(id, '127.255.255.255', peer.port, Buffer.from(text), {ref});
							const outcome = !model.isOpen || model.isConnected ? 'failed' : model.isBroadcast ? 'sent' : 'EACCES';
							expected.push(outcome);
							if (outcome === 'sent') {
								delivered.push(text);
							}

							break;
						}

						case 'broadcast-on':
						case 'broadcast-off': {
							const isOn = kind === 'broadcast-on';
							core.setBroadcast(id, isOn, {ref});
							expected.push(model.isOpen ? kind : 'failed');
							model.isBroadcast = model.isOpen ? isOn : model.isBroadcast;
							break;
						}

						case 'connect': {
							core.udpConnect(id, '127.0.0.1', peer.port, {ref});
							expected.push(model.isOpen && !model.isConnected ? 'connected' : 'failed');
							model.isConnected ||= model.isOpen;
							break;
						}

						case 'close': {
							core.close(id, {ref});
							expected.push(model.isOpen ? 'closed' : 'failed');
							if (model.isOpen) {
								closeIndex = index;
							}

							model.isOpen = false;
							break;
						}
					}
				}

				const outcomes = () => expected.map((_, index) => events.events.find((event) => event.ref === `r${index}` && outcomeOf(event) !== undefined));
				await until(
					() => outcomes().every(Boolean),
					() => `steps ${steps.map((s) => s.kind).join(' ')}: outcomes ${JSON.stringify(outcomes().map((event) => event && outcomeOf(event)))}`,
					3000,
				);
				expect(outcomes().map((event) => outcomeOf(event!))).toEqual(expected);
				await until(() => peer.received.length >= delivered.length, () => `received ${JSON.stringify(peer.received)}, expected ${JSON.stringify(delivered)}`);
				expect(peer.received).toEqual(delivered);
				if (closeIndex >= 0) {
					// Everything before the close was reported before udp-closed; everything after it, after.
					const closedAt = events.events.findIndex((event) => event.type === 'udp-closed');
					for (const [index, event] of outcomes().entries()) {
						const at = events.events.indexOf(event!);
						expect(index <= closeIndex ? at <= closedAt : at > closedAt, `r${index} (${outcomeOf(event!)}) against udp-closed`).toBe(true);
					}
				}

				for (const cleanup of cleanups.splice(0).reverse()) {
					await cleanup();
				}
			}),
			{numRuns: 100},
		);
		expect(runs).toBe(100);
	}, 60_000);
});
