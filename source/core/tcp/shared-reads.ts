import {Buffer} from 'node:buffer';
import net from 'node:net';
import process from 'node:process';

/*
 * Plain TCP sockets (and the sock_diag helper's pipe, system/sock-diag.ts)
 * read into one buffer shared by all of them, as the
 * `onread` option of `net.Socket` does, instead of a new buffer per read.
 *
 * Why: Node gives every read a buffer of its own (up to 64 KiB), and on
 * this project's machines the fresh memory costs several times the
 * kernel's copy (page faults, cold cache lines, the buffer's collection).
 * One 2 GiB stream over loopback into a bare Node reader (2026-12-04, two
 * cores, Node 20 and 24): 733–1,055 ms of CPU per GiB with `data` events,
 * 163–197 ms reading into one reused buffer, 699–756 ms reading into it and
 * copying each read into a new buffer. Reads are handled one at a time on
 * the event loop, so one buffer serves every socket: its bytes are valid
 * until the read handler returns.
 *
 * `onread` is an option of `new net.Socket` only; a server's accepted
 * sockets are made by Node. Node keeps the option in three symbols that
 * every socket has (kBuffer, kBufferCb, kBufferGen, found here by their
 * descriptions on a probe socket made with `onread`), its read path checks
 * them on each read, and the handle is switched with useUserBuffer (by Node
 * itself when the handle is made later, at connect). When any of that is
 * not as expected (another runtime, a Node that changed it), readShared
 * says no and the socket reads with `data` events as before.
 *
 * Who may see those bytes is the bus's business (Bus.lendsReceivedBytes):
 * a subscriber that keeps received bytes gets a copy of its own.
 */

/** Node's read size (libuv asks for 64 KiB): one read never needs more. */
const readBytes = 64 * 1024;

/** Called with `this` the socket, as Node calls `onread.callback`; return false to stop reading. */
export type SharedReadHandler = (this: net.Socket, length: number, buffer: Buffer) => boolean | void;

type OnreadSymbols = {buffer: symbol; callback: symbol; generator: symbol};

/** Node's onread symbols, null when they are not there as expected; found on first use. */
let symbols: OnreadSymbols | null | undefined;
let shared: Buffer | undefined;

/**
 * Tests set NETDASH_POISON_READS=1: after each read the shared bytes are
 * overwritten, so anything that kept them instead of copying shows garbage
 * at once, not only when a later read happens to reuse the buffer.
 */
const isPoisoned = process.env['NETDASH_POISON_READS'] === '1';

function findSymbols(): OnreadSymbols | null {
	try {
		const buffer = Buffer.alloc(1);
		const callback = () => true;
		const probe = new net.Socket({onread: {buffer, callback}});
		const own = Object.getOwnPropertySymbols(probe);
		const named = (name: string) => own.find((symbol) => symbol.description === name);
		const found = {buffer: named('kBuffer'), callback: named('kBufferCb'), generator: named('kBufferGen')};
		const fields = probe as unknown as Record<symbol, unknown>;
		const isShaped = found.buffer !== undefined && found.callback !== undefined && found.generator !== undefined
			&& fields[found.buffer] === buffer && fields[found.callback] === callback && fields[found.generator] === null;
		probe.destroy();
		return isShaped ? (found as OnreadSymbols) : null;
	} catch {
		return null;
	}
}

/** True when this runtime lets sockets read into the shared buffer. */
export function canReadShared(): boolean {
	symbols ??= findSymbols();
	return symbols !== null;
}

/**
 * Make `socket` read into the shared buffer: `handler` gets each read
 * instead of a `data` event (end, errors, pause and resume work as before).
 * False, and nothing changed, when this runtime does not allow it. Call it
 * before the event loop runs again after the socket was made or accepted.
 */
export function readShared(socket: net.Socket, handler: SharedReadHandler): boolean {
	if (!canReadShared()) {
		return false;
	}

	const handle = (socket as unknown as {_handle?: {useUserBuffer?: unknown} | null})._handle;
	if (handle && typeof handle.useUserBuffer !== 'function') {
		return false;
	}

	shared ??= Buffer.alloc(readBytes);
	const fields = socket as unknown as Record<symbol, unknown>;
	fields[symbols!.buffer] = shared;
	fields[symbols!.callback] = isPoisoned ? poisoning(handler) : handler;
	fields[symbols!.generator] = null;
	// A socket not yet connected has no handle: Node switches the one connect makes.
	if (handle) {
		(handle.useUserBuffer as (buffer: Buffer) => void).call(handle, shared);
	}

	return true;
}

function poisoning(handler: SharedReadHandler): SharedReadHandler {
	return function (this: net.Socket, length: number, buffer: Buffer) {
		try {
			return handler.call(this, length, buffer);
		} finally {
			buffer.fill(0xEE, 0, length);
		}
	};
}
