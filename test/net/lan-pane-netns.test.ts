import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import readline from 'node:readline';
import stringWidth from 'string-width';
import {afterAll, describe, expect, it} from 'vitest';
import type {EventInput} from '../../source/core/events.js';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {dashboardsForEachTest, keys, type Dashboard} from '../helpers/ink.js';
import {missingTool, skipEachIf, whyNoNetns} from '../helpers/requires.js';

/**
 * The Discovery pane over what a real avahi-daemon publishes. The dashboard
 * runs in this process (ink-testing-library, real core and store), which
 * lives in the host's network namespace and must not send there; so the
 * browser is a real netdash in namespace `a` of a bridge this test makes,
 * avahi runs in namespace `b`, and every `service-*` event the browser
 * prints is put on the dashboard's bus as it arrives. Every multicast stays
 * on the test bridge; nothing here dials a namespace address from the host.
 */

const prefix = `nd-lanp-${process.pid}`;
const subnet = `10.79.${(process.pid % 250) + 1}`;
const namespaceOf = (name: string) => `${prefix}-${name}`;
const avahiHostName = `nd-pane-${process.pid}`;
const reason = whyNoNetns() ?? missingTool('avahi-daemon');

function ip(...args: string[]): void {
	execFileSync('ip', args, {stdio: 'pipe'});
}

const {open, cleanups} = dashboardsForEachTest();
let madeNamespaces: string[] = [];

function makeSubnet(): void {
	const bridge = namespaceOf('br');
	for (const name of [bridge, namespaceOf('a'), namespaceOf('b')]) {
		ip('netns', 'add', name);
		madeNamespaces.push(name);
	}

	ip('-n', bridge, 'link', 'add', 'br0', 'type', 'bridge');
	ip('-n', bridge, 'link', 'set', 'br0', 'up');
	for (const [index, host] of ['a', 'b'].entries()) {
		const namespace = namespaceOf(host);
		ip('-n', bridge, 'link', 'add', `v${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
		ip('-n', bridge, 'link', 'set', `v${host}`, 'master', 'br0');
		ip('-n', bridge, 'link', 'set', `v${host}`, 'up');
		ip('-n', namespace, 'addr', 'add', `${subnet}.${index + 1}/24`, 'brd', '+', 'dev', 'eth0');
		ip('-n', namespace, 'link', 'set', 'eth0', 'up');
		ip('-n', namespace, 'link', 'set', 'lo', 'up');
		ip('-n', namespace, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
	}
}

function removeSubnet(): void {
	for (const name of madeNamespaces.splice(0)) {
		try {
			ip('netns', 'del', name);
		} catch {
			// Already gone.
		}
	}
}

afterAll(removeSubnet);

/** avahi-daemon in namespace b publishing a printer (its name ends in a bidi override) and a NAS. */
function startAvahi(): ChildProcess {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'nd-avahi-'));
	const services = path.join(directory, 'services');
	const run = path.join(directory, 'run');
	execFileSync('mkdir', ['-p', services, run]);
	const group = (name: string, type: string, port: number) => `<?xml version="1.0" standalone='no'?>\n<!DOCTYPE service-group SYSTEM "avahi-service.dtd">\n<service-group><name>${name}</name><service><type>${type}</type><port>${port}</port></service></service-group>\n`;
	writeFileSync(path.join(services, 'printer.service'), group('Lab Printer\u202E', '_ipp._tcp', 631));
	writeFileSync(path.join(services, 'nas.service'), group('Lab NAS', '_http._tcp', 8080));
	const conf = path.join(directory, 'avahi-daemon.conf');
	writeFileSync(conf, `[server]\nhost-name=${avahiHostName}\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=eth0\nenable-dbus=no\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-workstation=no\n`);
	const script = `mount --bind ${services} /etc/avahi/services && mkdir -p /run/avahi-daemon && mount --bind ${run} /run/avahi-daemon && exec avahi-daemon -f ${conf} --no-drop-root --no-chroot`;
	const child = spawn('ip', ['netns', 'exec', namespaceOf('b'), 'sh', '-c', script], {stdio: 'ignore'});
	cleanups.push(async () => {
		child.kill('SIGKILL');
		if (child.exitCode === null && child.signalCode === null) {
			await new Promise((resolve) => child.once('exit', resolve));
		}

		rmSync(directory, {recursive: true, force: true});
	});
	return child;
}

/** A netdash browsing mDNS in namespace a, its `service-*` and `services-browsing` events put on `dashboard`'s bus as they are printed. */
function browseInto(dashboard: Dashboard): JsonChild {
	const browser = spawnJson(['--json', '--discover-protocols', 'mdns'], {prefix: ['ip', 'netns', 'exec', namespaceOf('a')]});
	readline.createInterface({input: browser.child.stdout}).on('line', (line) => {
		const {seq: _, at: __, ...event} = JSON.parse(line) as Record<string, unknown>;
		if (typeof event.type === 'string' && event.type.startsWith('service')) {
			dashboard.core.bus.emit(event as EventInput);
		}
	});
	cleanups.push(async () => {
		browser.child.kill('SIGKILL');
		await browser.exited;
	});
	return browser;
}

function resize(dashboard: Dashboard, columns: number, rows: number): void {
	Object.defineProperty(dashboard.stdout, 'columns', {configurable: true, get: () => columns});
	Object.defineProperty(dashboard.stdout, 'rows', {configurable: true, get: () => rows});
	dashboard.stdout.emit('resize');
}

describe('the Discovery pane over a real avahi-daemon on a subnet of namespaces', () => {
	skipEachIf(reason);

	it('lists avahi\'s host with its two services under it, names escaped; enter on one asks before connecting; after avahi\'s goodbye they show gone with "said bye" in the history; all within 80×24', async () => {
		makeSubnet();
		cleanups.push(removeSubnet);
		const dashboard = await open();
		resize(dashboard, 200, 40);
		const browser = browseInto(dashboard);
		await browser.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		const avahi = startAvahi();

		// Then one host, avahi's address and host name, with both services grouped under it
		const b = `${subnet}.2`;
		let frame = await dashboard.see((current) => current.includes('Lab NAS') && current.includes('Lab Printer'), 20_000);
		frame = await dashboard.see(`▾ ${b}  ${avahiHostName}.local · 2 services`);
		const lines = frame.split('\n');
		const host = lines.findIndex((line) => line.includes(`▾ ${b}`));
		expect(lines[host + 1]).toMatch(new RegExp(`● Lab Printer<U\\+202E>\\s+${b.replaceAll('.', '\\.')}\\s+631\\s+\\d+s\\s+fresh\\s+mdns\\s+_ipp\\._tcp`));
		expect(lines[host + 2]).toMatch(/● Lab NAS\s+\S+\s+8080\s+\d+s\s+fresh\s+mdns\s+_http\._tcp/);
		expect(frame).toMatch(/4 Discovery \(0 peers · 2 services on 1 host\)/);
		expect(frame).toContain(' browsing mdns');
		expect(frame).toMatch(/\d+s ago appeared\s+mdns Lab (NAS|Printer)/);

		// When enter is pressed on the NAS, it asks first (esc: no)
		await dashboard.type('4', '┏━ 4 Discovery');
		await dashboard.type('j', (current) => current.includes('›● Lab NAS'));
		frame = await dashboard.type(keys.enter, `connect to Lab NAS (_http._tcp) at ${b}:8080?`);
		frame = await dashboard.type(keys.escape, (current) => !current.includes('connect to Lab NAS'));
		expect(dashboard.core.openSockets).toBe(0);

		// At 80×24 the pane still lists both services (cut names end in …), and nothing is wider or taller than the terminal
		resize(dashboard, 80, 24);
		frame = await dashboard.see((current) => current.split('\n').length <= 24 && /● Lab Pr… 631\s+\d+s\s+mdns/.test(current) && /›● Lab NAS 8080\s+\d+s\s+mdns/.test(current));
		for (const line of frame.split('\n')) {
			expect(stringWidth(line), line).toBeLessThanOrEqual(80);
		}

		// When avahi stops cleanly it says goodbye: both services gone, and the history says so
		resize(dashboard, 200, 40);
		avahi.kill('SIGTERM');
		frame = await dashboard.see((current) => /○ Lab NAS/.test(current) && /○ Lab Printer/.test(current), 10_000);
		expect(frame).toMatch(/ago said bye\s+mdns Lab (NAS|Printer)/);
		expect(frame).toContain(`▾ ${b}  ${avahiHostName}.local · 2 services`);
		expect(frame).toMatch(/4 Discovery \(0 peers\)/);

		// No frame ever carried the bidi override raw
		expect(dashboard.frames.join('')).not.toContain('\u202E');
	});
});
