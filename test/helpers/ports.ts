import dgram from 'node:dgram';
import {readFileSync} from 'node:fs';
import net from 'node:net';

/**
 * A UDP port that was free a moment ago on every address (discovery needs its port known
 * before its peers start, and binds 0.0.0.0). Drawn below the kernel's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range), where no socket bound to port 0 by another test
 * running meanwhile can land on it between this check and the bind.
 */
export async function freeUdpPort(): Promise<number> {
	const [low] = ephemeralRange();
	for (let attempt = 0; ; attempt++) {
		const port = 10_000 + Math.floor(Math.random() * Math.max(1, low - 10_000));
		const socket = dgram.createSocket('udp4');
		socket.on('error', () => {});
		// eslint-disable-next-line no-await-in-loop
		const isFree = await new Promise<boolean>((resolve) => {
			socket.once('error', () => {
				resolve(false);
			});
			socket.bind(port, '0.0.0.0', () => {
				resolve(true);
			});
		});
		// eslint-disable-next-line no-await-in-loop
		await new Promise<void>((resolve) => {
			try {
				socket.close(() => {
					resolve();
				});
			} catch {
				resolve(); // A socket whose bind failed may be closed already.
			}
		});
		if (isFree || attempt >= 50) {
			return port;
		}
	}
}

/** The kernel's range for ports bound to 0 (Linux's default when it cannot be read). */
function ephemeralRange(): [number, number] {
	try {
		const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
		return low! > 10_000 && high! >= low! ? [low!, high!] : [32_768, 60_999];
	} catch {
		return [32_768, 60_999];
	}
}

/** A TCP port on loopback where nothing listens (bound, then closed). */
export async function closedTcpPort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const {port} = server.address() as net.AddressInfo;
	await new Promise((resolve) => server.close(resolve));
	return port;
}

/** A plain dgram socket bound to a port of its own on `address` (a loopback address: discovery limits per source address). Close it when done. */
export async function boundUdpSocket(address: string): Promise<dgram.Socket> {
	const socket = dgram.createSocket('udp4');
	socket.on('error', () => {});
	await new Promise<void>((resolve) => {
		socket.bind(0, address, resolve);
	});
	return socket;
}
