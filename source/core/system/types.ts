// The socket types are the vocabulary of the system-sockets events, so they live in events.ts (the schema test reads them there).
export type {KernelSocket, SocketProtocol, SystemSocket, SystemSocketRates} from '../events.js';

/** The counters `ss -ti` shows for one TCP socket, from the kernel's socket diagnostics. */
export type TcpCounters = {
	/** `bytes_received`: payload bytes received in order. */
	bytesIn: number;
	/** `bytes_acked`: payload bytes the peer acknowledged (retransmissions counted once). */
	bytesOut: number;
	/** Smoothed round-trip time, ms; null when the kernel has no sample. */
	rttMs: number | null;
};
