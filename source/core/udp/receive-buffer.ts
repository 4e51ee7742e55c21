import type dgram from 'node:dgram';

/**
 * SO_RCVBUF asked for the sockets that hear many hosts at once: LAN
 * discovery's, netdash's own discovery port, and a broadcast probe's. The
 * kernel doubles it for its bookkeeping and caps it at net.core.rmem_max.
 *
 * Why: hosts announce after a power cut, and every responder answers a
 * browse or a probe, all in the same instant. With the default (~208 KiB,
 * some 90 datagrams of a few hundred bytes as the kernel counts them) a
 * burst from 125 hosts overflowed it and the kernel dropped the tail, the
 * same hosts every time: in the bench (500 services on 125 addresses, one
 * announcement per host every 2 s) 91 hosts were in after 2 s and the rest
 * trickled in over 11–85 s as each of our re-queries caught a few. With 1
 * MiB all 500 were in after 1.5 s. What the kernel still drops at these
 * sockets is reported (`kernel-drops-changed`, resources.ts; a probe's in
 * its `probe-results`).
 */
export const BURST_RECV_BUFFER_BYTES = 1024 * 1024;

/**
 * Ask for BURST_RECV_BUFFER_BYTES on a bound socket. Asked here rather than
 * as createSocket's `recvBufferSize`, which Node applies while it reports the
 * bind and throws from there when the system refuses the size (macOS does,
 * over kern.ipc.maxsockbuf): a refusal keeps the default and is no error.
 */
export function askBurstBuffer(socket: dgram.Socket): void {
	try {
		socket.setRecvBufferSize(BURST_RECV_BUFFER_BYTES);
	} catch {
		// The default buffer stays; what the kernel drops there is still counted.
	}
}
