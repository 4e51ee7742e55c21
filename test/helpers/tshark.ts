import {execFileSync, spawnSync} from 'node:child_process';

/** tshark with every checksum checked, so a wrong one shows up in the expert info. */
const checksums = ['-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];

/** Run tshark on a capture file; returns stdout (throws with stderr on a non-zero exit). */
export function tshark(file: string, args: string[]): string {
	return execFileSync('tshark', ['-n', '-r', file, ...checksums, ...args], {encoding: 'latin1', maxBuffer: 1024 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe']});
}

/** tshark's stdout, stderr and exit status, for files that may be cut short. */
export function tsharkRaw(file: string, args: string[]): {status: number | null; stdout: string; stderr: string} {
	const result = spawnSync('tshark', ['-n', '-r', file, ...args], {encoding: 'latin1', maxBuffer: 1024 * 1024 * 1024});
	return {status: result.status, stdout: result.stdout, stderr: result.stderr};
}

/**
 * "Follow TCP stream" as tshark does it (`-qz follow,tcp,raw,N`): the bytes
 * the stream's first node (the client, who sent the SYN) sent, and those the
 * other sent, each reassembled in order.
 */
export function followTcp(file: string, stream: number): {client: Buffer; server: Buffer; nodes: string[]} {
	const text = tshark(file, ['-qz', `follow,tcp,raw,${stream}`]);
	const client: string[] = [];
	const server: string[] = [];
	const nodes: string[] = [];
	let isBody = false;
	for (const line of text.split('\n')) {
		if (line.startsWith('Node ')) {
			nodes.push(line.replace(/^Node \d+: /, ''));
			isBody = nodes.length === 2;
			continue;
		}

		if (!isBody || line === '') {
			continue;
		}

		if (line.startsWith('=')) {
			break;
		}

		(line.startsWith('\t') ? server : client).push(line.trim());
	}

	return {client: Buffer.from(client.join(''), 'hex'), server: Buffer.from(server.join(''), 'hex'), nodes};
}

/** The layers netdash writes itself. */
const ownLayers = new Set(['Frame', 'Ethernet', 'IPv4', 'IPv6', 'TCP', 'UDP', 'ICMP', 'ICMPv6']);

/**
 * tshark's expert info (`-qz expert`), checksums checked, as one line per
 * finding (`Warns: 1 Sequence TCP …`) about the layers netdash writes. What
 * it says above them is left out: random test payload on a random port is
 * sometimes taken by a heuristic dissector (RTCP, seen in CI: "Malformed
 * RTCP … not NULL padded") and called malformed, which says nothing of the
 * capture.
 */
export function expertInfo(file: string): string {
	let section = '';
	const findings: string[] = [];
	for (const line of tshark(file, ['-qz', 'expert']).split('\n')) {
		const heading = /^(\w+) \(\d+\)/.exec(line);
		if (heading) {
			section = heading[1]!;
			continue;
		}

		const row = /^\s+\d+\s+\S+\s+(\S+)\s/.exec(line);
		if (row && ownLayers.has(row[1]!)) {
			findings.push(`${section}: ${line.trim()}`);
		}
	}

	return findings.join('\n');
}

/** What in the expert info means the capture does not look like the wire: malformed packets, holes, retransmissions, bad checksums. */
export const wireProblems = /malformed|not captured|retransmission|out-of-order|bad checksum|checksum.*(incorrect|bad)|dup ack|zero window|\berror/i;

/**
 * Send one datagram until netdash has read it: while a capture writer lags
 * (a loaded machine), netdash drops what arrives unread and counts it
 * (`datagrams-dropped`), as the kernel would; a dropped datagram is in no
 * capture either, so sending it again keeps the comparison exact.
 */
export async function sendUntilReceived(send: () => void, receivedCount: () => number, attempts = 20): Promise<void> {
	const before = receivedCount();
	for (let attempt = 0; attempt < attempts; attempt++) {
		send();
		const deadline = Date.now() + 1000;
		while (Date.now() < deadline) {
			if (receivedCount() > before) {
				return;
			}

			await new Promise((resolve) => setTimeout(resolve, 10));
		}
	}

	throw new Error(`a datagram was not received after ${attempts} attempts`);
}
