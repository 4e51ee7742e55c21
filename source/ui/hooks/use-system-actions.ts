import {whyNotDestroyable, type SystemRow} from '../../core/index.js';
import {formatEndpoint, safeText} from '../format.js';
import {processText, protocolText, remoteText, whyNotRelayed} from '../system-rows.js';
import {useCore, useStore} from '../store-context.js';
import type {Commands} from './use-commands.js';
import type {DashboardAction} from './use-dashboard-state.js';

/** What the System pane (5) does to another program's socket: `K` destroys it, `f` relays to it. */
export type SystemActions = {
	/** `K`: ask before the kernel aborts the socket, or say in one line why it cannot. */
	askDestroy(row: SystemRow): void;
	/** The `destroy` confirm answered yes: `ss -K` (root), with a one-line result either way. */
	destroy(key: string | undefined): void;
	/** `f` on a listener: a relay to it on a free port of 127.0.0.1, shown in Listeners. */
	forward(row: SystemRow): void;
};

/** The System pane's actions, over the core's commands (issue 14 point 3). */
export function useSystemActions(dispatch: (action: DashboardAction) => void, commands: Commands, say: (message: string) => void): SystemActions {
	const core = useCore();
	const store = useStore();
	return {
		askDestroy(row) {
			const why = whyNotDestroyable(row);
			if (why === undefined) {
				const question = `destroy ${protocolText(row)} ${formatEndpoint(row.local)} → ${remoteText(row)} (${safeText(processText(row), 30)})? the kernel aborts it: RST to the peer`;
				dispatch({type: 'open-prompt', prompt: {kind: 'confirm', action: 'destroy', target: row.key, question}});
			} else {
				commands.complain('CANNOT_DESTROY', why);
			}
		},
		destroy(key) {
			const row = store.getSnapshot().system.sockets.find((socket) => socket.key === key);
			if (row === undefined) {
				commands.complain('GONE', 'that socket is gone from the machine already');
				return;
			}

			void core.destroySystemSocket(row).then((isDestroyed) => {
				if (isDestroyed) {
					say(`✓ destroyed ${protocolText(row)} ${formatEndpoint(row.local)} → ${remoteText(row)}: the kernel reset it`);
				}
			});
		},
		forward(row) {
			const why = whyNotRelayed(row);
			if (why !== undefined) {
				commands.complain('CANNOT_RELAY', why);
				return;
			}

			// A listener on every interface is reached on loopback.
			const host = row.local.address === '0.0.0.0' ? '127.0.0.1' : row.local.address === '::' ? '::1' : row.local.address;
			const target = formatEndpoint({address: host, port: row.local.port});
			let id: string | undefined;
			const unsubscribe = core.bus.subscribe((event) => {
				if (event.type === 'listener-opened' && event.listener === id) {
					unsubscribe();
					say(`✓ relay ${id} on ${formatEndpoint(event)} → ${target} (${safeText(processText(row), 30)})`);
				} else if (event.type === 'command-failed' || (event.type === 'socket-failed' && event.target === id)) {
					unsubscribe();
				}
			}, {borrows: true});
			id = core.forward('127.0.0.1', 0, {host, port: row.local.port});
			if (id === undefined) {
				unsubscribe();
			} else {
				// The relay's listener is netdash's own: Listeners shows it, with its port.
				dispatch({type: 'select', id, isCursorMoved: true});
				dispatch({type: 'focus', pane: 'listeners'});
			}
		},
	};
}
