import {afterEach, describe, expect, it} from 'vitest';
import {Bus} from '../../source/core/bus.js';
import type {PeerFields} from '../../source/core/events.js';
import {ServiceTable, type ServiceSighting} from '../../source/core/discovery/services/service-table.js';
import {Store} from '../../source/core/store/store.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		cleanup();
	}
});

/** A bus, a store on it, and the real service table every LAN protocol reports into. */
function lan(options?: ConstructorParameters<typeof Store>[1]) {
	const bus = new Bus();
	const store = new Store(bus, options);
	cleanups.push(() => {
		store.dispose();
	});
	const table = new ServiceTable((event) => bus.emit(event));
	const snapshot = () => {
		store.flush();
		return store.getSnapshot();
	};

	return {bus, store, table, snapshot};
}

const printer: ServiceSighting = {protocol: 'mdns', key: 'Lab Printer._ipp._tcp.local', name: 'Lab Printer', serviceType: '_ipp._tcp', host: 'box.local', address: '10.0.0.2', port: 631, txt: {rp: 'lab'}, details: {}};
const nas: ServiceSighting = {...printer, key: 'Lab NAS._http._tcp.local', name: 'Lab NAS', serviceType: '_http._tcp', port: 8080, txt: {}};
const tv: ServiceSighting = {protocol: 'ssdp', key: 'uuid:tv::upnp:rootdevice', name: 'Living Room TV', serviceType: 'upnp:rootdevice', host: '10.0.0.3', address: '10.0.0.3', port: 1400, txt: {}, details: {model: 'X'}};
const sync: ServiceSighting = {protocol: 'syncthing', key: 'ABCDEFG-HIJKLMN', name: 'ABCDEFG', serviceType: 'syncthing', host: '10.0.0.3', address: '10.0.0.3', port: null, txt: {}, details: {}};

function peer(instanceId: string, fields: Partial<PeerFields> = {}): PeerFields {
	return {instanceId, name: 'bench-box', address: '10.0.0.3', port: 47_474, ports: [22], state: 'fresh', rttMs: null, firstSeen: 1, lastSeen: 1, ...fields};
}

describe('the store folds every discovery protocol into one table of hosts', () => {
	it('services and netdash peers are grouped under their host address, each with protocol, name, state and whether enter can connect', () => {
		const {bus, table, snapshot} = lan();
		table.see(printer, 10_000, 1000);
		table.see(tv, 10_000, 1000);
		table.see(nas, 10_000, 1000);
		bus.emit({type: 'peer-discovered', via: 'announce', ...peer('aaaaaaaaaaaaaaaa')});
		table.see(sync, 10_000, 1000);

		const {hosts} = snapshot();
		expect(hosts.map((host) => [host.address, host.name, host.state, host.services.map((service) => `${service.protocol} ${service.name}`)])).toEqual([
			['10.0.0.2', 'box.local', 'fresh', ['mdns Lab Printer', 'mdns Lab NAS']],
			['10.0.0.3', '10.0.0.3', 'fresh', ['ssdp Living Room TV', 'netdash bench-box', 'syncthing ABCDEFG']],
		]);
		expect(hosts[0]!.services[0]).toMatchObject({serviceType: '_ipp._tcp', ports: [631], isTcp: true, state: 'fresh'});
		// A UPnP device's port is its description's, not a service to dial; Syncthing gives none; a peer offers its listeners.
		expect(hosts[1]!.services.map((service) => service.isTcp)).toEqual([false, true, false]);
		expect(hosts[1]!.services[1]).toMatchObject({ports: [22], serviceType: 'netdash'});
	});

	it('a service that goes stale, then expires, stays listed as gone and the history says it expired', () => {
		const {table, snapshot} = lan();
		table.see(printer, 2000, 1000);
		table.see(nas, 60_000, 1000);
		table.tick(3000);
		let {hosts, lanHistory} = snapshot();
		expect(hosts[0]!.services.map((service) => service.state)).toEqual(['stale', 'fresh']);
		expect(hosts[0]!.state).toBe('fresh');

		table.tick(3000 + 1000);
		({hosts, lanHistory} = snapshot());
		// Gone services are listed after the live ones of their host
		expect(hosts[0]!.services.map((service) => [service.name, service.state])).toEqual([['Lab NAS', 'fresh'], ['Lab Printer', 'gone']]);
		expect(lanHistory.map((row) => `${row.kind} ${row.name}`)).toEqual(['appeared Lab Printer', 'appeared Lab NAS', 'expired Lab Printer']);

		// Heard again: fresh, back in its place, and it appeared again
		table.see(printer, 2000, 5000);
		({hosts, lanHistory} = snapshot());
		expect(hosts[0]!.services.map((service) => [service.name, service.state])).toEqual([['Lab Printer', 'fresh'], ['Lab NAS', 'fresh']]);
		expect(lanHistory.at(-1)).toMatchObject({kind: 'appeared', name: 'Lab Printer', protocol: 'mdns', address: '10.0.0.2', port: 631});
	});

	it('a goodbye then the same service again is a restart; a netdash peer with a new instance id is one restart, not a bye', () => {
		const {bus, table, snapshot} = lan();
		table.see(printer, 10_000, 1000);
		table.remove('mdns', printer.key, 'bye');
		expect(snapshot().hosts[0]!.services[0]!.state).toBe('gone');
		table.see(printer, 10_000, 2000);

		bus.emit({type: 'peer-discovered', via: 'announce', ...peer('aaaaaaaaaaaaaaaa')});
		bus.emit({type: 'peer-left', reason: 'restarted', ...peer('aaaaaaaaaaaaaaaa')});
		bus.emit({type: 'peer-discovered', via: 'announce', restartOf: 'aaaaaaaaaaaaaaaa', ...peer('bbbbbbbbbbbbbbbb')});
		bus.emit({type: 'peer-left', reason: 'bye', ...peer('bbbbbbbbbbbbbbbb')});

		const {hosts, lanHistory} = snapshot();
		expect(lanHistory.map((row) => `${row.kind} ${row.protocol} ${row.name}`)).toEqual([
			'appeared mdns Lab Printer',
			'bye mdns Lab Printer',
			'restarted mdns Lab Printer',
			'appeared netdash bench-box',
			'restarted netdash bench-box',
			'bye netdash bench-box',
		]);
		// The old instance is not kept beside the new one; a host with nothing live is listed last
		expect(hosts.map((host) => host.state)).toEqual(['fresh', 'gone']);
		expect(hosts[1]!.services.map((service) => `${service.key} ${service.state}`)).toEqual(['bbbbbbbbbbbbbbbb gone']);
	});

	it('gone services and the history are bounded, and unchanged hosts keep their identity between snapshots', () => {
		const {bus, table, snapshot} = lan({maxLanGone: 3, maxLanHistory: 5});
		for (let index = 0; index < 10; index++) {
			table.see({...printer, key: `p${index}`, name: `P${index}`}, 10_000, 1000);
			table.remove('mdns', `p${index}`, 'bye');
		}

		let {hosts, lanHistory} = snapshot();
		expect(hosts[0]!.services.map((service) => service.name)).toEqual(['P7', 'P8', 'P9']);
		expect(lanHistory).toHaveLength(5);
		expect(lanHistory.at(-1)).toMatchObject({kind: 'bye', name: 'P9'});

		const before = snapshot();
		bus.emit({type: 'listener-closed', listener: 'L9', reason: 'closed'} as never);
		({hosts, lanHistory} = snapshot());
		expect(hosts).toBe(before.hosts);
		expect(lanHistory).toBe(before.lanHistory);
	});
});
