import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import process from 'node:process';

/*
 * A subnet of network namespaces for LAN discovery tests: hosts a, b, c, …
 * on a bridge that lives in a namespace of its own, all named with the
 * test's pid and removed by `remove()`. Every multicast and broadcast a
 * test sends stays on this bridge.
 */

function ip(...args: string[]): void {
	execFileSync('ip', args, {stdio: 'pipe'});
}

/** Options of a subnet. */
export type SubnetOptions = {
	/** Distinguishes subnets of different test files run at once. */
	tag: string;
	/** Host names, in address order. @default ['a', 'b', 'c'] */
	hosts?: readonly string[];
	/** Give every host an IPv6 link-local address too (and wait until it is usable). */
	isIpv6?: boolean;
};

/** A made subnet. */
export type Subnet = {
	/** `10.X.Y.N` of host `name` (a is .1). */
	addressOf(name: string): string;
	/** The namespace of host `name`. */
	namespaceOf(name: string): string;
	/** The directed broadcast of the subnet. */
	broadcast: string;
	/** Spawn `command` inside host `name`'s namespace (`ip netns exec` execs: the child's pid is the command's). */
	spawnIn(name: string, command: string[], options?: {stdio?: 'pipe' | 'ignore'}): ChildProcess;
	/** Kill what was spawned, delete the namespaces. */
	remove(): Promise<void>;
};

/** Make the namespaces, the bridge and one veth per host. */
export function makeSubnet(options: SubnetOptions): Subnet {
	const hosts = options.hosts ?? ['a', 'b', 'c'];
	const prefix = `nd-${options.tag}-${process.pid}`;
	const base = `10.${77 + (options.tag.length % 20)}.${(process.pid % 250) + 1}`;
	const namespaceOf = (name: string) => `${prefix}-${name}`;
	const addressOf = (name: string) => `${base}.${hosts.indexOf(name) + 1}`;
	const made: string[] = [];
	const children: ChildProcess[] = [];
	const bridge = namespaceOf('br');
	for (const name of [bridge, ...hosts.map((host) => namespaceOf(host))]) {
		ip('netns', 'add', name);
		made.push(name);
	}

	ip('-n', bridge, 'link', 'add', 'br0', 'type', 'bridge');
	ip('-n', bridge, 'link', 'set', 'br0', 'up');
	for (const host of hosts) {
		const namespace = namespaceOf(host);
		ip('-n', bridge, 'link', 'add', `v${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
		ip('-n', bridge, 'link', 'set', `v${host}`, 'master', 'br0');
		ip('-n', bridge, 'link', 'set', `v${host}`, 'up');
		if (options.isIpv6) {
			// No duplicate address detection: the link-local address is usable at once, not ≈ 1 s later.
			execFileSync('ip', ['netns', 'exec', namespace, 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.eth0.disable_ipv6=0'], {stdio: 'pipe'});
		} else {
			execFileSync('ip', ['netns', 'exec', namespace, 'sysctl', '-qw', 'net.ipv6.conf.eth0.disable_ipv6=1'], {stdio: 'pipe'});
		}

		ip('-n', namespace, 'addr', 'add', `${addressOf(host)}/24`, 'brd', '+', 'dev', 'eth0');
		ip('-n', namespace, 'link', 'set', 'eth0', 'up');
		ip('-n', namespace, 'link', 'set', 'lo', 'up');
		// Responders pick no outgoing interface for multicast: without a route for the groups they get ENETUNREACH.
		ip('-n', namespace, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
	}

	return {
		addressOf,
		namespaceOf,
		broadcast: `${base}.255`,
		spawnIn(name, command, spawnOptions = {}) {
			const child = spawn('ip', ['netns', 'exec', namespaceOf(name), ...command], {stdio: ['ignore', spawnOptions.stdio ?? 'pipe', spawnOptions.stdio ?? 'pipe']});
			children.push(child);
			return child;
		},
		async remove() {
			await Promise.all(children.map(async (child) => {
				if (child.exitCode === null && child.signalCode === null) {
					child.kill('SIGKILL');
					await new Promise((resolve) => child.once('exit', resolve));
				}
			}));
			for (const name of made) {
				try {
					ip('netns', 'del', name);
				} catch {
					// Already gone.
				}
			}

			made.length = 0;
		},
	};
}
