import type {Bus} from '../bus.js';
import type {Endpoint} from '../events.js';
import {encodeFrame} from '../framing/framer.js';
import {Responder} from '../respond/responder.js';
import type {RuleSpec} from '../respond/rule.js';
import {Saves, type SaveDirection} from '../save/saves.js';
import {Schedules, type ScheduleTiming} from '../schedule/schedules.js';
import type {TcpConnection} from '../tcp/connection.js';

/**
 * The protocol workbench of one core (issue 17): auto-reply rules
 * (respond/), timed and repeated sends (schedule/) and raw saves (save/).
 * Each is its own module on the bus; this manager hands them the few socket
 * verbs they need, so core.ts keeps one-line routing methods only.
 */

/** The connection verbs the workbench uses. */
export type WorkbenchConnection = Pick<TcpConnection, 'framing' | 'listener' | 'send' | 'whenRoom' | 'close' | 'reset'>;

/** What the workbench needs of the core; the throwing ones throw a NetdashError. */
export type WorkbenchHost = {
	/** An open connection that takes a send now (not streaming a file). @throws otherwise */
	writable(connection: string): WorkbenchConnection;
	/** An open connection. @throws when it is not */
	open(connection: string): WorkbenchConnection;
	/** An open connection, or undefined. */
	find(connection: string): WorkbenchConnection | undefined;
	/** The queue limit of a connection, in bytes. */
	maxQueuedBytes(): number;
	/** Send one datagram from a UDP socket. */
	sendTo(socket: string, to: Endpoint, bytes: Buffer): void;
	/** Hold (or release) reading from every connection on behalf of `holder`. */
	holdReading(holder: string, isHeld: boolean): void;
};

/** Auto-replies, schedules and saves of one core. */
export class Workbench {
	readonly #responder: Responder;
	readonly #schedules: Schedules;
	readonly #saves: Saves;

	constructor(bus: Bus, host: WorkbenchHost) {
		this.#responder = new Responder(bus, {
			send(id, replies) {
				const connection = host.writable(id);
				const framed = replies.map((reply) => encodeFrame(connection.framing, reply));
				connection.send(framed.length === 1 ? framed[0]! : Buffer.concat(framed));
			},
			whenDrained: (id) => host.find(id)?.whenRoom(host.maxQueuedBytes()),
			close(id) {
				host.open(id).close();
			},
			reset(id) {
				host.open(id).reset();
			},
			sendTo: (id, to, bytes) => {
				host.sendTo(id, to, bytes);
			},
			describe: (id) => host.find(id),
		});
		this.#schedules = new Schedules(bus, {
			send(id, bytes, ref) {
				host.writable(id).send(bytes, ref);
			},
			whenRoom: (id, bytes) => host.find(id)?.whenRoom(bytes),
		});
		this.#saves = new Saves(bus, {
			assertOpen(id) {
				host.open(id);
			},
			holdReading(holder, isHeld) {
				host.holdReading(holder, isHeld);
			},
		});
	}

	/** Add an auto-reply rule (`rule-added`); returns its id. @throws NetdashError when the spec is bad. */
	respond(spec: RuleSpec, ref?: string): string {
		return this.#responder.add(spec, ref);
	}

	/** Pause, resume or remove a rule (`rule-changed`). @throws NetdashError for an unknown rule. */
	changeRule(id: string, action: 'pause' | 'resume' | 'remove', ref?: string): void {
		this.#responder.change(id, action, ref);
	}

	/** Every rule with its counts (`rules-listed`). */
	listRules(ref?: string): void {
		this.#responder.list(ref);
	}

	/** Send `payload` (already framed) on a schedule; returns its id. @throws NetdashError when the timing is bad. */
	schedule(connection: string, payload: Buffer, timing: ScheduleTiming, ref?: string): string {
		return this.#schedules.start(connection, payload, timing, ref);
	}

	/** Stop a schedule (`schedule-finished` with reason `cancelled`). @throws NetdashError for an unknown one. */
	cancelSchedule(id: string, ref?: string): void {
		this.#schedules.cancel(id, ref);
	}

	/** Every running schedule (`schedules-listed`). */
	listSchedules(ref?: string): void {
		this.#schedules.list(ref);
	}

	/** Save what a connection receives or sends from now on (`save-started`). @throws NetdashError when the file or connection is bad. */
	save(connection: string, path: string, direction: SaveDirection, ref?: string): void {
		this.#saves.start(connection, path, direction, ref);
	}

	/** Cancel every schedule and pending reply (closing everything). */
	stop(): void {
		this.#schedules.cancelAll();
		this.#responder.dispose();
	}
}
