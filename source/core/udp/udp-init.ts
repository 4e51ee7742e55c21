import type {Endpoint} from '../events.js';
import type {Refusal} from './admission.js';
import type {UdpSocket} from './udp-socket.js';

/** Options of `udpBind`. */
export type UdpBindOptions = {
	/** Let other sockets bind the same port (SO_REUSEADDR): several receivers of one broadcast port. @default false */
	reuseAddr?: boolean;
	/** Turn SO_BROADCAST on once bound. @default false */
	isBroadcast?: boolean;
	/** Answer every request (see `request`) with a reply carrying its id, attempt and payload. @default false */
	isEcho?: boolean;
	/** SO_RCVBUF in bytes; the default (≈ 208 KiB) loses datagrams under a burst (see FACTS.md). */
	recvBufferSize?: number;
	/** Connect to this peer once bound, so it is the only one heard and sends need no address (`netdash -u HOST PORT`). */
	connectTo?: {readonly host: string; readonly port: number};
};

/** How a UDP socket is made. */
export type UdpInit = UdpBindOptions & {
	id: string;
	host: string;
	port: number;
	ref?: string;
	/** The allow/deny rules, checked on every datagram before it is read. @default everyone */
	refusal?: Refusal;
	/** Called once, after `udp-closed` (or after a refused bind). */
	onClosed: (socket: UdpSocket) => void;
	/** Told of every datagram taken in, after `datagram-received` (a UDP forward's glue, relay/udp-forward.ts). */
	onDatagram?: (socket: UdpSocket, message: Buffer, from: Endpoint) => void;
};
