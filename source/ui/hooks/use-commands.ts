import {useMemo} from 'react';
import {executeCommand, NetdashError, reportBadCommand, type DiscoveryView, type RelayStep, type Snapshot} from '../../core/index.js';
import {broadcastCommands, parseCommandLine} from '../../core/command-line.js';
import {parseEscapedText} from '../../core/format/index.js';
import {listInterfaces} from '../../core/interfaces.js';
import {useCore, useStore} from '../store-context.js';

/** What the dashboard should do after a command line ran. */
export type LineOutcome = {
	/** Show this socket's log (a listener, connection or UDP socket the line just opened). */
	readonly select?: string;
	readonly isHelp?: boolean;
	readonly isQuit?: boolean;
};

/** The dashboard's verbs. Failures become `command-failed` on the bus, so they reach the status bar like any other. */
export type Commands = {
	/** Run a `:` line; `selected` is the default target. */
	runLine(text: string, selected: string | undefined): LineOutcome;
	/** Send typed text (with escapes) to a connection, framed by its framing; to a UDP socket, as `sendto` reads it (`host:port text`, or text alone on a connected socket). */
	send(target: string, text: string): void;
	/** Dial a TCP connection (a peer's offered port); its id, if the dial started. */
	connect(host: string, port: number): string | undefined;
	shutdown(connection: string): void;
	reset(connection: string): void;
	/** Close a connection or UDP socket, or stop a listener. */
	close(id: string): void;
	/** Ask every discovery peer to answer now. */
	probe(): void;
	/** Drop closed rows from the panes. */
	clear(): void;
	/** A one-line complaint in the status bar (nothing to act on, say). */
	complain(code: string, message: string): void;
	/**
	 * Steer a relay (intercept, release, drop, inject, throttle). `step` may
	 * be a function that reads what was typed: if it throws (a bad escape or
	 * hex digit), that is the complaint, as for every command.
	 */
	steer(relay: string, step: RelayStep | (() => RelayStep)): void;
};

/**
 * Where `:broadcast port text` goes when it names no address: what discovery
 * announces to while it runs (the `--broadcast-address` set, or the
 * interfaces' broadcasts), else the directed broadcast of every
 * non-loopback interface.
 */
export function broadcastAddressesOf(discovery: DiscoveryView): string[] {
	if (discovery.state === 'running' && discovery.targets.length > 0) {
		return discovery.targets.map((target) => target.address);
	}

	return listInterfaces()
		.filter((info) => !info.isLoopback && info.broadcast !== undefined)
		.map((info) => info.broadcast!);
}

function isBroadcastOn(snapshot: Snapshot, socket: string): boolean {
	return snapshot.udpSockets.find((row) => row.id === socket)?.isBroadcast ?? false;
}

/** The dashboard's verbs on the core and store in context. */
export function useCommands(): Commands {
	const core = useCore();
	const store = useStore();
	return useMemo<Commands>(() => {
		const runLine = (text: string, selected: string | undefined): LineOutcome => {
			try {
				const command = parseCommandLine(text, {selected});
				switch (command.cmd) {
					case 'listen': {
						const id = core.listen(command.host, command.port, command.framing ? {framing: command.framing} : {});
						return id === undefined ? {} : {select: id};
					}

					case 'connect': {
						const id = core.connect(command.host, command.port, command.framing ? {framing: command.framing} : {});
						return id === undefined ? {} : {select: id};
					}

					case 'udp': {
						const {host, port, cmd: _, ...bind} = command;
						const id = core.udpBind(host, port, bind);
						return id === undefined ? {} : {select: id};
					}

					case 'broadcast-to': {
						const snapshot = store.getSnapshot();
						const commands = broadcastCommands(command, {addresses: broadcastAddressesOf(snapshot.discovery), isBroadcastOn: isBroadcastOn(snapshot, command.socket)});
						for (const each of commands) {
							executeCommand(core, each);
						}

						return {};
					}

					case 'clear': {
						store.clearClosed();
						return {};
					}

					case 'help': {
						return {isHelp: true};
					}

					case 'quit': {
						return {isQuit: true};
					}

					default: {
						executeCommand(core, command);
						return {};
					}
				}
			} catch (error) {
				reportBadCommand(core, error);
				return {};
			}
		};

		return {
			runLine,
			send(target, text) {
				if (target.startsWith('U')) {
					runLine(`sendto ${target} ${text}`, target);
					return;
				}

				try {
					core.send(target, parseEscapedText(text), {framed: true});
				} catch (error) {
					reportBadCommand(core, error);
				}
			},
			connect(host, port) {
				return core.connect(host, port);
			},
			shutdown(connection) {
				core.shutdown(connection);
			},
			reset(connection) {
				core.reset(connection);
			},
			close(id) {
				// A relay is its two halves: each gets its FIN after what is queued for it.
				const relay = id.startsWith('R') ? store.getSnapshot().relays.find((row) => row.id === id) : undefined;
				if (relay) {
					core.close(relay.client);
					core.close(relay.server);
				} else {
					core.close(id);
				}
			},
			probe() {
				// The core's own message names the CLI flag; here the way in is the command line.
				if (store.getSnapshot().discovery.state !== 'running') {
					reportBadCommand(core, new NetdashError('DISCOVERY_OFF', 'p probes for peers: discovery is not running — start it with :discover [port]'));
					return;
				}

				core.probe();
			},
			clear() {
				store.clearClosed();
			},
			complain(code, message) {
				reportBadCommand(core, new NetdashError(code, message));
			},
			steer(relay, step) {
				try {
					core.steer(relay, typeof step === 'function' ? step() : step);
				} catch (error) {
					reportBadCommand(core, error);
				}
			},
		};
	}, [core, store]);
}
