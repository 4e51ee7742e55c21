import type {Completion} from '../../core/command-line.js';
import type {Notice} from '../../core/index.js';
import type {ConfirmAction, PaneName, Prompt} from '../hooks/use-dashboard-state.js';
import {safeText} from '../format.js';
import {isFramed, lineEndingLabels, pastedText, sendText, wireBytes, type LineEnding} from '../send-text.js';
import {ConfirmPrompt} from './confirm-prompt.js';
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
	readonly onSend: (target: string, text: string) => void;
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
};

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
export function PromptLine({prompt, freshNotice, width, history, complete, onCommand, onFilter, onSend, onConfirm, onConnect, onClose, lineEnding, onLineEnding, framingOf, completeSend, onTypeAhead}: PromptLineProps) {
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
					label={isUdp ? `sendto from ${target} ${ending} › ` : `send to ${target} ${ending} › `}
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
							onSend(target, text);
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

		default: {
			return freshNotice ? <NoticeLine notice={freshNotice} width={width} /> : <KeyHint width={width} />;
		}
	}
}
