import {Box, Text} from 'ink';
import {safeText} from '../format.js';
import {colors, isColorless} from '../theme.js';
import {useLineInput, type LineInputOptions} from '../hooks/use-line-input.js';

/** Props of {@link LineInput}. */
export type LineInputProps = LineInputOptions & {
	/** Shown before the text, e.g. `:` or `send to C3 ›`. */
	readonly label: string;
	/** Columns the whole line may use. */
	readonly width: number;
	/** Dim text after the line, e.g. the escapes `send` understands. */
	readonly help?: string;
	/** Text after the line that is always there, e.g. the byte count of the send prompt. */
	readonly status?: (value: string) => string;
	/**
	 * How the line's text is painted, piece by piece; each character must stay
	 * one character (the send prompt shows a pasted line break as ⏎).
	 * @default safeText
	 */
	readonly display?: (text: string) => string;
};

/** The cursor after the last character: inverse video, or a block where there is none. */
const endCursor = isColorless() ? '█' : ' ';

/**
 * A one-line text prompt with a cursor, history and completion. What is
 * typed is painted through toDisplayString like everything else, and the
 * view scrolls to keep the cursor in sight.
 */
export function LineInput({label, width, help, status, display = safeText, ...options}: LineInputProps) {
	const {value, cursor, candidates} = useLineInput(options);
	const statusText = status ? `  ${status(value)}` : '';
	const room = Math.max(1, width - label.length - statusText.length - 2);
	const start = Math.max(0, cursor - room + 1);
	const visible = value.slice(start, start + room);
	const at = cursor - start;
	const before = display(visible.slice(0, at));
	const under = visible.slice(at, at + 1);
	const after = display(visible.slice(at + 1));
	const extra = candidates.length > 0 ? `  ${candidates.join('  ')}` : help && value === '' ? `  ${help}` : '';
	return (
		<Box width={width} height={1}>
			<Text wrap="truncate-end">
				<Text bold color={colors.focus}>
					{label}
				</Text>
				{before}
				<Text inverse>{under === '' ? endCursor : display(under)}</Text>
				{after}
				{statusText === '' ? null : <Text color={colors.focus}>{statusText}</Text>}
				<Text color={colors.muted}>{extra}</Text>
			</Text>
		</Box>
	);
}
