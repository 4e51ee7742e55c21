/**
 * netdash's dashboard (virtual 120×40 terminal) browsing mDNS in a
 * namespace where synthetic responders announce `--services` services and
 * update every one of them each round (roles/mdns-announcers.ts). Once all
 * are in the table, with the Discovery pane focused, for `--seconds`: each
 * `service-*` event is timed until the first frame showing it, and `j`/`k`
 * pressed every ~60 ms is timed until the frame whose cursor moved.
 */
import process from 'node:process';
import {monitorEventLoopDelay, performance} from 'node:perf_hooks';
import {createCore, createStore} from '../../../source/core/index.js';
import {loadApp, mountDashboard} from '../lib/dashboard.js';
import {cpuMsSince, fail, finish, numberArg, report, roleArgs, runRole, statusKiB} from '../lib/role.js';

async function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The line the cursor is on (`›● bench-3 web 1 …`), or undefined. j then k
 * from the first service moves it between the first two service lines (no
 * scrolling), so the line number tells a frame that answered the key.
 */
/** Two of Ink's 60-fps intervals: a render whose output changed is written within this. */
const UNCHANGED_MS = 34;

const cursorOf = (text: string) => {
	const index = text.split('\n').findIndex((line) => line.includes('›● bench-'));
	return index === -1 ? undefined : index;
};

runRole(async () => {
	const args = roleArgs();
	const services = numberArg(args, 'services');
	const seconds = numberArg(args, 'seconds');
	const App = await loadApp(args.get('stub') === 'true');
	const core = createCore();
	const store = createStore(core.bus);
	const dashboard = mountDashboard(App, core, store, fail);
	const {terminal, keyboard} = dashboard;
	const seqs: number[] = [];
	const times: number[] = [];
	let isMeasuring = false;
	let events = 0;
	core.bus.subscribe((event) => {
		if (event.type.startsWith('service-')) {
			events++;
			if (isMeasuring) {
				seqs.push(event.seq);
				times.push(performance.now());
			}
		} else if (event.type === 'socket-failed') {
			fail(new Error(`${event.type}: ${event.message}`));
		}
	}, {borrows: true});
	await terminal.waitForFrame(() => true, 'at all');
	const started = performance.now();
	core.browseServices({protocols: ['mdns']});
	const live = () => store.getSnapshot().hosts.reduce((sum, host) => sum + host.services.filter((service) => service.state === 'fresh').length, 0);
	// Measured once 95 % are in: a host whose announcement was lost (a kernel drop, where net.core.rmem_max caps the LAN socket's
	// buffer below what a round of 125 announcements needs) comes in only with a later re-query. The row's notes count them.
	const enough = Math.floor(services * 0.95);
	while (live() < enough) {
		if (performance.now() - started > 90_000) {
			const hosts = store.getSnapshot().hosts;
			const short = hosts.filter((host) => host.services.filter((service) => service.state === 'fresh').length < 4).map((host) => `${host.address}: ${host.services.map((service) => `${service.name} ${service.state}`).join(', ')}`);
			throw new Error(`only ${live()} of ${services} services on ${hosts.length} hosts after 90 s; short: ${short.slice(0, 5).join('; ')}; dropped ${JSON.stringify(store.getSnapshot().discovery.dropped)}`);
		}

		await sleep(50);
	}

	const populatedMs = performance.now() - started;
	keyboard.press('4');
	await terminal.waitForFrame((frame) => cursorOf(frame.text) !== undefined, 'the Discovery pane focused', {timeoutMs: 5000});
	const loopDelay = monitorEventLoopDelay({resolution: 5});
	loopDelay.enable();
	const cpu = process.cpuUsage();
	const framesFrom = terminal.frames.length;
	const eventsFrom = events;
	isMeasuring = true;
	const measureStart = performance.now();
	const keyLatencies: number[] = [];
	let unanswered = 0;
	for (let index = 0; performance.now() - measureStart < seconds * 1000; index++) {
		const before = cursorOf(terminal.lastFrame());
		const fromIndex = terminal.frames.length;
		const pressedAt = performance.now();
		keyboard.press(index % 2 === 0 ? 'j' : 'k');
		try {
			const frame = await terminal.waitForFrame((candidate) => cursorOf(candidate.text) !== before, 'the cursor moved', {fromIndex, timeoutMs: 2000});
			keyLatencies.push(frame.at - pressedAt);
		} catch {
			unanswered++;
		}

		await sleep(40 + Math.random() * 40);
	}

	isMeasuring = false;
	const measuredSeconds = (performance.now() - measureStart) / 1000;
	const cpuMs = cpuMsSince(cpu);
	loopDelay.disable();
	const frames = terminal.frames.slice(framesFrom);
	// Each event: the first frame at or after it that shows it. Most of these events are re-announcements
	// that change nothing on screen, and Ink writes no frame for a render whose output is unchanged: then
	// the screen already shows the event when the tree first holds a snapshot with it (a render that no
	// frame follows within two of Ink's 60-fps intervals). Without that, such an event waited for the next
	// key press to count as shown (and those at the end never did); that figure is reported too.
	const {renders} = dashboard;
	const latencies: number[] = [];
	const writeLatencies: number[] = [];
	let frameIndex = 0;
	let renderIndex = 0;
	let unseen = 0;
	for (const [index, seq] of seqs.entries()) {
		const at = times[index]!;
		while (frameIndex < frames.length && (frames[frameIndex]!.tag < seq || frames[frameIndex]!.at < at)) {
			frameIndex++;
		}

		while (renderIndex < renders.length && (renders[renderIndex]!.tag < seq || renders[renderIndex]!.at < at)) {
			renderIndex++;
		}

		const frame = frames[frameIndex];
		const render = renders[renderIndex];
		if (frame) {
			writeLatencies.push(frame.at - at);
		}

		if (render && (!frame || frame.at > render.at + UNCHANGED_MS)) {
			latencies.push(render.at - at);
		} else if (frame) {
			latencies.push(frame.at - at);
		} else {
			unseen = seqs.length - index;
			break;
		}
	}

	report({
		type: 'measured',
		populatedMs,
		services: live(),
		dropped: store.getSnapshot().discovery.dropped,
		hosts: store.getSnapshot().hosts.length,
		eventsPerSecond: (events - eventsFrom) / measuredSeconds,
		framesPerSecond: frames.length / measuredSeconds,
		eventToFrame: latencies,
		eventToWrite: writeLatencies,
		unseen,
		keyLatencies,
		unanswered,
		cpuPercent: (cpuMs / (measuredSeconds * 1000)) * 100,
		loopDelayMs: {p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6},
		peakRssKiB: statusKiB('VmHWM'),
	});
	core.closeAll(0).catch(() => undefined);
	finish({type: 'done'});
});
