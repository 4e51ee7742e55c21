import {existsSync} from 'node:fs';
import path from 'node:path';
import {startRole} from '../lib/child.js';
import {driver} from '../lib/drivers.js';
import {judge, formatNumber} from '../lib/report.js';
import {median, pairedRatio} from '../lib/stats.js';
import {MiB, type Scenario} from './context.js';

const RECV_BUFFER = 4 * MiB;
const DATAGRAM_BYTES = 1200;

type UdpRun = {perSecond: number; sentPerSecond: number; received: number; sent: number; drops: number | null; cpuMs: number; minorFaults: number; fullCollections: number};

type Kind = 'raw' | 'bus' | 'core' | 'netdash';

async function runUdp(kind: Kind, seconds: number): Promise<UdpRun> {
	const sink = startRole('udp-sink', {kind, 'recv-buffer': RECV_BUFFER});
	try {
		const ready = await sink.next<{type: string; port: number}>('ready');
		const sender = driver('udp-sender');
		sender.send({type: 'send', port: ready.port, seconds, size: DATAGRAM_BYTES});
		const sent = await sender.next<{type: string; sent: number; ms: number}>('sent', seconds * 1000 + 30_000);
		// Let the receiver empty its buffer before it counts.
		await new Promise((resolve) => setTimeout(resolve, 150));
		sink.send({type: 'stop'});
		const measured = await sink.next<{type: string; received: number; drops: number | null; cpuMs: number; minorFaults: number; fullCollections: number}>('done');
		return {
			perSecond: measured.received / (sent.ms / 1000),
			sentPerSecond: sent.sent / (sent.ms / 1000),
			received: measured.received,
			sent: sent.sent,
			drops: measured.drops,
			cpuMs: measured.cpuMs,
			minorFaults: measured.minorFaults,
			fullCollections: measured.fullCollections,
		};
	} finally {
		await sink.kill();
	}
}

/** True once the core has UDP sockets (core.udpBind). */
function hasCoreUdp(): boolean {
	return existsSync(path.resolve(import.meta.dirname, '..', '..', '..', 'dist', 'core', 'udp', 'udp-socket.js'));
}

/**
 * Datagrams: 1,200-byte datagrams for 5 s, as fast as one raw `dgram`
 * sender goes, into a netdash UDP socket and a raw `dgram` receiver, both
 * with a 4 MiB SO_RCVBUF. Received datagrams per second of the sender's
 * time, and the kernel's drop count of each receiving socket.
 */
export const datagrams: Scenario = {
	name: 'datagrams',
	order: 40,
	async run(context) {
		const seconds = context.isQuick ? 0.5 : 5;
		const scenario = `Datagrams ${seconds} s × ${DATAGRAM_BYTES} B`;
		if (!hasCoreUdp()) {
			return [{scenario, unit: 'dgram/s', baselineName: 'raw dgram', status: 'not yet', notes: 'core UDP sockets are not built yet'}];
		}

		// The layers between a bare socket and netdash, measured in the same alternation: where a datagram's CPU goes.
		const byKind: Record<Kind, UdpRun[]> = {netdash: [], raw: [], bus: [], core: []};
		const kinds: readonly Kind[] = ['netdash', 'raw', 'bus', 'core'];
		for (let index = 0; index < context.runs; index++) {
			for (const kind of kinds) {
				const run = await runUdp(kind, seconds);
				byKind[kind].push(run);
				context.progress(`datagrams ${index + 1}/${context.runs} ${kind}: ${run.perSecond.toFixed(0)}/s of ${run.sentPerSecond.toFixed(0)}/s sent, ${run.drops ?? '?'} dropped, ${((run.cpuMs * 1000) / run.received).toFixed(2)} µs/dgram, ${run.fullCollections} full collections`);
			}
		}

		const {netdash, raw, bus, core} = byKind;
		const perSecond = (runs: readonly UdpRun[]) => runs.map((run) => run.perSecond);
		const cpuPer = (runs: readonly UdpRun[]) => median(runs.map((run) => (run.cpuMs * 1000) / run.received));
		const lossShare = (runs: readonly UdpRun[]) => median(runs.map((run) => (run.drops ?? Number.NaN) / run.sent));
		const layers = `CPU per datagram by layer: raw ${formatNumber(cpuPer(raw))}, + one bus event ${formatNumber(cpuPer(bus))}, core socket ${formatNumber(cpuPer(core))}, + store ${formatNumber(cpuPer(netdash))} µs`;
		return [
			judge({
				scenario,
				unit: 'dgram/s',
				netdash: median(perSecond(netdash)),
				baseline: median(perSecond(raw)),
				baselineName: 'raw dgram',
				ratio: pairedRatio(perSecond(netdash), perSecond(raw)),
				target: {on: 'ratio', op: '>=', value: 0.95},
				notes: `kernel drops ${formatNumber(lossShare(netdash) * 100)} % vs ${formatNumber(lossShare(raw) * 100)} % of sent; CPU ${formatNumber(cpuPer(netdash))} vs ${formatNumber(cpuPer(raw))} µs/dgram; page faults ${formatNumber(median(netdash.map((run) => run.minorFaults)))} vs ${formatNumber(median(raw.map((run) => run.minorFaults)))}; full collections ${median(netdash.map((run) => run.fullCollections))} vs ${median(raw.map((run) => run.fullCollections))}; sent ${formatNumber(median([...netdash, ...raw].map((run) => run.sentPerSecond)))}/s; SO_RCVBUF 4 MiB both`,
				samples: {netdash: perSecond(netdash), baseline: perSecond(raw)},
				details: {netdash, raw},
			}),
			judge({
				scenario: `${scenario}, layers`,
				unit: 'dgram/s',
				netdash: median(perSecond(bus)),
				baseline: median(perSecond(raw)),
				baselineName: 'raw dgram',
				ratio: pairedRatio(perSecond(bus), perSecond(raw)),
				notes: `the bare socket emitting one datagram-received event per datagram on a netdash Bus (the floor of anything built on the bus); core socket without the store ${formatNumber(pairedRatio(perSecond(core), perSecond(raw)))}×; ${layers}`,
				samples: {netdash: perSecond(bus), baseline: perSecond(raw)},
				details: {bus, core},
			}),
		];
	},
};
