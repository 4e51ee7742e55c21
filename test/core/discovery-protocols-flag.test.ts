import {describe, expect, it} from 'vitest';
import {parseDiscoveryFlags} from '../../source/options.js';

describe('choosing discovery protocols on the command line', () => {
	it('--discover alone runs every protocol: netdash, mDNS, SSDP and Syncthing', () => {
		expect(parseDiscoveryFlags({discover: ''})?.protocols).toEqual(['netdash', 'mdns', 'ssdp', 'syncthing']);
	});

	it('--broadcast-address pins discovery to its targets: only netdash runs unless the others are named', () => {
		expect(parseDiscoveryFlags({discover: '', broadcastAddress: ['127.0.0.1:9']})?.protocols).toEqual(['netdash']);
		expect(parseDiscoveryFlags({discover: '', broadcastAddress: ['127.0.0.1:9'], discoverProtocols: 'netdash,mdns'})?.protocols).toEqual(['netdash', 'mdns']);
	});

	it('--discover-protocols chooses, turns discovery on by itself, and names what it does not know', () => {
		expect(parseDiscoveryFlags({discoverProtocols: 'mdns, Syncthing,mdns'})?.protocols).toEqual(['mdns', 'syncthing']);
		expect(() => parseDiscoveryFlags({discoverProtocols: 'mdns,bonjour'})).toThrow("--discover-protocols takes a comma-separated list of netdash, mdns, ssdp, syncthing, not 'bonjour'");
		expect(() => parseDiscoveryFlags({discoverProtocols: ''})).toThrow('--discover-protocols takes');
	});

	it('--discover-max-ttl is read in seconds, at least one, and only with discovery', () => {
		expect(parseDiscoveryFlags({discover: '', discoverMaxTtl: '2.5'})?.maxTtlMs).toBe(2500);
		expect(() => parseDiscoveryFlags({discover: '', discoverMaxTtl: '0.5'})).toThrow('at least 1 second');
		expect(() => parseDiscoveryFlags({discoverMaxTtl: '5'})).toThrow('--discover-max-ttl only applies to discovery: add --discover');
	});
});
