import type os from 'node:os';
import {describe, expect, it} from 'vitest';
import {broadcastAddress, interfaceFor, listInterfaces} from '../../source/core/interfaces.js';

function ipv4(address: string, netmask: string, internal = false): os.NetworkInterfaceInfo {
	return {address, netmask, family: 'IPv4', mac: '02:00:00:00:00:01', internal, cidr: null};
}

function ipv6(address: string): os.NetworkInterfaceInfo {
	return {address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/64`, scopeid: 0};
}

// A made-up machine with one address of every shape discovery has to handle.
const fabricated: NodeJS.Dict<os.NetworkInterfaceInfo[]> = {
	lo: [ipv4('127.0.0.1', '255.0.0.0', true), {...ipv6('::1'), internal: true}],
	eth0: [ipv4('10.0.0.2', '255.255.255.0'), ipv6('fe80::1')],
	eth1: [ipv4('10.1.2.3', '255.255.240.0')],
	eth2: [ipv4('172.16.5.9', '255.255.0.0')],
	p2p30: [ipv4('192.168.9.5', '255.255.255.252')],
	p2p31: [ipv4('192.168.8.0', '255.255.255.254')],
	host32: [ipv4('203.0.113.7', '255.255.255.255')],
	gone: undefined,
};

describe('listInterfaces', () => {
	const list = listInterfaces(fabricated);

	it('lists every IPv4 address and skips IPv6 ones', () => {
		expect(list.map(info => `${info.name} ${info.address}`)).toEqual([
			'lo 127.0.0.1',
			'eth0 10.0.0.2',
			'eth1 10.1.2.3',
			'eth2 172.16.5.9',
			'p2p30 192.168.9.5',
			'p2p31 192.168.8.0',
			'host32 203.0.113.7',
		]);
	});

	it('works out prefix, network and directed broadcast from the netmask', () => {
		const rows = list.map(({name, prefixLength, cidr, broadcast, isLoopback}) => ({name, prefixLength, cidr, broadcast, isLoopback}));
		expect(rows).toEqual([
			{name: 'lo', prefixLength: 8, cidr: '127.0.0.0/8', broadcast: undefined, isLoopback: true},
			{name: 'eth0', prefixLength: 24, cidr: '10.0.0.0/24', broadcast: '10.0.0.255', isLoopback: false},
			{name: 'eth1', prefixLength: 20, cidr: '10.1.0.0/20', broadcast: '10.1.15.255', isLoopback: false},
			{name: 'eth2', prefixLength: 16, cidr: '172.16.0.0/16', broadcast: '172.16.255.255', isLoopback: false},
			{name: 'p2p30', prefixLength: 30, cidr: '192.168.9.4/30', broadcast: '192.168.9.7', isLoopback: false},
			{name: 'p2p31', prefixLength: 31, cidr: '192.168.8.0/31', broadcast: undefined, isLoopback: false},
			{name: 'host32', prefixLength: 32, cidr: '203.0.113.7/32', broadcast: undefined, isLoopback: false},
		]);
	});

	it('keeps the address and netmask as the system gave them', () => {
		expect(list[2]).toMatchObject({address: '10.1.2.3', netmask: '255.255.240.0'});
	});

	it('skips an address whose netmask is not contiguous', () => {
		expect(listInterfaces({odd: [ipv4('10.9.9.9', '255.0.255.0')]})).toEqual([]);
	});

	it('marks 127/8 as loopback even when the system does not say internal', () => {
		expect(listInterfaces({lo2: [ipv4('127.0.0.2', '255.0.0.0', false)]})[0]).toMatchObject({isLoopback: true, broadcast: undefined});
	});

	it('finds the real loopback interface on this machine, without a broadcast', () => {
		const loopback = listInterfaces().find(info => info.address === '127.0.0.1');
		expect(loopback).toMatchObject({isLoopback: true, broadcast: undefined, prefixLength: 8, cidr: '127.0.0.0/8'});
	});
});

describe('broadcastAddress', () => {
	it.each([
		['10.1.2.3', 20, '10.1.15.255'],
		['10.0.0.2', 24, '10.0.0.255'],
		['172.16.5.9', 16, '172.16.255.255'],
		['192.168.9.5', 30, '192.168.9.7'],
		['192.168.8.0', 31, '192.168.8.1'],
		['203.0.113.7', 32, '203.0.113.7'],
		['10.0.0.2', 0, '255.255.255.255'],
	])('%s/%i broadcasts to %s', (address, prefixLength, expected) => {
		expect(broadcastAddress(address, prefixLength)).toBe(expected);
	});

	it.each([
		['10.1', 24],
		['::1', 24],
		['10.0.0.256', 24],
		['10.0.0.1', 33],
		['10.0.0.1', -1],
		['10.0.0.1', 24.5],
	])('rejects %s/%s with BAD_ADDRESS', (address, prefixLength) => {
		expect(() => broadcastAddress(address, prefixLength)).toThrow(expect.objectContaining({code: 'BAD_ADDRESS'}));
	});
});

describe('interfaceFor', () => {
	const list = listInterfaces(fabricated);

	it.each([
		['10.0.0.77', 'eth0'],
		['10.1.15.254', 'eth1'],
		['10.1.0.1', 'eth1'],
		['172.16.200.1', 'eth2'],
		['192.168.9.6', 'p2p30'],
		['192.168.8.1', 'p2p31'],
		['203.0.113.7', 'host32'],
		['127.0.0.9', 'lo'],
		['::ffff:10.0.0.9', 'eth0'],
	])('puts %s on %s', (address, name) => {
		expect(interfaceFor(address, list)?.name).toBe(name);
	});

	it.each(['10.1.16.1', '203.0.113.8', '8.8.8.8', 'fe80::1', 'not an address', '10.1'])('finds no interface for %s', address => {
		expect(interfaceFor(address, list)).toBeUndefined();
	});

	it('prefers the most specific subnet when two contain the address', () => {
		const overlapping = listInterfaces({wide: [ipv4('10.0.0.1', '255.0.0.0')], narrow: [ipv4('10.2.3.1', '255.255.255.0')]});
		expect(interfaceFor('10.2.3.4', overlapping)?.name).toBe('narrow');
		expect(interfaceFor('10.2.4.4', overlapping)?.name).toBe('wide');
	});

	it('looks at the real machine by default', () => {
		expect(interfaceFor('127.0.0.1')?.isLoopback).toBe(true);
	});
});
