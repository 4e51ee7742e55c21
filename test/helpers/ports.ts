import dgram from 'node:dgram';
import net from 'node:net';

/** A UDP port on loopback that was free a moment ago (discovery needs its port known before its peers start). */
export async function freeUdpPort(): Promise<number> {
	const socket = dgram.createSocket('udp4');
	await new Promise<void>((resolve) => {
		socket.bind(0, '127.0.0.1', resolve);
	});
	const {port} = socket.address();
	await new Promise<void>((resolve) => {
		socket.close(resolve);
	});
	return port;
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
