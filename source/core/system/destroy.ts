import process from 'node:process';
import {childProcess} from '../builtin.js';
import {NetdashError} from '../errors.js';
import type {KernelSocket} from '../events.js';

/*
 * Destroying another program's TCP socket (K in the System pane), as
 * `ss -K` does: the kernel's SOCK_DESTROY over sock_diag netlink, which
 * needs CAP_NET_ADMIN and a kernel built with CONFIG_INET_DIAG_DESTROY.
 * The kernel aborts the connection: the peer gets a RST and the owning
 * program an ECONNABORTED.
 */

/** The socket fields a destroy needs. */
export type DestroyTarget = Pick<KernelSocket, 'protocol' | 'family' | 'local' | 'remote' | 'state'>;

/** Why `socket` cannot be destroyed by a process of user `uid`, or undefined when it may be tried. */
export function whyNotDestroyable(socket: DestroyTarget, uid = process.getuid?.() ?? 0): string | undefined {
	if (socket.protocol !== 'tcp') {
		return `K destroys TCP sockets only: this is a ${socket.protocol.toUpperCase()} socket`;
	}

	if (socket.state === 'TIME-WAIT') {
		return 'K: a TIME-WAIT socket is already closed; the kernel drops it by itself within 60 s';
	}

	if (uid !== 0) {
		return `K needs root: the kernel lets only CAP_NET_ADMIN destroy a socket (ss -K), and netdash runs as uid ${uid}`;
	}

	return undefined;
}

/** ss's address form: `127.0.0.1`, `[::1]`. */
function ssAddress(address: string, family: 4 | 6): string {
	return family === 6 ? `[${address}]` : address;
}

/** The ss filter that matches exactly this socket: its local end, and its remote end when connected. */
export function destroyArguments(socket: DestroyTarget): string[] {
	const local = ['src', ssAddress(socket.local.address, socket.family), 'sport', '=', `:${socket.local.port}`];
	const remote = socket.remote.port === 0 ? [] : ['dst', ssAddress(socket.remote.address, socket.family), 'dport', '=', `:${socket.remote.port}`];
	return ['-K', '-tanH', ...local, ...remote];
}

/**
 * Ask the kernel to destroy one TCP socket with `ss -K`. Resolves when ss
 * listed it as destroyed; rejects with a NetdashError saying why not
 * (refused before trying, ss missing, or the kernel destroyed nothing).
 */
export async function destroySocket(socket: DestroyTarget, ssCommand = 'ss'): Promise<void> {
	const why = whyNotDestroyable(socket);
	if (why !== undefined) {
		throw new NetdashError('CANNOT_DESTROY', why);
	}

	const {stdout, stderr} = await new Promise<{stdout: string; stderr: string}>((resolve, reject) => {
		childProcess().execFile(ssCommand, destroyArguments(socket), {timeout: 10_000, encoding: 'utf8'}, (error, out, errors) => {
			if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
				reject(new NetdashError('CANNOT_DESTROY', 'K needs ss (iproute2), which is not installed'));
				return;
			}

			resolve({stdout: out, stderr: errors});
		});
	});
	// ss -K lists each socket it destroyed; nothing listed means nothing was.
	if (stdout.trim() === '') {
		const reason = stderr.trim().split('\n', 1)[0];
		throw new NetdashError(
			'CANNOT_DESTROY',
			reason
				? `the kernel did not destroy the socket: ${reason}`
				: 'the kernel destroyed nothing: the socket is gone, or this kernel lacks SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY)',
		);
	}
}
