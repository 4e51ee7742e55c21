import {once} from 'node:events';
import process from 'node:process';
import {createInterface} from 'node:readline';
import {Bus} from './core/bus.js';
import {eventToJson} from './core/commands.js';
import {oneLine} from './core/errors.js';
import {ReplayPlayer} from './core/replay/player.js';
import {openReplay} from './core/replay/replay.js';
import {describeSession, indexRecording, loadSession, type RecordedSession} from './core/replay/recording.js';

const usage = 'usage: netdash replay FILE [--session N] [--json]';

type ReplayArguments = {file: string; session?: number; json?: boolean};

function parseArguments(argv: readonly string[]): ReplayArguments | string {
	let file: string | undefined;
	let session: number | undefined;
	let json: boolean | undefined;
	for (let index = 0; index < argv.length; index++) {
		const argument = argv[index]!;
		const value = argument === '--session' ? argv[++index] : argument.startsWith('--session=') ? argument.slice('--session='.length) : undefined;
		if (argument === '--session' || argument.startsWith('--session=')) {
			if (value === undefined || !/^[1-9]\d{0,8}$/.test(value)) {
				return `--session takes a run number (1, 2, …), not ${JSON.stringify(value ?? '')}`;
			}

			session = Number(value);
		} else if (argument === '--json') {
			json = true;
		} else if (argument === '--no-json') {
			json = false;
		} else if (file === undefined && !argument.startsWith('-')) {
			file = argument;
		} else {
			return `replay does not take '${argument}'`;
		}
	}

	return file === undefined ? 'replay needs a --log file' : {file, ...(session === undefined ? {} : {session}), ...(json === undefined ? {} : {json})};
}

/**
 * Ask on the terminal which run to open; undefined when the input ends
 * unanswered. Exported for tests: any readable and writable will do.
 */
export async function askSession(sessions: readonly RecordedSession[], input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<number | undefined> {
	output.write(`this file holds ${sessions.length} runs:\n${sessions.map((session) => `  ${describeSession(session)}`).join('\n')}\n`);
	const question = `open which run? (1–${sessions.length}) `;
	output.write(question);
	// Lines, not readline's question(): answers typed ahead in one chunk are each read in turn.
	const reader = createInterface({input, terminal: false});
	try {
		for await (const answer of reader) {
			const number = Number(answer.trim());
			if (answer.trim() !== '' && Number.isInteger(number) && number >= 1 && number <= sessions.length) {
				return number;
			}

			output.write(`there is no run ${JSON.stringify(answer.trim().slice(0, 20))}: type a number from 1 to ${sessions.length}\n${question}`);
		}

		return undefined;
	} finally {
		reader.close();
	}
}

/**
 * `netdash replay FILE`: a `--log` recording played back, read-only. On a
 * terminal, the dashboard (with the replay's status line and keys); with
 * `--json` (or when stdout or stdin is not a terminal) the recorded events
 * written again as JSON lines, in order, as fast as the reader takes them.
 * Returns the exit code (2: bad usage, or a file that cannot be read).
 */
export async function runReplay(argv: readonly string[]): Promise<number> {
	const parsed = parseArguments(argv);
	if (typeof parsed === 'string') {
		process.stderr.write(`netdash: ${parsed}; ${usage}\n`);
		return 2;
	}

	const {file} = parsed;
	const isJson = parsed.json ?? !(process.stdout.isTTY && process.stdin.isTTY);
	try {
		const index = await indexRecording(file);
		const {sessions} = index;
		if (sessions.length === 0) {
			process.stderr.write(`netdash: ${file} holds no recorded events${index.badLines.length > 0 ? ` (${index.badLines.length} line(s) are not records)` : ''}\n`);
			return 2;
		}

		let number = parsed.session;
		if (number === undefined && sessions.length === 1) {
			number = 1;
		}

		if (number === undefined) {
			if (isJson) {
				process.stderr.write(`netdash: ${file} holds ${sessions.length} runs: name one with --session N (${sessions.map((session) => describeSession(session)).join('; ')})\n`);
				return 2;
			}

			number = await askSession(sessions, process.stdin, process.stderr);
			if (number === undefined) {
				return 2;
			}
		}

		const loaded = await loadSession(file, number);
		for (const bad of loaded.badLines) {
			process.stderr.write(`netdash: ${file} line ${bad.line}: ${bad.reason}; skipped, the replay goes on\n`);
		}

		if (isJson) {
			const bus = new Bus();
			const output = process.stdout;
			bus.subscribe((event) => {
				output.write(eventToJson(event) + '\n');
			}, {borrows: true});
			const player = new ReplayPlayer(bus, loaded.events, {
				speed: Number.POSITIVE_INFINITY,
				badLines: loaded.badLines,
				// A slow reader of stdout holds the replay instead of growing memory.
				pace: () => (output.writableNeedDrain ? once(output, 'drain').then(() => undefined) : undefined),
			});
			// A closed stdout (`| head`) ends the replay; it is not a crash.
			const closed = new Promise<void>((resolve) => {
				output.once('error', () => resolve());
			});
			player.start();
			await Promise.race([player.whenEnded(), closed]);
			player.dispose();
			await Promise.race([
				closed,
				new Promise<void>((resolve) => {
					output.write('', () => resolve());
				}),
			]);
			return 0;
		}

		const {core, store, player} = openReplay(loaded, file);
		const {runDashboard} = await import('./ui/run.js');
		await runDashboard({core, store, replay: player, openFromFlags: () => player.start()});
		return 0;
	} catch (error) {
		process.stderr.write(`netdash: ${oneLine(error)}\n`);
		return 2;
	}
}
