/**
 * netdash with its dashboard rendering to a virtual 120×40 terminal.
 * `--mode=carry`: a listener like tcp-sink's netdash kind; with
 *   `--key-interval-ms` it also toggles the help overlay (`?`) while data
 *   flows and times each key until the frame that shows it.
 * `--mode=rows`: a listener for `--connections` clients; once that many rows are in, times `j`/`k` presses until the next frame; with `--filter-trials`,
 *   then times `/` filtering every row down to a few (see filterRows). With `--wave=N` the rows come in waves: each time
 *   another N clients have been accepted it reports `wave-accepted`, so the bench's client may reset them and connect the
 *   next N (more rows than the open-files limit lets one process hold open at once; closed connections keep their rows).
 * `--mode=system`: the System pane (`5`) once it lists `--sockets` of the
 *   machine's sockets, refreshing each second; times `j`/`k` the same way.
 * `--mode=render-load`: the dashboard drawing a connection of its own that
 *   gets 1 KiB every 5 ms (a new frame at each publish, as during a carry),
 *   until `stop`; reports its CPU and frames. Run beside a headless carry, it
 *   is the rendering moved off the thread that reads the socket.
 * Every frame is tagged with the snapshot it shows (see dashboard.ts), so
 * each `data-received` event is timed until the first frame showing it.
 */
import net from 'node:net';
import process from 'node:process';
import {monitorEventLoopDelay, performance} from 'node:perf_hooks';
import {createCore, createStore} from '../../../source/core/index.js';
import {loadApp, mountDashboard, type MountedDashboard} from '../lib/dashboard.js';
import {command, cpuMsSince, fail, finish, monotonicUs, numberArg, report, roleArgs, runRole, statusKiB} from '../lib/role.js';

/** The help overlay's own line for `?` (keys.ts); the stub shows the same. */
const HELP_MARKER = 'show or hide this help';

runRole(async () => {
	const args = roleArgs();
	const App = await loadApp(args.get('stub') === 'true');
	const mode = args.get('mode');
	const core = createCore({admission: {maxConnections: numberArg(args, 'max-connections', 65_000)}});
	const store = createStore(core.bus);
	const dashboard = mountDashboard(App, core, store, fail);
	if (mode === 'carry') {
		await carry(core, dashboard, numberArg(args, 'key-interval-ms', 0));
	} else if (mode === 'rows') {
		await rows(core, store, dashboard, numberArg(args, 'connections'), numberArg(args, 'presses', 100), numberArg(args, 'filter-trials', 0), numberArg(args, 'wave', 0));
	} else if (mode === 'system') {
		await system(store, dashboard, numberArg(args, 'sockets'), numberArg(args, 'presses', 100));
	} else if (mode === 'render-load') {
		await renderLoad(core, dashboard);
	} else {
		throw new Error(`--mode must be carry, rows, system or render-load, not ${mode}`);
	}
});

type Core = ReturnType<typeof createCore>;
type Store = ReturnType<typeof createStore>;

async function listen(core: Core): Promise<number> {
	return new Promise((resolve) => {
		core.bus.subscribe((event) => {
			if (event.type === 'listener-opened') {
				resolve(event.port);
			} else if ((event.type === 'socket-failed' && event.target.startsWith('L')) || event.type === 'command-failed' || event.type === 'subscriber-failed') {
				// Connections reset by the bench's clients are expected; the listener failing is not.
				fail(new Error(`${event.type}: ${event.message}`));
			}
		}, {borrows: true});
		core.listen('127.0.0.1', 0);
	});
}

async function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

async function carry(core: Core, {terminal, keyboard}: MountedDashboard, keyIntervalMs: number): Promise<void> {
	// Every data-received event: its seq and when it happened.
	let seqs = new Float64Array(1 << 16);
	let times = new Float64Array(1 << 16);
	let count = 0;
	let firstDataAt = 0;
	let lastDataAt = 0;
	let isFlowing = false;
	const keyLatencies: number[] = [];
	let keysUnanswered = 0;
	let keyFrames = 0;

	const pressKeys = async () => {
		let isHelpShown = terminal.lastFrame().includes(HELP_MARKER);
		while (isFlowing) {
			await sleep(keyIntervalMs * (0.5 + Math.random()));
			if (!isFlowing) {
				break;
			}

			const fromIndex = terminal.frames.length;
			const pressedAt = performance.now();
			keyboard.press('?');
			const wanted = !isHelpShown;
			try {
				const frame = await terminal.waitForFrame((candidate) => candidate.text.includes(HELP_MARKER) === wanted, 'answering ?', {fromIndex, timeoutMs: 2000});
				keyLatencies.push(frame.at - pressedAt);
				// This frame answered a key, not new data: counted apart from the data frames.
				keyFrames++;
				isHelpShown = wanted;
			} catch {
				keysUnanswered++;
				isHelpShown = terminal.lastFrame().includes(HELP_MARKER);
			}
		}
	};

	let start = process.cpuUsage();
	// How long the thread that reads the socket is kept from it (by rendering, mostly).
	const loopDelay = monitorEventLoopDelay({resolution: 5});
	core.bus.subscribe((event) => {
		if (event.type === 'data-received') {
			if (count === seqs.length) {
				const grow = (old: Float64Array) => {
					const next = new Float64Array(old.length * 2);
					next.set(old);
					return next;
				};

				seqs = grow(seqs);
				times = grow(times);
			}

			const now = performance.now();
			seqs[count] = event.seq;
			times[count++] = now;
			lastDataAt = now;
			if (!isFlowing && firstDataAt === 0) {
				firstDataAt = now;
				isFlowing = true;
				loopDelay.enable();
				if (keyIntervalMs > 0) {
					void pressKeys();
				}
			}
		} else if (event.type === 'connection-half-closed' && event.by === 'remote') {
			isFlowing = false;
			loopDelay.disable();
			core.close(event.connection);
		} else if (event.type === 'connection-closed') {
			void (async () => {
				const cpuMs = cpuMsSince(start);
				const atUs = monotonicUs();
				// The frame that shows the last bytes.
				const last = seqs[count - 1] ?? 0;
				await terminal.waitForFrame((frame) => frame.tag >= last, 'showing the last event', {timeoutMs: 3000}).catch(() => undefined);
				const loopDelayMs = {p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6};
				finish({type: 'done', atUs, bytes: event.bytesIn, cpuMs, peakRssKiB: statusKiB('VmHWM'), ...frameStats(terminal.frames, seqs, times, count, firstDataAt, lastDataAt), keyLatencies, keysUnanswered, keyFrames, loopDelayMs});
			})();
		}
	}, {borrows: true});
	const port = await listen(core);
	await terminal.waitForFrame(() => true, 'at all');
	start = process.cpuUsage();
	report({type: 'ready', port, atUs: monotonicUs()});
}

/**
 * Drawing as during a carry, with no carry: a loopback client of this process sends its own
 * listener 1 KiB every 5 ms, so each publish (at most 20 a second) has news and is drawn.
 */
async function renderLoad(core: Core, {terminal}: MountedDashboard): Promise<void> {
	const port = await listen(core);
	const client = net.connect({host: '127.0.0.1', port});
	client.on('error', fail);
	await new Promise((resolve) => client.once('connect', resolve));
	const chunk = Buffer.alloc(1024, 'r');
	const timer = setInterval(() => client.write(chunk), 5);
	await terminal.waitForFrame(() => true, 'at all');
	await sleep(500);
	const start = process.cpuUsage();
	const fromFrames = terminal.frames.length;
	const startedAt = performance.now();
	report({type: 'ready', port: 0, atUs: monotonicUs()});
	await command('stop');
	const cpuMs = cpuMsSince(start);
	const seconds = (performance.now() - startedAt) / 1000;
	clearInterval(timer);
	client.destroy();
	finish({type: 'done', cpuMs, seconds, frames: terminal.frames.length - fromFrames});
}

/** Event → frame latencies and the frame rate while data flowed. */
function frameStats(frames: ReadonlyArray<{at: number; tag: number}>, seqs: Float64Array, times: Float64Array, count: number, firstDataAt: number, lastDataAt: number) {
	const latencies: number[] = [];
	let frameIndex = 0;
	let unseen = 0;
	for (let index = 0; index < count; index++) {
		const seq = seqs[index]!;
		const at = times[index]!;
		while (frameIndex < frames.length && (frames[frameIndex]!.tag < seq || frames[frameIndex]!.at < at)) {
			frameIndex++;
		}

		if (frameIndex === frames.length) {
			unseen = count - index;
			break;
		}

		latencies.push(frames[frameIndex]!.at - at);
	}

	const during = frames.filter((frame) => frame.at >= firstDataAt && frame.at <= lastDataAt).length;
	const seconds = (lastDataAt - firstDataAt) / 1000;
	// Latencies are many (one per chunk): keep their distribution, not every one.
	latencies.sort((a, b) => a - b);
	const pick = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
	return {
		frames: frames.length,
		framesDuringFlow: during,
		flowSeconds: seconds,
		eventToFrame: {count: latencies.length, unseen, p50: pick(50), p90: pick(90), p99: pick(99), max: latencies.at(-1) ?? Number.NaN},
	};
}

async function rows(core: Core, store: Store, mounted: MountedDashboard, connections: number, presses: number, filterTrials: number, wave: number): Promise<void> {
	const {terminal, keyboard} = mounted;
	if (wave > 0) {
		// Counted from the bus, not the rows: a client the bench resets is closed only once it has been accepted.
		let accepted = 0;
		core.bus.subscribe((event) => {
			if (event.type === 'connection-opened' && (++accepted % wave === 0 || accepted === connections)) {
				report({type: 'wave-accepted', accepted});
			}
		}, {borrows: true});
	}

	const port = await listen(core);
	report({type: 'ready', port});
	const started = performance.now();
	// A minute per 10,000 rows at least: 100,000 take longer to come in on 2 busy cores.
	const waitMs = Math.max(60_000, connections * 6);
	while (store.getSnapshot().connections.length < connections) {
		if (performance.now() - started > waitMs) {
			throw new Error(`only ${store.getSnapshot().connections.length} of ${connections} rows after ${waitMs / 1000} s`);
		}

		await sleep(50);
	}

	const allRowsAt = performance.now();
	// Settle: the frame after the last row, then a quiet second to count idle frames.
	await sleep(500);
	const idleFrom = terminal.frames.length;
	await sleep(1000);
	const idleFrames = terminal.frames.length - idleFrom;

	const latencies: number[] = [];
	let unanswered = 0;
	for (let index = 0; index < presses; index++) {
		const fromIndex = terminal.frames.length;
		const pressedAt = performance.now();
		keyboard.press(index % 2 === 0 ? 'j' : 'k');
		try {
			const frame = await terminal.waitForFrame(() => true, `after pressing ${index % 2 === 0 ? 'j' : 'k'}`, {fromIndex, timeoutMs: 2000});
			latencies.push(frame.at - pressedAt);
		} catch {
			unanswered++;
		}

		// Past Ink's frame throttle, so each key starts a fresh frame.
		await sleep(40 + Math.random() * 40);
	}

	const filter = filterTrials > 0 ? await filterRows(mounted, connections, filterTrials) : undefined;
	report({type: 'measured', rows: store.getSnapshot().connections.length, rowsVisibleAfterMs: allRowsAt - started, idleFramesPerSecond: idleFrames, latencies, unanswered, peakRssKiB: statusKiB('VmHWM'), ...(filter ? {filter} : {})});
	await command('stop');
	finish({type: 'done'});
}

/**
 * `/` in the Connections pane, `trials` times: type an id prefix that matches
 * 11 of the rows (`c9999` of 100,000: C9999 and C99990–C99999), one key at a
 * time, each waited for (the filter is live: every key filters every row
 * again), and time the last key to the frame whose pane header counts the
 * matches. Then backspace to an empty filter, enter, and wait for the whole
 * list again.
 */
async function filterRows({terminal, keyboard}: MountedDashboard, connections: number, trials: number): Promise<{text: string; matches: number; lastKey: number[]; everyKey: number[]; unanswered: number}> {
	const text = `c${String(Math.floor(connections / 10) - 1)}`;
	const matches = 11;
	const lastKey: number[] = [];
	const everyKey: number[] = [];
	let unanswered = 0;
	const pressAndWait = async (key: string, match: (frame: string) => boolean, what: string): Promise<number | undefined> => {
		const fromIndex = terminal.frames.length;
		const pressedAt = performance.now();
		keyboard.press(key);
		try {
			const frame = await terminal.waitForFrame((candidate) => match(candidate.text), what, {fromIndex, timeoutMs: 5000});
			return frame.at - pressedAt;
		} catch {
			unanswered++;
			return undefined;
		}
	};

	for (let trial = 0; trial < trials; trial++) {
		await pressAndWait('/', (frame) => frame.includes('connections filter:'), 'opening the filter');
		await sleep(100);
		for (let index = 1; index <= text.length; index++) {
			const typed = text.slice(0, index);
			const isLast = index === text.length;
			// The pane's header: `/c9999 11 match`; before the last key, any count for this text.
			const latency = await pressAndWait(text[index - 1]!, (frame) => (isLast ? frame.includes(`/${typed} ${matches} match`) : frame.includes(`/${typed} `) && frame.includes(' match')), `filtering by ${typed}`);
			if (latency !== undefined) {
				everyKey.push(latency);
				if (isLast) {
					lastKey.push(latency);
				}
			}

			await sleep(60 + Math.random() * 40);
		}

		for (let index = 0; index < text.length; index++) {
			await pressAndWait('\u007F', () => true, 'after backspace');
			await sleep(50);
		}

		await pressAndWait('\r', (frame) => !frame.includes('connections filter:') && !frame.includes(' match'), 'closing the filter');
		await sleep(200);
	}

	return {text, matches, lastKey, everyKey, unanswered};
}

/** In the System pane with the machine's `sockets` listed (refreshed each second): j/k → next frame. */
async function system(store: Store, {terminal, keyboard}: MountedDashboard, sockets: number, presses: number): Promise<void> {
	report({type: 'ready', port: 0});
	keyboard.press('5');
	const started = performance.now();
	while (store.getSnapshot().system.sockets.length < sockets) {
		if (performance.now() - started > 60_000) {
			throw new Error(`only ${store.getSnapshot().system.sockets.length} of ${sockets} sockets after 60 s`);
		}

		await sleep(50);
	}

	const allRowsAt = performance.now();
	await sleep(1500);
	const latencies: number[] = [];
	let unanswered = 0;
	for (let index = 0; index < presses; index++) {
		const fromIndex = terminal.frames.length;
		const pressedAt = performance.now();
		keyboard.press(index % 2 === 0 ? 'j' : 'k');
		try {
			const frame = await terminal.waitForFrame(() => true, `after pressing ${index % 2 === 0 ? 'j' : 'k'}`, {fromIndex, timeoutMs: 2000});
			latencies.push(frame.at - pressedAt);
		} catch {
			unanswered++;
		}

		await sleep(40 + Math.random() * 40);
	}

	report({type: 'measured', rows: store.getSnapshot().system.sockets.length, rowsVisibleAfterMs: allRowsAt - started, idleFramesPerSecond: 0, latencies, unanswered, peakRssKiB: statusKiB('VmHWM')});
	await command('stop');
	finish({type: 'done'});
}

