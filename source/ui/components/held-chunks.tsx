import {Box, Text} from 'ink';
import type {HeldChunkRow, RelayRow} from '../../core/index.js';
import {formatBytes, toDisplay} from '../../core/format/index.js';
import type {PaneKeys} from '../hooks/pane-keys.js';
import {moveCursor} from '../hooks/use-list-keys.js';
import {actionOf, bindingOf, keyLabel, type KeyAction} from '../keys.js';
import {fit, formatTime} from '../format.js';
import {colors} from '../theme.js';
import {PaneFrame} from './pane-frame.js';
import {RowLine} from './row-line.js';

/** Props of {@link HeldChunks}. */
export type HeldChunksProps = {
	/** The relay, undefined once it is cleared. */
	readonly relay: RelayRow | undefined;
	readonly id: string;
	readonly cursor: number;
	readonly width: number;
	readonly height: number;
	readonly keys: PaneKeys;
	readonly onMove: (cursor: number) => void;
	readonly onForward: (chunk: HeldChunkRow) => void;
	readonly onEdit: (chunk: HeldChunkRow, format: 'text' | 'hex') => void;
	readonly onDrop: (chunk: HeldChunkRow) => void;
	readonly onClose: () => void;
};

const heldActions: ReadonlySet<KeyAction> = new Set(['move-down', 'move-up', 'page-down', 'page-up', 'move-first', 'move-last', 'held-forward', 'held-edit', 'held-edit-hex', 'held-drop', 'cancel', 'quit']);

/** `f forward · e edit · x hex · d drop · esc closes`, from the key table. */
const help = `${keyLabel(bindingOf('held-forward'))} forward · ${keyLabel(bindingOf('held-edit'))} edit text · ${keyLabel(bindingOf('held-edit-hex'))} edit hex · ${keyLabel(bindingOf('held-drop'))} drop`;

function towards(chunk: HeldChunkRow): string {
	return chunk.direction === 'to-server' ? '→ to server' : '← to client';
}

/**
 * The chunks an intercepted relay holds, in place of the panes (h, or on
 * turning intercept on): one line each — number, which way, time, size and
 * its first bytes (escaped, like every peer byte) — with f, e, x and d
 * acting on the one under the cursor, and esc closing the list.
 */
export function HeldChunks({relay, id, cursor, width, height, keys, onMove, onForward, onEdit, onDrop, onClose}: HeldChunksProps) {
	const held = relay?.held ?? [];
	const inner = width - 2;
	const bodyHeight = Math.max(1, height - 4);
	const position = Math.min(cursor, Math.max(0, held.length - 1));
	const start = Math.max(0, Math.min(position - bodyHeight + 1, held.length - bodyHeight));
	keys.current.held = (typed, state) => {
		const action = actionOf(typed.input, typed.key, heldActions);
		const at = Math.min(state.heldView?.cursor ?? 0, Math.max(0, held.length - 1));
		const chunk = held[at];
		switch (action) {
			case 'cancel':
			case 'quit': {
				onClose();
				break;
			}

			case 'held-forward': {
				if (chunk) {
					onForward(chunk);
				}

				break;
			}

			case 'held-edit':
			case 'held-edit-hex': {
				if (chunk) {
					onEdit(chunk, action === 'held-edit' ? 'text' : 'hex');
				}

				break;
			}

			case 'held-drop': {
				if (chunk) {
					onDrop(chunk);
				}

				break;
			}

			case undefined: {
				break;
			}

			default: {
				onMove(moveCursor(action, at, held.length, bodyHeight));
			}
		}

		return true;
	};

	const intercepting = relay ? (['to-server', 'to-client'] as const).filter((direction) => relay.intercept[direction]).map((direction) => (direction === 'to-server' ? '→ to server' : '← to client')) : [];
	const state = relay === undefined ? 'gone' : relay.state === 'closed' ? 'closed' : intercepting.length > 0 ? `intercepting ${intercepting.join(', ')}` : 'not intercepting (i)';
	return (
		<PaneFrame number={3} title="Held" detail={`${id} · ${held.length} held · ${state} · esc closes`} isFocused width={width} height={height}>
			<Text wrap="truncate-end" color={colors.muted}>
				{`${help} · esc closes`}
			</Text>
			{held.length === 0 ? (
				<Text color={colors.muted}>{relay?.state === 'open' ? 'nothing held yet: chunks going an intercepted way wait here' : 'nothing held'}</Text>
			) : (
				<Box flexDirection="column" height={bodyHeight} overflow="hidden">
					{held.slice(start, start + bodyHeight).map((chunk, index) => {
						const isCursor = start + index === position;
						const head = `${isCursor ? '›' : ' '} #${String(chunk.chunk).padEnd(4)} ${fit(towards(chunk), 12)} ${formatTime(chunk.at)} ${fit(formatBytes(chunk.bytes), 9, 'right')}  `;
						return (
							<RowLine key={chunk.chunk} isCursor={isCursor} fill={0} isDim={false}>
								<Text color={chunk.direction === 'to-server' ? colors.out : colors.in}>{head}</Text>
								{toDisplay(chunk.data, {maxChars: Math.max(1, inner - head.length)})}
							</RowLine>
						);
					})}
				</Box>
			)}
		</PaneFrame>
	);
}
