import type {CloseReason, Endpoint, Origin} from '../events.js';
import type {ConnectionState} from '../tcp/connection.js';
import type {ConnectionRow} from './snapshot.js';

/**
 * One TCP connection as the working model keeps it: the row's fields,
 * changed in place per event, what the rate sampler remembers between
 * samples, and the frozen row last published (undefined once changed).
 */
export type ConnectionModel = {
	id: string;
	origin: Origin;
	listener: string | null;
	framing: string;
	state: ConnectionState;
	local: Endpoint | undefined;
	remote: Endpoint;
	bytesIn: number;
	bytesOut: number;
	queued: number;
	unsent: number;
	messagesIn: number;
	rateIn: number;
	rateOut: number;
	historyIn: number[];
	historyOut: number[];
	sampledIn: number;
	sampledOut: number;
	sampledQueued: number;
	queueGrowth: number;
	isStalled: boolean;
	isHalfOpen: boolean;
	halfClosedAt: number | undefined;
	waitedMs: number;
	openedAt: number;
	closedAt: number | undefined;
	closeReason: CloseReason | undefined;
	error: {code: string; message: string} | undefined;
	relay: string | undefined;
	partner: string | undefined;
	/** TLS connections: what the row shows of the session. */
	tls: ConnectionRow['tls'];
	row: ConnectionRow | undefined;
};

/** The history of a connection with no sample yet: one shared frozen array, not two per connection. */
const noHistory: number[] = Object.freeze([]) as unknown as number[];

/** Samples of growth in a row after which a queue counts as growing. */
const QUEUE_GROWTH_SAMPLES = 3;

/** A connection just dialed or accepted: no bytes, no samples, no history. */
export function newConnectionModel(id: string, origin: Origin, listener: string | null, framing: string, remote: Endpoint, at: number, state: ConnectionState): ConnectionModel {
	return {
		id,
		origin,
		listener,
		framing,
		state,
		local: undefined,
		remote,
		bytesIn: 0,
		bytesOut: 0,
		queued: 0,
		unsent: 0,
		messagesIn: 0,
		rateIn: 0,
		rateOut: 0,
		historyIn: noHistory,
		historyOut: noHistory,
		sampledIn: 0,
		sampledOut: 0,
		sampledQueued: 0,
		queueGrowth: 0,
		isStalled: false,
		isHalfOpen: false,
		halfClosedAt: undefined,
		waitedMs: 0,
		openedAt: at,
		closedAt: undefined,
		closeReason: undefined,
		error: undefined,
		relay: undefined,
		partner: undefined,
		tls: undefined,
		row: undefined,
	};
}

/**
 * Take one connection's rate sample: bytes since its last sample over
 * `seconds`, appended to histories of at most `historyLength`, and whether
 * its queue grew since. True when its row changed (it must be rebuilt).
 */
export function sampleConnection(connection: ConnectionModel, seconds: number, now: number, historyLength: number): boolean {
	let isChanged = false;
	if (connection.isHalfOpen && connection.halfClosedAt !== undefined && connection.closedAt === undefined) {
		// A half-open connection waits on us after the peer's FIN: the row says for how long.
		connection.waitedMs = now - connection.halfClosedAt;
		isChanged = true;
	}

	if (connection.closedAt !== undefined && connection.rateIn === 0 && connection.rateOut === 0) {
		return isChanged;
	}

	const rateIn = (connection.bytesIn - connection.sampledIn) / seconds;
	const rateOut = (connection.bytesOut - connection.sampledOut) / seconds;
	connection.sampledIn = connection.bytesIn;
	connection.sampledOut = connection.bytesOut;
	connection.queueGrowth = connection.queued > connection.sampledQueued ? connection.queueGrowth + 1 : connection.queued === 0 ? 0 : connection.queueGrowth;
	connection.sampledQueued = connection.queued;
	if (rateIn === 0 && rateOut === 0 && connection.rateIn === 0 && connection.rateOut === 0 && connection.historyIn.length === 0) {
		return isChanged; // Idle and nothing to draw: leave the row as it is.
	}

	connection.rateIn = rateIn;
	connection.rateOut = rateOut;
	connection.historyIn = [...connection.historyIn.slice(1 - historyLength), rateIn];
	connection.historyOut = [...connection.historyOut.slice(1 - historyLength), rateOut];
	return true;
}

/** True when a connection's queue has kept growing. */
export function isQueueGrowing(connection: {queued: number; queueGrowth: number}): boolean {
	return connection.queued > 0 && connection.queueGrowth >= QUEUE_GROWTH_SAMPLES;
}
