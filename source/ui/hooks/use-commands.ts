import {useMemo} from 'react';
import {executeCommand, NetdashError, reportBadCommand} from '../../core/index.js';
import {parseCommandLine} from '../../core/command-line.js';
import {parseEscapedText} from '../../core/format/index.js';
import {useCore, useStore} from '../store-context.js';

/** What the dashboard should do after a command line ran. */
export type LineOutcome = {
	/** Show this socket's log (a listener or connection the line just opened). */
	readonly select?: string;
	readonly isHelp?: boolean;
	readonly isQuit?: boolean;
};

/** The dashboard's verbs. Failures become `command-failed` on the bus, so they reach the status bar like any other. */
export type Commands = {
	/** Run a `:` line; `selected` is the default target. */
	runLine(text: string, selected: string | undefined): LineOutcome;
	/** Send typed text (with escapes) to a connection, framed by its framing. */
	send(connection: string, text: string): void;
	shutdown(connection: string): void;
	reset(connection: string): void;
	/** Close a connection or stop a listener. */
	close(id: string): void;
	/** Drop closed rows from the panes. */
	clear(): void;
	/** A one-line complaint in the status bar (nothing to act on, say). */
	complain(code: string, message: string): void;
};

/** The dashboard's verbs on the core and store in context. */
export function useCommands(): Commands {
	const core = useCore();
	const store = useStore();
	return useMemo<Commands>(
		() => ({
			runLine(text, selected) {
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
			},
			send(connection, text) {
				try {
					core.send(connection, parseEscapedText(text), {framed: true});
				} catch (error) {
					reportBadCommand(core, error);
				}
			},
			shutdown(connection) {
				core.shutdown(connection);
			},
			reset(connection) {
				core.reset(connection);
			},
			close(id) {
				core.close(id);
			},
			clear() {
				store.clearClosed();
			},
			complain(code, message) {
				reportBadCommand(core, new NetdashError(code, message));
			},
		}),
		[core, store],
	);
}
