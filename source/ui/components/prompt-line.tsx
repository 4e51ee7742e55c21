import type {Completion} from '../../core/command-line.js';
import type {Notice, RelayDirectionName, RelayRow} from '../../core/index.js';
import type {ConfirmAction, PaneName, Prompt, RelayStepName} from '../hooks/use-dashboard-state.js';
import {safeText} from '../format.js';
import {isFramed, lineEndingLabels, pastedText, sendText, wireBytes, type LineEnding} from '../send-text.js';
import {ConfirmPrompt} from './confirm-prompt.js';
import {DirectionChoice} from './direction-choice.js';
import {KeyHint} from './key-hint.js';
import {LineInput} from './line-input.js';
import {NoticeLine} from './notice-line.js';
import {PortChoice} from './port-choice.js';

/** Props of {@link PromptLine}. */
export type PromptLineProps = {
	/** The open prompt, if any. */
	readonly prompt: Prompt | undefined;
	/** A notice no key has been pressed since: shown when no prompt is open. */
	readonly freshNotice: Notice | undefined;
	readonly width: number;
	/** Command lines for up/down. */
	readonly history: readonly string[];
	readonly complete: (text: string) => Completion;
	readonly onCommand: (text: string) => void;
	/** A filter changed as typed (live), or was kept with enter. */
	readonly onFilter: (pane: PaneName, text: string) => void;
	/** `direction`: the send prompt was a relay's, and the bytes are injected that way. */
	readonly onSend: (target: string, text: string, direction?: RelayDirectionName) => void;
	readonly onConfirm: (action: ConfirmAction, target: string | undefined) => void;
	/** A port of a peer was chosen: dial it. */
	readonly onConnect: (host: string, port: number) => void;
	/** Close the prompt without acting (a filter prompt restores its previous text first). */
	readonly onClose: () => void;
	/** What Enter adds after sent text. */
	readonly lineEnding: LineEnding;
	/** ctrl-t in the send prompt. */
	readonly onLineEnding: () => void;
	/** The framing of a connection (`raw`, `line`, …); undefined for a UDP socket. */
	readonly framingOf: (target: string) => string | undefined;
	/** Tab in the send prompt (a UDP socket's destination). */
	readonly completeSend: (target: string, text: string) => Completion;
	/** Keys typed after the enter that closed a prompt, in the same burst. */
	readonly onTypeAhead: (rest: string) => void;
	/** A relay by id (what its directions are doing now, for the direction choice). */
	readonly relayOf: (id: string) => RelayRow | undefined;
	/** A direction was chosen for a step on a relay (i, s, t). */
	readonly onDirection: (relay: string, step: RelayStepName, direction: RelayDirectionName) => void;
	/** The throttle prompt's text, as typed (`2k`, `500`, `0`). */
	readonly onThrottle: (relay: string, direction: RelayDirectionName, text: string) => void;
	/** A held chunk's edited bytes, as typed (text with escapes, or hex). */
	readonly onEditHeld: (relay: string, chunk: number, format: 'text' | 'hex', text: string) => void;
};

const stepVerbs: Record<RelayStepName, string> = {intercept: 'turns it on/off', inject: 'types the bytes', throttle: 'sets the pace'};
const stepLabels: Record<RelayStepName, string> = {intercept: 'intercept on', inject: 'inject into', throttle: 'throttle'};
const directionLabels: Record<RelayDirectionName, string> = {'to-server': '→ to server', 'to-client': '← to client'};

/** The send prompt's text as painted: a pasted line break is ⏎ and a TAB ⇥, one character each like the text they stand for. */
function sendDisplay(text: string): string {
	return safeText(text.replaceAll('\n', '⏎').replaceAll('\t', '⇥'));
}

/** A UDP sendto line's destination (`host:port `), which is not sent. */
const destination = /^(?:\[[^\]]*\]|[^\s:]+):\d+ /;

/**
 * The bottom line: the open prompt (command line, filter, send text, a
 * yes/no question), else a fresh notice, else the key hint.
 */
export function PromptLine(props: PromptLineProps) {
	const {prompt, freshNotice, width, history, complete, onCommand, onFilter, onSend, onConfirm, onConnect, onClose, lineEnding, onLineEnding, framingOf, completeSend, onTypeAhead} = props;
	switch (prompt?.kind) {
		case 'command': {
			return (
				<LineInput
					key="command"
					label=":"
					width={width}
					initial={prompt.initial}
					isActive
					history={history}
					complete={complete}
					help="tab completes · ↑↓ history · esc closes"
					onTypeAhead={onTypeAhead}
					onCancel={onClose}
					onSubmit={onCommand}
				/>
			);
		}

		case 'filter': {
			const {pane, previous} = prompt;
			return (
				<LineInput
					key="filter"
					label={`/${pane} filter: `}
					width={width}
					initial={prompt.initial}
					isActive
					help={pane === 'log' ? 'text, or in / out / note / error first · enter keeps · esc restores' : 'text · enter keeps · esc restores'}
					onChange={(text) => {
						onFilter(pane, text);
					}}
					onTypeAhead={onTypeAhead}
					onCancel={() => {
						onFilter(pane, previous);
						onClose();
					}}
					onSubmit={(text) => {
						onFilter(pane, text.trim());
						onClose();
					}}
				/>
			);
		}

		case 'send': {
			const {target} = prompt;
			// A UDP socket sends datagrams: say where, unless it is connected (then sendto's rule: text alone goes to its peer).
			const isUdp = target.startsWith('U');
			const framing = framingOf(target);
			const ending = isFramed(framing) ? (framing === 'line' ? '+LF by framing' : `${framing} frame`) : lineEndingLabels[lineEnding];
			return (
				<LineInput
					key="send"
					label={prompt.direction ? `inject into ${target} ${directionLabels[prompt.direction]} ${ending} › ` : isUdp ? `sendto from ${target} ${ending} › ` : `send to ${target} ${ending} › `}
					width={width}
					initial={prompt.initial}
					pasted={prompt.pasted}
					isActive
					display={sendDisplay}
					complete={(value) => completeSend(target, value)}
					fromPaste={pastedText}
					status={(value) => {
						const bytes = wireBytes(sendText(isUdp ? value.replace(destination, '') : value, lineEnding, framing), framing);
						return bytes === undefined ? 'bad escape' : `${bytes} B`;
					}}
					help={isUdp ? 'host:port text (connected: text) · \\r \\n \\xNN · ctrl-t ending · enter sends' : 'text, \\r \\n \\t \\xNN escapes · ctrl-t ending · enter sends · esc closes'}
					onLineEnding={onLineEnding}
					onTypeAhead={onTypeAhead}
					onCancel={onClose}
					onSubmit={(value) => {
						onClose();
						const text = sendText(value, lineEnding, framing);
						// An empty line is sent when it ends in something: Enter alone sends a newline, as in nc.
						if (text !== '' || framing === 'line') {
							onSend(target, text, prompt.direction);
						}
					}}
				/>
			);
		}

		case 'confirm': {
			const {action, target} = prompt;
			return (
				<ConfirmPrompt
					key="confirm"
					question={prompt.question}
					width={width}
					isActive
					onCancel={onClose}
					onConfirm={() => {
						onClose();
						onConfirm(action, target);
					}}
				/>
			);
		}

		case 'choose-port': {
			const {address} = prompt;
			return (
				<PortChoice
					key="choose-port"
					name={prompt.name}
					address={address}
					ports={prompt.ports}
					width={width}
					isActive
					onCancel={onClose}
					onChoose={(port) => {
						onClose();
						onConnect(address, port);
					}}
				/>
			);
		}

		case 'choose-direction': {
			const {relay, step} = prompt;
			const row = props.relayOf(relay);
			const stateOf =
				step === 'intercept'
					? (direction: RelayDirectionName) => (row?.intercept[direction] ? 'on' : 'off')
					: step === 'throttle'
						? (direction: RelayDirectionName) => (row && row.throttle[direction] > 0 ? `${row.throttle[direction]} B/s` : 'no limit')
						: undefined;
			return (
				<DirectionChoice
					key="choose-direction"
					label={`${stepLabels[step]} ${relay}`}
					verb={stepVerbs[step]}
					{...(stateOf ? {stateOf} : {})}
					width={width}
					isActive
					onCancel={onClose}
					onChoose={(direction) => {
						onClose();
						props.onDirection(relay, step, direction);
					}}
				/>
			);
		}

		case 'throttle': {
			const {relay, direction} = prompt;
			return (
				<LineInput
					key="throttle"
					label={`throttle ${relay} ${directionLabels[direction]} to bytes/s › `}
					width={width}
					initial={prompt.initial}
					isActive
					help="e.g. 2000, 16k, 1M · 0 lifts the limit · enter sets · esc closes"
					onTypeAhead={onTypeAhead}
					onCancel={onClose}
					onSubmit={(value) => {
						onClose();
						props.onThrottle(relay, direction, value);
					}}
				/>
			);
		}

		case 'edit-held': {
			const {relay, chunk, format} = prompt;
			return (
				<LineInput
					key={`edit-held-${chunk}-${format}`}
					label={`chunk ${chunk} of ${relay} as ${format} › `}
					width={width}
					initial={prompt.initial}
					isActive
					help={format === 'text' ? '\\r \\n \\t \\xNN escapes · enter forwards these bytes · esc keeps it held' : 'hex bytes · enter forwards these bytes · esc keeps it held'}
					onTypeAhead={onTypeAhead}
					onCancel={onClose}
					onSubmit={(value) => {
						onClose();
						props.onEditHeld(relay, chunk, format, value);
					}}
				/>
			);
		}

		default: {
			return freshNotice ? <NoticeLine notice={freshNotice} width={width} /> : <KeyHint width={width} />;
		}
	}
}
