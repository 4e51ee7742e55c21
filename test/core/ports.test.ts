import {afterEach, describe, expect, test, vi} from 'vitest';
import {parseHostPort, parsePort, parseServices, portClass, serviceName} from '../../source/core/ports.js';
import {thrown} from '../helpers/errors.js';


describe('portClass', () => {
	test('IANA range boundaries', () => {
		expect(portClass(0)).toBe('well-known');
		expect(portClass(1023)).toBe('well-known');
		expect(portClass(1024)).toBe('registered');
		expect(portClass(49_151)).toBe('registered');
		expect(portClass(49_152)).toBe('ephemeral');
		expect(portClass(65_535)).toBe('ephemeral');
	});

	test('a number that is not a port is rejected', () => {
		expect(thrown(() => portClass(65_536)).code).toBe('BAD_PORT');
		expect(thrown(() => portClass(-1)).code).toBe('BAD_PORT');
		expect(thrown(() => portClass(80.5)).code).toBe('BAD_PORT');
	});
});

describe('parseServices', () => {
	const sample = [
		'# Network services, Internet style',
		'',
		'tcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer',
		'ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol',
		'domain\t\t53/tcp',
		'domain\t\t53/udp',
		'http\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP',
		'www-alt 80/tcp',
		'   indented   8080/TCP   http-alt webcache  ',
		'  # a comment line that looks like: ftp 21/tcp',
		'broken',
		'noport\t/tcp',
		'toolarge\t70000/tcp',
		'letters\tabc/tcp',
		'crlf\t7/tcp\r',
	].join('\n');

	test('maps port/protocol to the first name and ignores aliases, comments and junk', () => {
		const services = parseServices(sample);
		expect(Object.fromEntries(services)).toEqual({
			'1/tcp': 'tcpmux',
			'22/tcp': 'ssh',
			'53/tcp': 'domain',
			'53/udp': 'domain',
			'80/tcp': 'http',
			'8080/tcp': 'indented',
			'7/tcp': 'crlf',
		});
	});

	test('empty text gives an empty map', () => {
		expect(parseServices('').size).toBe(0);
	});
});

describe('serviceName', () => {
	afterEach(() => {
		vi.doUnmock('node:fs');
		vi.resetModules();
	});

	test('reads this machine\'s /etc/services', () => {
		expect(serviceName(22)).toBe('ssh');
		expect(serviceName(22, 'tcp')).toBe('ssh');
		expect(serviceName(53, 'udp')).toBe('domain');
		expect(serviceName(1)).toBe('tcpmux');
		expect(serviceName(65_000)).toBeUndefined();
	});

	test('a missing /etc/services gives no names and no error', async () => {
		// Given a fresh module whose file read fails
		vi.resetModules();
		vi.doMock('node:fs', () => ({
			readFileSync() {
				throw Object.assign(new Error('ENOENT: no such file or directory'), {code: 'ENOENT'});
			},
		}));
		const fresh = await import('../../source/core/ports.js');
		// Then every lookup is undefined
		expect(fresh.serviceName(22)).toBeUndefined();
		expect(fresh.serviceName(80, 'udp')).toBeUndefined();
	});
});

describe('parsePort', () => {
	test('decimal digits 0..65535', () => {
		expect(parsePort('80')).toBe(80);
		expect(parsePort('1')).toBe(1);
		expect(parsePort('65535')).toBe(65_535);
		expect(parsePort('0', {allowZero: true})).toBe(0);
		expect(parsePort('08080')).toBe(8080);
	});

	test('out of range', () => {
		const error = thrown(() => parsePort('70000'));
		expect(error.code).toBe('BAD_PORT');
		expect(error.message).toBe('port 70000 is out of range (0–65535)');
		expect(thrown(() => parsePort('65536')).message).toBe('port 65536 is out of range (0–65535)');
		expect(thrown(() => parsePort('99999999999999999999999')).code).toBe('BAD_PORT');
	});

	test('zero is not a destination unless allowed', () => {
		expect(thrown(() => parsePort('0')).message).toBe('port 0 is not a destination');
		expect(thrown(() => parsePort('0', {allowZero: false})).message).toBe('port 0 is not a destination');
	});

	test('anything but plain digits is not a port number', () => {
		expect(thrown(() => parsePort('abc')).message).toBe('\'abc\' is not a port number');
		for (const text of ['-1', '1e3', ' 80', '80 ', '+80', '0x50', '8.0', '80a', '٨٠']) {
			const error = thrown(() => parsePort(text));
			expect(error.code).toBe('BAD_PORT');
			expect(error.message).toBe(`'${text}' is not a port number`);
		}

		expect(thrown(() => parsePort('')).message).toBe('no port number given');
		expect(thrown(() => parsePort('\u001B[2J')).message).toBe('\'^[[2J\' is not a port number');
	});
});

describe('parseHostPort', () => {
	test('host:port, bracketed IPv6 and a bare port', () => {
		expect(parseHostPort('localhost:80', {})).toEqual({host: 'localhost', port: 80});
		expect(parseHostPort('127.0.0.1:8080', {})).toEqual({host: '127.0.0.1', port: 8080});
		expect(parseHostPort('[::1]:80', {})).toEqual({host: '::1', port: 80});
		expect(parseHostPort('[fe80::1%eth0]:80', {})).toEqual({host: 'fe80::1%eth0', port: 80});
		expect(parseHostPort('0.0.0.0:0', {allowZero: true})).toEqual({host: '0.0.0.0', port: 0});
		expect(parseHostPort('my-host.example_1:443', {})).toEqual({host: 'my-host.example_1', port: 443});
	});

	test('an empty host takes the default', () => {
		expect(parseHostPort(':80', {defaultHost: '0.0.0.0'})).toEqual({host: '0.0.0.0', port: 80});
		expect(parseHostPort('80', {defaultHost: '::'})).toEqual({host: '::', port: 80});
		expect(parseHostPort(':8080', {})).toEqual({host: '127.0.0.1', port: 8080});
	});

	test('requireHost rejects text without one', () => {
		const error = thrown(() => parseHostPort(':80', {defaultHost: 'localhost', requireHost: true}));
		expect(error.code).toBe('BAD_ADDRESS');
		expect(error.message).toBe('\':80\' has no host (write HOST:PORT)');
		expect(thrown(() => parseHostPort('80', {requireHost: true})).code).toBe('BAD_ADDRESS');
	});

	test('port 0 needs allowZero', () => {
		const error = thrown(() => parseHostPort('0.0.0.0:0', {}));
		expect(error.code).toBe('BAD_PORT');
		expect(error.message).toBe('\'0.0.0.0:0\': port 0 is not a destination');
	});

	test('a missing or bad port quotes the input', () => {
		const missing = thrown(() => parseHostPort('host:', {}));
		expect(missing.code).toBe('BAD_PORT');
		expect(missing.message).toBe('\'host:\' has no port after \':\'');
		expect(thrown(() => parseHostPort('host:70000', {})).message).toBe('\'host:70000\': port 70000 is out of range (0–65535)');
		expect(thrown(() => parseHostPort('host:-1', {})).message).toBe('\'host:-1\': \'-1\' is not a port number');
		expect(thrown(() => parseHostPort(' 80', {})).code).toBe('BAD_PORT');
		expect(thrown(() => parseHostPort('1e3', {})).code).toBe('BAD_PORT');
		expect(thrown(() => parseHostPort('[::1]', {})).message).toBe('\'[::1]\' has no port (write [::1]:PORT)');
		expect(thrown(() => parseHostPort('[::1]:', {})).code).toBe('BAD_PORT');
		expect(thrown(() => parseHostPort('', {})).code).toBe('BAD_PORT');
	});

	test('a malformed host quotes the input', () => {
		const colons = thrown(() => parseHostPort(':::', {}));
		expect(colons.code).toBe('BAD_ADDRESS');
		expect(colons.message).toBe('\':::\' is not host:port (an IPv6 address needs brackets, as in [::1]:80)');
		expect(thrown(() => parseHostPort('::1:80', {})).code).toBe('BAD_ADDRESS');
		expect(thrown(() => parseHostPort('[::1', {})).message).toBe('\'[::1\' has \'[\' without a closing \']\'');
		expect(thrown(() => parseHostPort('[::1]80', {})).message).toBe('\'[::1]80\' needs \':\' between \']\' and the port');
		expect(thrown(() => parseHostPort('[]:80', {})).code).toBe('BAD_ADDRESS');
		expect(thrown(() => parseHostPort('[127.0.0.1]:80', {})).message).toBe('\'[127.0.0.1]:80\': \'127.0.0.1\' in brackets is not an IPv6 address');
		expect(thrown(() => parseHostPort('bad host:80', {})).message).toBe('\'bad host:80\': \'bad host\' is not a host name or address');
		expect(thrown(() => parseHostPort('evil\u001B]0;x\u0007:80', {})).message).toBe('\'evil^[]0;x^G:80\': \'evil^[]0;x^G\' is not a host name or address');
	});
});
