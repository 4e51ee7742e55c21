import {useState} from 'react';
import {Box, Text, useInput} from 'ink';
import {actionOf, bindingOf, keyLabel, type KeyAction} from '../keys.js';
import {colors} from '../theme.js';

/** Props of {@link PortChoice}. */
export type PortChoiceProps = {
	/** Whose ports: the peer's name, already escaped for display. */
	readonly name: string;
	readonly address: string;
	readonly ports: readonly number[];
	readonly width: number;
	readonly isActive: boolean;
	readonly onChoose: (port: number) => void;
	readonly onCancel: () => void;
};

const choiceActions: ReadonlySet<KeyAction> = new Set(['pick-previous', 'pick-next', 'submit', 'cancel']);

/** `←/→ pick · enter connects · esc cancels`, from the key table. */
const help = `${keyLabel(bindingOf('pick-previous'))}${keyLabel(bindingOf('pick-next'))} pick · ${keyLabel(bindingOf('submit'))} connects · ${keyLabel(bindingOf('cancel'))} cancels`;

/**
 * Which of a peer's offered TCP ports to dial, on the bottom line: the
 * ports side by side, the chosen one in brackets (readable without colour),
 * ←/→ to move, enter to connect, esc to cancel.
 */
export function PortChoice({name, address, ports, width, isActive, onChoose, onCancel}: PortChoiceProps) {
	const [index, setIndex] = useState(0);
	useInput(
		(input, key) => {
			switch (actionOf(input, key, choiceActions)) {
				case 'pick-previous': {
					setIndex((current) => (current - 1 + ports.length) % ports.length);
					break;
				}

				case 'pick-next': {
					setIndex((current) => (current + 1) % ports.length);
					break;
				}

				case 'submit': {
					onChoose(ports[index]!);
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
	return (
		<Box width={width} height={1}>
			<Text wrap="truncate-end">
				<Text bold color={colors.focus}>{`connect to ${name} at ${address} port: `}</Text>
				{ports.map((port, position) => (
					<Text key={port} bold={position === index} color={position === index ? colors.focus : undefined}>
						{position === index ? `[${port}]` : ` ${port} `}{' '}
					</Text>
				))}
				<Text color={colors.muted}>{` ${help}`}</Text>
			</Text>
		</Box>
	);
}
