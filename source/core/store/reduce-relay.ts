import {formatBytes} from '../format/index.js';
import type {BusEvent, DataReceived, MessageReceived} from '../events.js';
import type {LogBook} from './log.js';
import type {HeldChunkRow, RelayDirectionName, RelayRow, Snapshot} from './snapshot.js';

type RelayModelRow = {-readonly [K in keyof RelayRow]: RelayRow[K]} & {row: RelayRow | undefined};

// Most relays are never steered: they share these frozen defaults (an idle pair costs little), and a step replaces them.
const noIntercept: RelayRow['intercept'] = Object.freeze({'to-server': false, 'to-client': false});
const noThrottle: RelayRow['throttle'] = Object.freeze({'to-server': 0, 'to-client': 0});
const noHeld: readonly HeldChunkRow[] = Object.freeze([]);

/** `to server` / `to client`, as the log and the row say it. */
function towards(direction: RelayDirectionName): string {
	return direction === 'to-server' ? 'to server' : 'to client';
}

/**
 * Relayed pairs (issue 13), folded from the relay's events and its halves'
 * data. A relay has its own log, under its id: what each half received,
 * interleaved in bus order and marked with the way it was going (`toward`),
 * and notes for what happened to the pair. Both halves keep their own logs
 * as well, so an expanded pair reads like any connection.
 */
export class RelayModel {
	readonly relays = new Map<string, RelayModelRow>();
	/** Connection id → the relay it is one half of. */
	readonly #halves = new Map<string, RelayModelRow>();
	#isMembershipChanged = false;
	readonly #dirty = new Set<string>();
	readonly #logs: LogBook;
	readonly #dirtyLogs: Set<string>;

	constructor(logs: LogBook, dirtyLogs: Set<string>) {
		this.#logs = logs;
		this.#dirtyLogs = dirtyLogs;
	}

	/** True when the next snapshot must carry something new from here. */
	get isChanged(): boolean {
		return this.#isMembershipChanged || this.#dirty.size > 0;
	}

	/** Fold one event in (events that are not about relays are ignored). */
	apply(event: BusEvent): void {
		switch (event.type) {
			case 'relay-opened': {
				const relay: RelayModelRow = {
					id: event.relay,
					listener: event.listener,
					client: event.client,
					server: event.server,
					target: event.target,
					state: 'open',
					closeReason: undefined,
					error: undefined,
					bytesToServer: 0,
					bytesToClient: 0,
					intercept: noIntercept,
					throttle: noThrottle,
					held: noHeld,
					openedAt: event.at,
					closedAt: undefined,
					row: undefined,
				};
				this.relays.set(relay.id, relay);
				this.#halves.set(relay.client, relay);
				this.#halves.set(relay.server, relay);
				this.#isMembershipChanged = true;
				// Its log begins when something happens (bytes, a FIN, the end), as an accepted connection's does: 10,000 idle pairs make no notes.
				// The row and the Log's title name both halves.
				break;
			}

			case 'connection-half-closed': {
				const relay = this.#halves.get(event.connection);
				if (relay && event.by === 'remote') {
					const isClient = event.connection === relay.client;
					this.#note(relay.id, event, `${isClient ? 'client' : 'server'} sent FIN: passed on ${isClient ? 'to the server' : 'to the client'}`, false);
				}

				break;
			}

			case 'relay-closed': {
				this.#update(event.relay, (relay) => {
					relay.state = 'closed';
					relay.closeReason = event.reason;
					relay.closedAt = event.at;
					relay.held = noHeld;
					if (event.code !== undefined || event.message !== undefined) {
						relay.error = {code: event.code ?? event.reason, message: event.message ?? event.reason};
					}

					this.#halves.delete(relay.client);
					this.#halves.delete(relay.server);
				});
				const why = event.message === undefined ? '' : `: ${event.message}`;
				const code = event.code === undefined ? '' : ` (${event.code})`;
				this.#note(event.relay, event, `${event.reason}${code}${why} · ${formatBytes(event.bytesToServer)} to server, ${formatBytes(event.bytesToClient)} to client`, event.reason !== 'closed');
				break;
			}

			case 'relay-intercept-changed': {
				this.#update(event.relay, (relay) => {
					relay.intercept = Object.freeze({...relay.intercept, [event.direction]: event.isOn});
				});
				this.#note(event.relay, event, `intercept ${towards(event.direction)} ${event.isOn ? 'on: chunks going that way are held' : 'off: held chunks go on in order'}`, false);
				break;
			}

			case 'relay-chunk-held': {
				this.#update(event.relay, (relay) => {
					// A copy: the event's buffer may be the socket's own.
					relay.held = Object.freeze([...relay.held, Object.freeze({chunk: event.chunk, direction: event.direction, bytes: event.bytes, data: Buffer.from(event.data), at: event.at})]);
				});
				this.#note(event.relay, event, `held chunk ${event.chunk} ${towards(event.direction)}, ${formatBytes(event.bytes)}`, false);
				break;
			}

			case 'relay-chunk-released': {
				this.#unhold(event.relay, event.chunk);
				this.#note(event.relay, event, `released chunk ${event.chunk} ${towards(event.direction)}${event.isEdited ? `, edited to ${formatBytes(event.bytes)}` : `, ${formatBytes(event.bytes)}`}`, false);
				break;
			}

			case 'relay-chunk-dropped': {
				this.#unhold(event.relay, event.chunk);
				this.#note(event.relay, event, `dropped chunk ${event.chunk} ${towards(event.direction)} (${formatBytes(event.bytes)} never sent)`, false);
				break;
			}

			case 'relay-injected': {
				if (this.relays.has(event.relay)) {
					// Ours, not a peer's: `out`, marked with the side it goes to.
					this.#logs.appendData(event.relay, event.seq, event.at, 'out', 'chunk', event.data, event.bytes, undefined, this.#dirtyLogs, false, event.direction === 'to-server' ? 'server' : 'client');
				}

				break;
			}

			case 'relay-throttle-changed': {
				this.#update(event.relay, (relay) => {
					relay.throttle = Object.freeze({...relay.throttle, [event.direction]: event.bytesPerSecond});
				});
				this.#note(event.relay, event, `throttle ${towards(event.direction)}: ${event.bytesPerSecond > 0 ? `${formatBytes(event.bytesPerSecond)}/s` : 'no limit'}`, false);
				break;
			}

			default: {
				break;
			}
		}
	}

	/**
	 * Bytes one half received: counted on its relay, and (raw framing) logged
	 * in the relay's log, going the other way through it.
	 */
	received(connection: string, event: BusEvent & DataReceived, isLogged: boolean): void {
		const relay = this.#halves.get(connection);
		if (!relay) {
			return;
		}

		const isClient = connection === relay.client;
		if (isClient) {
			relay.bytesToServer += event.bytes;
		} else {
			relay.bytesToClient += event.bytes;
		}

		this.#dirty.add(relay.id);
		if (isLogged) {
			this.#logs.appendData(relay.id, event.seq, event.at, 'in', 'chunk', event.data, event.bytes, undefined, this.#dirtyLogs, false, isClient ? 'server' : 'client');
		}
	}

	/** A framed message one half received, logged in its relay's log (framing is for display only). */
	message(connection: string, event: BusEvent & MessageReceived): void {
		const relay = this.#halves.get(connection);
		if (relay) {
			const toward = connection === relay.client ? 'server' : 'client';
			this.#logs.appendData(relay.id, event.seq, event.at, 'in', 'message', event.data, event.bytes, undefined, this.#dirtyLogs, event.delimiter === 'crlf', toward);
		}
	}

	/** Forget closed relays; returns their ids (their logs go too). */
	clearClosed(): string[] {
		const gone: string[] = [];
		for (const relay of this.relays.values()) {
			if (relay.state === 'closed') {
				gone.push(relay.id);
			}
		}

		for (const id of gone) {
			this.relays.delete(id);
		}

		this.#isMembershipChanged ||= gone.length > 0;
		return gone;
	}

	/** The relays of the next snapshot, reusing rows (and the array) of `previous` that did not change. */
	build(previous: Snapshot | undefined): Pick<Snapshot, 'relays'> {
		let relays = previous?.relays;
		if (!relays || this.#isMembershipChanged || this.#dirty.size > 0) {
			const rows: RelayRow[] = [];
			for (const relay of this.relays.values()) {
				if (!relay.row || this.#dirty.has(relay.id)) {
					const {row: _, ...fields} = relay;
					// intercept, throttle and held are frozen already, and replaced (never changed) by each step.
					relay.row = Object.freeze(fields);
				}

				rows.push(relay.row);
			}

			relays = Object.freeze(rows);
		}

		this.#isMembershipChanged = false;
		this.#dirty.clear();
		return {relays};
	}

	#unhold(id: string, chunk: number): void {
		this.#update(id, (relay) => {
			relay.held = Object.freeze(relay.held.filter((held) => held.chunk !== chunk));
		});
	}

	#update(id: string, change: (relay: RelayModelRow) => void): void {
		const relay = this.relays.get(id);
		if (relay) {
			change(relay);
			this.#dirty.add(id);
		}
	}

	#note(id: string, event: BusEvent, text: string, isError: boolean): void {
		this.#logs.appendNote(id, event.seq, event.at, text, isError, this.#dirtyLogs);
	}
}
