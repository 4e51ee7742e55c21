import {execFileSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

/**
 * What a person's terminal does not have: vitest pins FORCE_COLOR, COLUMNS
 * and LINES for ink-testing-library, and CI sets CI=true (chalk then turns
 * colour off). Prefix a command with this to run it as at a real terminal.
 */
export const asAtATerminal = 'env -u FORCE_COLOR -u COLUMNS -u LINES -u CI';

/** A command running in a tmux session of its own (its own server socket, so tests never collide). */
export type TmuxSession = {
	/** Run a tmux command against this session's server. */
	tmux(...args: string[]): string;
	/** The visible screen as text. */
	screen(): string;
	/** The file the command's exit code is written to when it ends. */
	readonly exitFile: string;
	/** Kill the server and remove its files (safe to call twice). */
	close(): void;
};

/** True when tmux is installed (.ci/run installs it). */
export const hasTmux = (() => {
	try {
		execFileSync('tmux', ['-V']);
		return true;
	} catch {
		return false;
	}
})();

let sessions = 0;

/**
 * Start `command` in a fresh tmux server of `columns`×`rows`. The shell
 * stays after the command exits (its exit code goes to `exitFile`), so the
 * restored screen can still be read.
 */
export function startInTmux(command: string, options: {columns: number; rows: number; name: string}): TmuxSession {
	const server = `${options.name}-${process.pid}-${++sessions}`;
	const directory = mkdtempSync(path.join(tmpdir(), `${options.name}-tmux-`));
	const exitFile = path.join(directory, 'exit');
	const tmux = (...args: string[]) => execFileSync('tmux', ['-L', server, '-f', '/dev/null', ...args], {encoding: 'utf8'});
	tmux('new-session', '-d', '-x', String(options.columns), '-y', String(options.rows), `sh -c '${command}; echo $? > "${exitFile}"; sleep 60'`);
	const socketPath = tmux('display', '-p', '#{socket_path}').trim();
	return {
		tmux,
		screen: () => tmux('capture-pane', '-p'),
		exitFile,
		close() {
			try {
				tmux('kill-server');
			} catch {
				// Already gone.
			}

			// kill-server leaves the socket file behind.
			rmSync(socketPath, {force: true});
			rmSync(directory, {recursive: true, force: true});
		},
	};
}
