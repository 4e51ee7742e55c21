/**
 * Synthetic mDNS responders for the LAN scenario: `--sources` addresses
 * (already on this namespace's eth0: `--subnet`.10, .11, …), each a host
 * `bench-N.local` announcing `--per-source` `_http._tcp` services in one
 * unsolicited response (PTR, SRV, TXT and the host's A record) every
 * `--interval-ms`, from its own address and port 5353 to 224.0.0.251. Each
 * round changes a TXT value, so every service is updated every round: the
 * store and the pane have work each time. Runs until killed.
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import {numberArg, report, roleArgs, runRole} from '../lib/role.js';

runRole(async () => {
	const args = roleArgs();
	const sources = numberArg(args, 'sources');
	const perSource = numberArg(args, 'per-source');
	const intervalMs = numberArg(args, 'interval-ms');
	const subnet = args.get('subnet')!;
	const sockets = await Promise.all(
		Array.from({length: sources}, async (_, index) => {
			const address = `${subnet}.${10 + index}`;
			const socket = dgram.createSocket({type: 'udp4', reuseAddr: true});
			socket.on('error', () => undefined);
			await new Promise<void>((resolve) => {
				socket.bind(5353, address, () => {
					socket.setMulticastInterface(address);
					socket.setMulticastTTL(1);
					resolve();
				});
			});
			return {socket, address, host: `bench-${index}.local`};
		}),
	);
	let round = 0;
	const announce = () => {
		round++;
		for (const {socket, address, host} of sockets) {
			const answers: dnsPacket.Answer[] = [];
			for (let service = 0; service < perSource; service++) {
				const instance = `${host.slice(0, -6)} web ${service}._http._tcp.local`;
				answers.push(
					{type: 'PTR', name: '_http._tcp.local', ttl: 120, data: instance},
					{type: 'SRV', name: instance, ttl: 120, flush: true, data: {target: host, port: 8000 + service, priority: 0, weight: 0}},
					{type: 'TXT', name: instance, ttl: 120, flush: true, data: [`round=${round}`, 'path=/']},
				);
			}

			answers.push({type: 'A', name: host, ttl: 120, flush: true, data: address});
			const packet = dnsPacket.encode({type: 'response', id: 0, flags: dnsPacket.AUTHORITATIVE_ANSWER, answers});
			socket.send(packet, 5353, '224.0.0.251', () => undefined);
		}
	};

	announce();
	report({type: 'ready', sources, services: sources * perSource});
	setInterval(announce, intervalMs);
	await new Promise(() => undefined);
});
