import net from 'node:net';
import stringWidth from 'string-width';
import {afterEach, describe, expect, it} from 'vitest';
import {commandLineUsages} from '../../source/core/command-line.js';
import {Core} from '../../source/core/core.js';
import {keys, renderDashboard, resize, type Dashboard} from '../helpers/ink.js';
import {freeUdpPort} from '../helpers/ports.js';
import {record} from '../helpers/recorder.js';

const dashboards: Dashboard[] = [];
const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}

	await Promise.all(dashboards.splice(0).map(async (dashboard) => dashboard.dispose()));
});

async function open(): Promise<Dashboard> {
	const dashboard = await renderDashboard();
	dashboards.push(dashboard);
	return dashboard;
}

/** Run a `:` command line as a person types it. */
async function command(dashboard: Dashboard, line: string): Promise<void> {
	await dashboard.type(':', 'tab completes');
	await dashboard.type(line, (frame) => frame.includes(`:${line.slice(0, 60)}`));
	await dashboard.type(keys.enter, (frame) => !frame.includes('tab completes'));
}

/** The terminal column where `text` starts on `line` (wide characters count 2, combining marks 0). */
function columnOf(line: string, text: string): number {
	const index = line.indexOf(text);
	expect(index, `'${text}' on the line ${line}`).toBeGreaterThanOrEqual(0);
	return stringWidth(line.slice(0, index));
}

/** A second netdash core announcing itself to `port` on loopback under `name`. */
async function peerNamed(name: string, port: number): Promise<Core> {
	const core = new Core();
	const events = record(core.bus);
	cleanups.push(async () => {
		events.stop();
		await core.closeAll(100);
		core.dispose();
	});
	core.listen('0.0.0.0', 0);
	await events.waitFor('listener-opened');
	core.startDiscovery({port: await freeUdpPort(), name, intervalMs: 300, broadcast: [`127.0.0.1:${port}`]});
	await events.waitFor('discovery-started');
	return core;
}

/** A loopback TCP server that sends `chunk` every 20 ms to whoever connects. */
async function chattyServer(chunk: Buffer): Promise<number> {
	const timers: NodeJS.Timeout[] = [];
	const sockets: net.Socket[] = [];
	const server = net.createServer((socket) => {
		socket.on('error', () => {});
		sockets.push(socket);
		timers.push(setInterval(() => socket.write(chunk), 20));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(async () => {
		for (const timer of timers) {
			clearInterval(timer);
		}

		for (const socket of sockets) {
			socket.destroy();
		}

		await new Promise((resolve) => server.close(resolve));
	});
	return (server.address() as net.AddressInfo).port;
}

describe('widths and layout', () => {
	it('a peer named "alpha 日本🎉" takes its name\'s terminal width, so its address, ports and state stay under their headings', async () => {
		const dashboard = await open();
		resize(dashboard, 200, 60);
		const ours = await freeUdpPort();
		await peerNamed('alpha 日本🎉', ours);
		await peerNamed('plain', ours);
		await command(dashboard, `discover ${ours} 127.0.0.1:1`);
		const frame = await dashboard.see((current) => current.includes('alpha 日本🎉') && current.includes('● plain'), 15_000);
		const lines = frame.split('\n');
		const heading = lines.find((line) => /name\s+address\s+port/.test(line))!;
		const wide = lines.find((line) => line.includes('alpha 日本🎉'))!;
		const plain = lines.find((line) => line.includes('● plain'))!;
		for (const row of [wide, plain]) {
			expect(columnOf(row, '127.0.0.1'), row).toBe(columnOf(heading, 'address'));
			expect(columnOf(row, 'fresh'), row).toBe(columnOf(heading, 'state'));
			// The pane's right border stays where the frame's other lines have theirs
			expect(stringWidth(row), row).toBe(200);
		}
	});

	it('at 120 columns the rates and their sparklines are shown, and with Discovery open a listener shows its service name before its port class', async () => {
		const dashboard = await open();
		resize(dashboard, 120, 40);
		const port = await chattyServer(Buffer.alloc(4096, 0x61));
		dashboard.core.connect('127.0.0.1', port);
		// The rate shows once a second's sample is in, and the sparkline draws a bar for it
		let frame = await dashboard.see(/C1 .*● open .*[\d.]+ KiB\/s [▁▂▃▄▅▆▇█ ]*█/, 15_000);
		expect(frame).toMatch(/queued\s+in\s+out\s+rate in\s+rate out/);

		// The store is told what the core says about a listener on :22 (binding it needs root)
		dashboard.core.bus.emit({type: 'listener-opened', listener: 'L1', address: '127.0.0.1', port: 22, framing: 'line'});
		await command(dashboard, `discover ${await freeUdpPort()} 127.0.0.1:1`);
		frame = await dashboard.see(/4 Discovery \(0 peers · :\d+\)/);
		expect(frame).toMatch(/● L1\s+127\.0\.0\.1:22\s+0 acc 0 open\s+ssh\s+listening/);
		expect(frame).not.toContain('port class');
	});

	it('a UDP socket\'s 6- and 7-digit counters show whole in the Listeners pane at 80, 100 and 120 columns', async () => {
		const dashboard = await open();
		const {bus} = dashboard.core;
		bus.emit({type: 'udp-bound', socket: 'U1', address: '127.0.0.1', port: 40001, isBroadcast: false, isEcho: false});
		bus.emit({type: 'udp-closed', socket: 'U1', datagramsIn: 103_263, datagramsOut: 0, bytesIn: 103_263_000, bytesOut: 0, dropped: 0});
		bus.emit({type: 'udp-bound', socket: 'U2', address: '127.0.0.1', port: 40002, isBroadcast: false, isEcho: false});
		bus.emit({type: 'udp-closed', socket: 'U2', datagramsIn: 1_234_567, datagramsOut: 123_456, bytesIn: 1_234_567, bytesOut: 123_456, dropped: 0});
		// At 80 the port class and framing give way to them; at 100 and 120 every column is there.
		for (const [columns, rows] of [[80, 24], [100, 40], [120, 40]] as const) {
			resize(dashboard, columns, rows);
			const frame = await dashboard.see((current) => current.split('\n')[0]!.length === columns && current.includes('U2'));
			expect(frame, `${columns} columns`).toMatch(/○ U1\s+127\.0\.0\.1:40001\/udp\s+103263 in 0 out\s/);
			expect(frame, `${columns} columns`).toMatch(/○ U2\s+127\.0\.0\.1:40002\/udp\s+1234567 in 123456 out\s/);
			expect(frame, `${columns} columns`).toMatch(columns >= 100 ? /closed\s+datagram/ : /closed/);
		}
	});

	it('the Discovery pane is one line while discovery is off, and opens into a pane when :discover starts it', async () => {
		const dashboard = await open();
		let frame = dashboard.lastFrame()!;
		const lines = frame.split('\n');
		// The Listeners take the whole width, Discovery folds into one line under them
		expect(lines[0]).toMatch(/^╭─ 1 Listeners .*╮$/);
		expect(stringWidth(lines[0]!)).toBe(100);
		const folded = lines.findIndex((line) => line.includes('4 Discovery'));
		expect(lines[folded]).toMatch(/^╶─ 4 Discovery off · :discover or --discover finds netdash peers ─+$/);
		expect(lines[folded - 1]).toMatch(/^╰─+╯$/);
		expect(lines[folded + 1]).toMatch(/2 Connections/);
		expect(lines).toHaveLength(30);

		// Focused, it is drawn heavy like any focused pane
		frame = await dashboard.type('4', '┏━ 4 Discovery off');

		await command(dashboard, `discover ${await freeUdpPort()} 127.0.0.1:1`);
		frame = await dashboard.see(/4 Discovery \(0 peers · :\d+\)/);
		expect(frame).not.toContain('Discovery off');
		expect(frame.split('\n')[0]).toMatch(/1 Listeners .*╮.*4 Discovery/);
		expect(frame.split('\n')).toHaveLength(30);
	});

	it('? explains every glyph the panes draw', async () => {
		const dashboard = await open();
		let frame = await dashboard.type('?', 'Glyphs');
		// Where the help does not fit it scrolls: read it line by line with j, to the end.
		let shown = frame;
		const total = Number(/ of (\d+)/.exec(frame)?.[1] ?? 0);
		for (let first = 2; total > 0 && !new RegExp(`–${total} of ${total}`).test(frame); first++) {
			frame = await dashboard.type('j', `lines ${first}–`);
			shown += '\n' + frame;
			expect(first).toBeLessThan(total);
		}

		for (const [glyph, meaning] of [
			['›', 'cursor'],
			['•', 'log is the one shown'],
			['◐', 'we sent FIN'],
			['◑', 'peer sent FIN'],
			['◌', 'connecting'],
			['⚠', 'stalled'],
			['▸', 'relay'],
		] as const) {
			expect(shown, `${glyph} explained`).toMatch(new RegExp(`[║ ] ${glyph} [^║]*${meaning}`));
		}
	});

	it('at 80×24 ? still lists every : command: the help scrolls with j and G', async () => {
		const dashboard = await open();
		resize(dashboard, 80, 24);
		let frame = await dashboard.type('?', 'j/k scroll: lines 1–');
		const seen = new Set<string>();
		const collect = (current: string) => {
			expect(current.split('\n').length).toBeLessThanOrEqual(24);
			for (const line of current.split('\n')) {
				seen.add(line);
			}
		};

		collect(frame);
		const total = Number(/ of (\d+)/.exec(frame)![1]);
		// Line by line with j, to the end
		for (let first = 2; !frame.includes(`of ${total}`) || !new RegExp(`–${total} of ${total}`).test(frame); first++) {
			frame = await dashboard.type('j', `lines ${first}–`);
			collect(frame);
			expect(first).toBeLessThan(total);
		}

		for (const {usage} of commandLineUsages) {
			expect([...seen].some((line) => line.includes(` ${usage}`)), `help lists ${usage}`).toBe(true);
		}

		// g goes back to the top, G to the end at once
		frame = await dashboard.type('g', 'lines 1–');
		frame = await dashboard.type('G', `–${total} of ${total}`);
		expect(frame).toContain(commandLineUsages.at(-1)!.usage);
	});
});
