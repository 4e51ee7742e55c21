/**
 * Turns netdash's records (bus events, or the lines of a `--log` file) into
 * the packets a capture on the wire would have shown: a TCP handshake when
 * a connection opens, one segment per chunk carried (at most 64 KiB each)
 * with sequence and acknowledgement numbers that add up, FIN and RST as the
 * connection ended, and one UDP datagram per datagram. Pure: blocks go to
 * `write`; used by the `--pcap` writer thread and by `netdash export`.
 * Self-contained (node builtins and pcapng.ts) so a worker can load it.
 */
import {isIPv4} from 'node:net';
import {addressBytes, type BlockPieces, interfaceDescription, maxSegmentBytes, sectionHeader, tcpBlock, tcpFlags, udpBlock} from './pcapng.ts';

/** One record: an event's fields, with its payload (if any) as `data`. */
export type CaptureRecord = {type: string; at?: number; data?: Uint8Array; [field: string]: unknown};

/** The record types the synthesizer reads (everything else is ignored). */
export const pcapRecordTypes: ReadonlySet<string> = new Set([
	'session-started',
	'connection-opened',
	'data-received',
	'data-sent',
	'connection-half-closed',
	'connection-closed',
	'udp-bound',
	'udp-connected',
	'datagram-received',
	'datagram-sent',
	'udp-closed',
]);

type Endpoint = {address: string; port: number};
type Side = {address: Buffer; port: number; seq: number; hasFin: boolean};
type Tcp = {id: string; local: Side; remote: Side};

/** Codes of a reset the peer sent (the rest: netdash reset or aborted it). */
const resetByPeer = new Set(['ECONNRESET', 'EPIPE']);

function isEndpoint(value: unknown): value is Endpoint {
	return typeof value === 'object' && value !== null && typeof (value as Endpoint).address === 'string' && typeof (value as Endpoint).port === 'number';
}

function isLoopback(address: string): boolean {
	return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

const mappedPrefix = '::ffff:';

/**
 * Addresses of one packet in one family: a dual-stack socket reports an
 * IPv4 peer as ::ffff:a.b.c.d, and a socket bound to the wildcard has no
 * address of its own, so a loopback peer gives it loopback.
 */
function addressPair(local: string, remote: string): [Buffer, Buffer] {
	let from = local;
	let to = remote;
	if (from === '0.0.0.0' || from === '::' || from === '') {
		from = isLoopback(to) ? (isIPv4(to) ? '127.0.0.1' : to.startsWith(mappedPrefix) ? `${mappedPrefix}127.0.0.1` : '::1') : isIPv4(to) ? '0.0.0.0' : '::';
	}

	if (isIPv4(from) !== isIPv4(to)) {
		if (isIPv4(from)) {
			from = mappedPrefix + from;
		} else {
			to = mappedPrefix + to;
		}
	}

	return [addressBytes(from), addressBytes(to)];
}

/** A stable initial sequence number per connection id (a capture written twice is the same capture). */
function initialSeq(id: string, salt: number): number {
	let hash = 0x81_1c_9d_c5 ^ salt;
	for (let index = 0; index < id.length; index++) {
		hash = Math.imul(hash ^ id.charCodeAt(index), 0x01_00_01_93);
	}

	return hash >>> 0;
}

/** The pcapng writer's state: open connections and UDP sockets. */
export class PcapSynth {
	/** Records about a connection or socket never seen opening (a log cut at its start): left out, counted. */
	skipped = 0;
	/** Packets written. */
	packets = 0;
	readonly #write: (piece: Buffer) => void;
	#tcp = new Map<string, Tcp>();
	#udp = new Map<string, Endpoint>();

	/**
	 * `write` gets the file's bytes as pieces, in order: each block is one or
	 * more pieces (a packet's payload is its own, the caller's buffer, never
	 * copied). The section header and the interface description go at once.
	 */
	constructor(write: (piece: Buffer) => void, application = 'netdash') {
		this.#write = write;
		write(sectionHeader(application));
		write(interfaceDescription('netdash'));
	}

	/** Add the packets one record stands for. */
	add(record: CaptureRecord): void {
		const micros = (typeof record.at === 'number' ? record.at : Date.now()) * 1000;
		switch (record.type) {
			case 'session-started': {
				// A new run in the same log file: its ids start again at C1 / U1.
				this.#tcp.clear();
				this.#udp.clear();
				break;
			}

			case 'connection-opened': {
				this.#open(record, micros);
				break;
			}

			case 'data-received':
			case 'data-sent': {
				const tcp = this.#tcp.get(String(record['connection']));
				if (!tcp || !record.data) {
					this.skipped++;
					break;
				}

				const [from, to] = record.type === 'data-sent' ? [tcp.local, tcp.remote] : [tcp.remote, tcp.local];
				const data = Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength);
				for (let offset = 0; offset < data.length; offset += maxSegmentBytes) {
					const segment = data.subarray(offset, offset + maxSegmentBytes);
					this.#segment(tcp, from, to, tcpFlags.psh | tcpFlags.ack, segment, micros, record.type);
					from.seq = (from.seq + segment.length) >>> 0;
				}

				break;
			}

			case 'connection-half-closed': {
				const tcp = this.#tcp.get(String(record['connection']));
				if (!tcp) {
					this.skipped++;
					break;
				}

				const isLocal = record['by'] === 'local';
				this.#fin(tcp, isLocal ? tcp.local : tcp.remote, isLocal ? tcp.remote : tcp.local, micros);
				break;
			}

			case 'connection-closed': {
				this.#close(record, micros);
				break;
			}

			case 'udp-bound': {
				if (typeof record['address'] === 'string' && typeof record['port'] === 'number') {
					this.#udp.set(String(record['socket']), {address: record['address'], port: record['port']});
				}

				break;
			}

			case 'udp-closed': {
				this.#udp.delete(String(record['socket']));
				break;
			}

			case 'datagram-received':
			case 'datagram-sent': {
				const id = String(record['socket']);
				const socket = this.#udp.get(id);
				const peer = record.type === 'datagram-sent' ? record['to'] : record['from'];
				if (!socket || !isEndpoint(peer) || !record.data) {
					this.skipped++;
					break;
				}

				const [local, remote] = addressPair(socket.address, peer.address);
				const data = Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength);
				const comment = `${id} ${record.type}`;
				this.packets++;
				this.#pieces(record.type === 'datagram-sent' ? udpBlock(micros, comment, local, remote, socket.port, peer.port, data) : udpBlock(micros, comment, remote, local, peer.port, socket.port, data));
				break;
			}

			default: {
				break;
			}
		}
	}

	#pieces(pieces: BlockPieces): void {
		for (const piece of pieces) {
			this.#write(piece);
		}
	}

	#segment(tcp: Tcp, from: Side, to: Side, flags: number, payload: Buffer, micros: number, what: string): void {
		this.packets++;
		this.#pieces(tcpBlock(micros, `${tcp.id} ${what}`, from.address, to.address, {sourcePort: from.port, destinationPort: to.port, seq: from.seq, ack: flags & tcpFlags.ack ? to.seq : 0, flags}, payload));
	}

	#open(record: CaptureRecord, micros: number): void {
		const id = String(record['connection']);
		const {local, remote} = record;
		if (!isEndpoint(local) || !isEndpoint(remote)) {
			this.skipped++;
			return;
		}

		const [localAddress, remoteAddress] = addressPair(local.address, remote.address);
		const tcp: Tcp = {
			id,
			local: {address: localAddress, port: local.port, seq: initialSeq(id, 1), hasFin: false},
			remote: {address: remoteAddress, port: remote.port, seq: initialSeq(id, 2), hasFin: false},
		};
		this.#tcp.set(id, tcp);
		const [client, server] = record['origin'] === 'accepted' ? [tcp.remote, tcp.local] : [tcp.local, tcp.remote];
		const empty = Buffer.alloc(0);
		this.#segment(tcp, client, server, tcpFlags.syn, empty, micros, 'handshake');
		client.seq = (client.seq + 1) >>> 0;
		this.#segment(tcp, server, client, tcpFlags.syn | tcpFlags.ack, empty, micros, 'handshake');
		server.seq = (server.seq + 1) >>> 0;
		this.#segment(tcp, client, server, tcpFlags.ack, empty, micros, 'connection-opened');
	}

	/** A FIN from `from`, and the other side's acknowledgement of it. */
	#fin(tcp: Tcp, from: Side, to: Side, micros: number): void {
		if (from.hasFin) {
			return;
		}

		from.hasFin = true;
		const empty = Buffer.alloc(0);
		this.#segment(tcp, from, to, tcpFlags.fin | tcpFlags.ack, empty, micros, from === tcp.local ? 'FIN sent' : 'FIN received');
		from.seq = (from.seq + 1) >>> 0;
		this.#segment(tcp, to, from, tcpFlags.ack, empty, micros, 'FIN acknowledged');
	}

	#close(record: CaptureRecord, micros: number): void {
		const id = String(record['connection']);
		const tcp = this.#tcp.get(id);
		if (!tcp) {
			// A dial that never connected has no packets here.
			return;
		}

		this.#tcp.delete(id);
		if (record['reason'] === 'closed') {
			// The side that has not sent its FIN yet does so now (ours first when neither has).
			this.#fin(tcp, tcp.local, tcp.remote, micros);
			this.#fin(tcp, tcp.remote, tcp.local, micros);
			return;
		}

		const byPeer = typeof record['code'] === 'string' && resetByPeer.has(record['code']);
		const [from, to] = byPeer ? [tcp.remote, tcp.local] : [tcp.local, tcp.remote];
		this.#segment(tcp, from, to, tcpFlags.rst | tcpFlags.ack, Buffer.alloc(0), micros, `${String(record['reason'])}${typeof record['code'] === 'string' ? ` ${record['code']}` : ''}`);
	}
}
