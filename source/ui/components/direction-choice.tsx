import {useState} from 'react';
import {Box, Text, useInput} from 'ink';
import type {RelayDirectionName} from '../../core/index.js';
import {actionOf, bindingOf, keyLabel, type KeyAction} from '../keys.js';
import {colors} from '../theme.js';

/** Props of {@link DirectionChoice}. */
export type DirectionChoiceProps = {
	/** What is asked, e.g. `intercept on R1`. */
	readonly label: string;
	/** What each direction is now, shown beside it (e.g. `on` for an intercepted one). */
	readonly stateOf?: (direction: RelayDirectionName) => string;
	/** What enter does, for the help after the choices. */
	readonly verb: string;
	readonly width: number;
	readonly isActive: boolean;
	readonly onChoose: (direction: RelayDirectionName) => void;
	readonly onCancel: () => void;
};

const directions: readonly RelayDirectionName[] = ['to-server', 'to-client'];
const labels: Record<RelayDirectionName, string> = {'to-server': '→ to server', 'to-client': '← to client'};
const choiceActions: ReadonlySet<KeyAction> = new Set(['pick-previous', 'pick-next', 'submit', 'cancel']);

/**
 * Which way through a relay a step acts on, on the bottom line: the two
 * directions side by side, the chosen one in brackets (readable without
 * colour), ←/→ to move, enter to choose, esc to cancel.
 */
export function DirectionChoice({label, stateOf, verb, width, isActive, onChoose, onCancel}: DirectionChoiceProps) {
	const [index, setIndex] = useState(0);
	useInput(
		(input, key) => {
			switch (actionOf(input, key, choiceActions)) {
				case 'pick-previous':
				case 'pick-next': {
					setIndex((current) => 1 - current);
					break;
				}

				case 'submit': {
					onChoose(directions[index]!);
					break;
				}

				case 'cancel': {
					onCancel();
					break;
				}

				default: {
					break;
				}
			}
		},
		{isActive},
	);
	const help = `${keyLabel(bindingOf('pick-previous'))}${keyLabel(bindingOf('pick-next'))} pick · ${keyLabel(bindingOf('submit'))} ${verb} · ${keyLabel(bindingOf('cancel'))} cancels`;
	return (
		<Box width={width} height={1}>
			<Text wrap="truncate-end">
				<Text bold color={colors.focus}>{`${label}: `}</Text>
				{directions.map((direction, position) => {
					const text = `${labels[direction]}${stateOf ? ` (${stateOf(direction)})` : ''}`;
					return (
						<Text key={direction} bold={position === index} color={position === index ? colors.focus : undefined}>
							{position === index ? `[${text}]` : ` ${text} `}{' '}
						</Text>
					);
				})}
				<Text color={colors.muted}>{` ${help}`}</Text>
			</Text>
		</Box>
	);
}
