import type {ChildProcessWithoutNullStreams} from 'node:child_process';
import type {Socket} from 'node:net';
import {childProcess} from '../builtin.js';
import {readShared} from '../tcp/shared-reads.js';
import {formatIpv6, tcpStateName} from './proc-net.js';
import type {KernelSocket, SocketProtocol, TcpCounters} from './types.js';

/*
 * The machine's sockets from the kernel's socket diagnostics (sock_diag
 * netlink, what `ss` speaks), in one binary dump: addresses, state, queues,
 * uid, inode and, for TCP, struct tcp_info (bytes received and acked, rtt).
 *
 * Why not `ss` and /proc/net: with 10,000 sockets the kernel spends ~60 ms
 * printing /proc/net/tcp as text, parsing it ~150 ms, and ss -tinae ~90 ms
 * of CPU printing 6.6 MB that we parse again (measured: bench 'system').
 * The binary dump is ~2 MB and parses with fixed offsets.
 *
 * Why python3: Node cannot open a netlink socket without a native addon.
 * A python3 process (standard library only) is started once and only
 * moves the kernel's bytes to us, framed; all parsing is here. Where
 * python3 or netlink is missing, read.ts falls back to /proc/net and ss.
 */

/**
 * The helper: per line on stdin, dump TCP (both families in one walk of the
 * kernel's hash: the old TCPDIAG_GETSOCK request, still served, whose reply
 * has both; a kernel without it gets one request per family) and UDP over
 * IPv4 and IPv6. It answers with one blob per dump, `[u32 length]` then
 * frames `[u32 length][u8 protocol][netlink bytes]`: one write through a
 * 1 MiB pipe, so netdash wakes a few times per dump, not twice per 32 KiB
 * the kernel hands out (that halved the helper's CPU: bench 'system').
 */
const helper = String.raw`
import fcntl, socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
out = sys.stdout.buffer
try:
    fcntl.fcntl(out.fileno(), 1031, 1 << 20)
except OSError:
    pass
seq = 0
compat = True
def request(dump, message, proto):
    global seq
    seq += 1
    s.send(message[:8] + struct.pack('=L', seq) + message[12:])
    while True:
        data = s.recv(1 << 20)
        first = struct.unpack_from('=H', data, 4)[0]
        if first == 2 and struct.unpack_from('=i', data, 16)[0] != 0 and message[4] == 18:
            return False
        dump += struct.pack('=LB', len(data), proto)
        dump += data
        last = struct.unpack_from('=LH', data, len(data) - 20) if len(data) >= 20 else (0, 0)
        if first in (2, 3) or last == (20, 3):
            return True
def v2(family, proto, ext):
    return struct.pack('=LHHLLBBBBL48x', 72, 20, 0x301, 0, 0, family, proto, ext, 0, 0xffffffff)
for line in sys.stdin:
    dump = bytearray()
    if not (compat and request(dump, struct.pack('=LHHLLBBBB48sLL', 76, 18, 0x301, 0, 0, 2, 0, 0, 2, bytes(48), 0xffffffff, 0), 6)):
        compat = False
        request(dump, v2(2, 6, 2), 6)
        request(dump, v2(10, 6, 2), 6)
    request(dump, v2(2, 17, 0), 17)
    request(dump, v2(10, 17, 0), 17)
    out.write(struct.pack('=L', len(dump)))
    out.write(dump)
    out.flush()
`;

const sockDiagByFamily = 20;
/** The reply type of the old TCPDIAG_GETSOCK request: the same inet_diag_msg. */
const tcpDiagGetSock = 18;
const nlmsgError = 2;
const inetDiagInfo = 2;
/** struct tcp_info offsets (include/uapi/linux/tcp.h): tcpi_rtt (µs), tcpi_bytes_acked, tcpi_bytes_received (u64). */
const rttOffset = 68;
const bytesAckedOffset = 120;
const bytesReceivedOffset = 128;

/** Refuse a dump larger than this: some 600,000 TCP sockets at ~420 bytes each, far past any machine's tables. */
const maxDumpBytes = 256 * 1024 * 1024;

/** One dump: the sockets and, at the same places, their TCP counters. */
export type SockDiagDump = {
	sockets: KernelSocket[];
	/** The TCP counters of each socket, by place in `sockets` (a map of 10,000 built each second showed in the profile). */
	counters: Array<TcpCounters | undefined>;
};

function u64(buffer: Buffer, offset: number): number {
	return buffer.readUInt32LE(offset) + buffer.readUInt32LE(offset + 4) * 2 ** 32;
}

/** The address at `at`. Most rows share a few (loopback, the wildcard): each is decoded once, an IPv4 one keyed by its number (no string built per row). */
function addressAt(data: Buffer, at: number, family: 4 | 6, addresses: Map<string, string>, addresses4: Map<number, string>): string {
	if (family === 4) {
		const key = data.readUInt32BE(at);
		let address = addresses4.get(key);
		if (address === undefined) {
			address = `${data[at]}.${data[at + 1]}.${data[at + 2]}.${data[at + 3]}`;
			addresses4.set(key, address);
		}

		return address;
	}

	const key = data.toString('latin1', at, at + 16);
	let address = addresses.get(key);
	if (address === undefined) {
		address = formatIpv6([...data.subarray(at, at + 16)]);
		addresses.set(key, address);
	}

	return address;
}

/**
 * What a parse keeps between dumps: the objects it made, handed out again
 * while the kernel reports the same values, each under its socket's key
 * (its inode; for a socket with no inode, TIME-WAIT or SYN-RECV, its socket
 * cookie as a negative number: a machine that just closed 10,000
 * connections has 10,000 of them for a minute, and building them again each
 * second cost more than every other socket together, bench 'system').
 * Kept by place in the dump, since the kernel lists sockets in the same
 * order each time; a map by key is built only when a socket has moved.
 */
export type SockDiagCache = {
	/** By place in the dump: each socket's key and what was made for it. */
	keys: number[];
	entries: Array<{socket: KernelSocket; counters: TcpCounters | undefined}>;
	/** By key, built only when a socket is not at its place of last time. */
	byKey?: Map<number, {socket: KernelSocket; counters: TcpCounters | undefined}>;
};

export function newSockDiagCache(): SockDiagCache {
	return {keys: [], entries: []};
}

/** What `cache` made for `key` at `place`: looked for at the same place first (the kernel's order holds between dumps), then by key. */
function cachedAt(cache: SockDiagCache, place: number, key: number): SockDiagCache['entries'][number] | undefined {
	if (cache.keys[place] === key) {
		return cache.entries[place];
	}

	if (cache.byKey === undefined) {
		cache.byKey = new Map();
		for (const [index, known] of cache.keys.entries()) {
			cache.byKey.set(known, cache.entries[index]!);
		}
	}

	return cache.byKey.get(key);
}

/** The cache key of the socket at `message`: its inode, or -(cookie + 1) when it has none (cookies count up from 1, far below 2^53). */
function cacheKey(data: Buffer, message: number, inode: number): number {
	return inode === 0 ? -(data.readUInt32LE(message + 48) * 2 ** 32 + data.readUInt32LE(message + 44)) - 1 : inode;
}

/**
 * Parse a run of netlink messages of one protocol's `SOCK_DIAG_BY_FAMILY`
 * dump into `into` (pure). Unknown message types are skipped; a truncated
 * message ends the run, never throws. Queues follow /proc/net: a
 * listener's Recv-Q is its accept queue and its Send-Q 0.
 *
 * With `previous` (the last dump's cache) a socket whose state, queues and
 * counters did not change gets the very objects of last time: with 10,000
 * idle sockets a refresh allocates next to nothing (the garbage collector
 * took as long as the parse before). `next` collects this dump's cache.
 */
export function parseSockDiag(
	data: Buffer,
	protocol: SocketProtocol,
	into: SockDiagDump,
	addresses = new Map<string, string>(),
	addresses4 = new Map<number, string>(),
	previous?: SockDiagCache,
	next?: SockDiagCache,
): void {
	let offset = 0;
	while (offset + 16 <= data.length) {
		const length = data.readUInt32LE(offset);
		if (length < 16 || offset + length > data.length) {
			return;
		}

		const type = data.readUInt16LE(offset + 4);
		if ((type === sockDiagByFamily || type === tcpDiagGetSock) && length >= 16 + 72) {
			const message = offset + 16;
			const stateNumber = data[message + 1]!;
			const inode = data.readUInt32LE(message + 68);
			const recvQueue = data.readUInt32LE(message + 56);
			const sendQueue = stateNumber === 10 ? 0 : data.readUInt32LE(message + 60);
			// Attributes after the 72-byte inet_diag_msg: INET_DIAG_INFO holds struct tcp_info.
			let bytesIn = -1;
			let bytesOut = -1;
			let rtt = 0;
			let attribute = message + 72;
			while (protocol === 'tcp' && inode !== 0 && attribute + 4 <= offset + length) {
				const attributeLength = data.readUInt16LE(attribute);
				if (attributeLength < 4) {
					break;
				}

				if (data.readUInt16LE(attribute + 2) === inetDiagInfo && attributeLength - 4 >= bytesReceivedOffset + 8) {
					const info = attribute + 4;
					rtt = data.readUInt32LE(info + rttOffset);
					bytesIn = u64(data, info + bytesReceivedOffset);
					bytesOut = u64(data, info + bytesAckedOffset);
				}

				attribute += (attributeLength + 3) & ~3;
			}

			const rttMs = rtt > 0 ? rtt / 1000 : null;
			const key = cacheKey(data, message, inode);
			const cached = previous === undefined ? undefined : cachedAt(previous, next?.keys.length ?? -1, key);
			const isSame = cached !== undefined
				&& cached.socket.protocol === protocol
				&& cached.socket.inode === inode
				&& cached.socket.state === tcpStateName(stateNumber)
				&& cached.socket.recvQueue === recvQueue
				&& cached.socket.sendQueue === sendQueue
				&& cached.socket.local.port === data.readUInt16BE(message + 4)
				&& cached.socket.remote.port === data.readUInt16BE(message + 6)
				&& (bytesIn < 0 ? cached.counters === undefined : cached.counters?.bytesIn === bytesIn && cached.counters.bytesOut === bytesOut && cached.counters.rttMs === rttMs);
			let entry = cached;
			if (!isSame) {
				const family = data[message] === 10 ? 6 : 4;
				entry = {
					socket: {
						protocol,
						family,
						local: {address: addressAt(data, message + 8, family, addresses, addresses4), port: data.readUInt16BE(message + 4)},
						remote: {address: addressAt(data, message + 24, family, addresses, addresses4), port: data.readUInt16BE(message + 6)},
						state: tcpStateName(stateNumber),
						recvQueue,
						sendQueue,
						uid: data.readUInt32LE(message + 64),
						inode,
					},
					counters: bytesIn < 0 ? undefined : {bytesIn, bytesOut, rttMs},
				};
			}

			into.sockets.push(entry!.socket);
			into.counters.push(entry!.counters);
			next?.keys.push(key);
			next?.entries.push(entry!);
		} else if (data.readUInt16LE(offset + 4) === nlmsgError && length >= 20 && data.readInt32LE(offset + 16) !== 0) {
			throw new Error(`sock_diag answered errno ${-data.readInt32LE(offset + 16)}`);
		}

		offset += (length + 3) & ~3;
	}
}

/**
 * A persistent sock_diag reader (the python3 helper above). `dump()`
 * resolves with the machine's sockets, or rejects when the helper cannot
 * run (no python3, no netlink): the caller then reads /proc/net and ss.
 */
export class SockDiagReader {
	readonly #python: string;
	#child: ChildProcessWithoutNullStreams | undefined;
	#failure: Error | undefined;
	/** The length of the next dump, as far as it has come. */
	#head: Buffer = Buffer.alloc(0);
	/** The dump being filled, and how far. */
	#blob: Buffer | undefined;
	#filled = 0;
	#buffer: Buffer = Buffer.alloc(0);
	#waiting: {resolve: (dump: SockDiagDump) => void; reject: (error: Error) => void} | undefined;
	readonly #addresses = new Map<string, string>();
	readonly #addresses4 = new Map<number, string>();
	#cache: SockDiagCache = newSockDiagCache();

	constructor(python = 'python3') {
		this.#python = python;
	}

	/** Read every TCP and UDP socket once. */
	async dump(): Promise<SockDiagDump> {
		if (this.#failure) {
			throw this.#failure;
		}

		if (this.#waiting) {
			throw new Error('a sock_diag dump is already under way');
		}

		const child = this.#start();
		// Only a dump under way holds the event loop; an idle helper never keeps netdash running.
		this.#hold(child, true);
		return new Promise<SockDiagDump>((resolve, reject) => {
			this.#waiting = {resolve, reject};
			child.stdin.write('dump\n');
		}).finally(() => {
			this.#hold(child, false);
		});
	}

	/** Stop the helper (it is started again by the next dump). */
	close(): void {
		const child = this.#child;
		this.#child = undefined;
		child?.kill();
	}

	#start(): ChildProcessWithoutNullStreams {
		if (this.#child) {
			return this.#child;
		}

		const child = childProcess().spawn(this.#python, ['-c', helper], {stdio: ['pipe', 'pipe', 'pipe']});
		this.#child = child;
		let errors = '';
		child.stderr.on('data', (chunk: Buffer) => {
			errors = (errors + chunk.toString()).slice(-2000);
		});
		// The pipe is read into the buffer TCP reads share (the dump is copied out at once): a
		// fresh 64 KiB buffer per read, 30-odd per dump of 10,000 sockets, costs page faults.
		const isShared = readShared(child.stdout as Socket, (length, buffer) => {
			this.#take(buffer.subarray(0, length));
		});
		if (isShared) {
			child.stdout.resume();
		} else {
			child.stdout.on('data', (chunk: Buffer) => {
				this.#take(chunk);
			});
		}
		const fail = (error: Error) => {
			this.#failure = error;
			this.#child = undefined;
			this.#waiting?.reject(error);
			this.#waiting = undefined;
		};

		child.on('error', (error) => {
			fail(error);
		});
		child.on('exit', (code) => {
			const error = new Error(`the sock_diag helper exited (${code ?? 'signal'}): ${errors.trim().split('\n').at(-1) ?? ''}`);
			if (this.#child === child) {
				fail(error);
			} else {
				// Closed on purpose: a dump under way fails, the next starts a new helper.
				this.#head = Buffer.alloc(0);
				this.#blob = undefined;
				this.#waiting?.reject(error);
				this.#waiting = undefined;
			}
		});
		return child;
	}

	#hold(child: ChildProcessWithoutNullStreams, isHeld: boolean): void {
		for (const handle of [child, child.stdin, child.stdout, child.stderr] as unknown as Array<{ref?: () => void; unref?: () => void}>) {
			if (isHeld) {
				handle.ref?.();
			} else {
				handle.unref?.();
			}
		}
	}

	/**
	 * Gather one dump's blob as it comes: its length first, then one buffer
	 * of that size filled from the pipe's chunks (each byte copied once).
	 */
	#take(chunk: Buffer): void {
		let offset = 0;
		while (offset < chunk.length) {
			if (this.#blob === undefined) {
				const taken = Math.min(4 - this.#head.length, chunk.length - offset);
				this.#head = Buffer.concat([this.#head, chunk.subarray(offset, offset + taken)]);
				offset += taken;
				if (this.#head.length < 4) {
					return;
				}

				const length = this.#head.readUInt32LE(0);
				this.#head = Buffer.alloc(0);
				if (length > maxDumpBytes) {
					this.#waiting?.reject(new Error(`the sock_diag helper announced a ${length}-byte dump (at most ${maxDumpBytes})`));
					this.#waiting = undefined;
					this.close();
					return;
				}

				// One buffer kept between dumps (parsing copies out what it keeps): fresh pages for 5 MB each second cost more than the copy.
				if (this.#buffer.length < length) {
					this.#buffer = Buffer.allocUnsafeSlow(Math.ceil(length * 1.25));
				}

				this.#blob = this.#buffer.subarray(0, length);
				this.#filled = 0;
			}

			const copied = chunk.copy(this.#blob, this.#filled, offset, Math.min(chunk.length, offset + this.#blob.length - this.#filled));
			this.#filled += copied;
			offset += copied;
			if (this.#filled === this.#blob.length) {
				const blob = this.#blob;
				this.#blob = undefined;
				this.#finish(blob);
			}
		}
	}

	/** Parse a whole dump: frames `[u32 length][u8 protocol][netlink bytes]`. */
	#finish(blob: Buffer): void {
		const dump: SockDiagDump = {sockets: [], counters: []};
		const cache = newSockDiagCache();
		try {
			for (let offset = 0; offset + 5 <= blob.length;) {
				const length = blob.readUInt32LE(offset);
				const frame = blob.subarray(offset + 5, offset + 5 + length);
				parseSockDiag(frame, blob[offset + 4] === 17 ? 'udp' : 'tcp', dump, this.#addresses, this.#addresses4, this.#cache, cache);
				offset += 5 + length;
			}

			this.#cache = cache;
		} catch (error) {
			this.#waiting?.reject(error as Error);
			this.#waiting = undefined;
			return;
		}

		this.#waiting?.resolve(dump);
		this.#waiting = undefined;
	}

}
