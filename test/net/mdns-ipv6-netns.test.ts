import {afterAll, afterEach, beforeEach, describe, expect, it} from 'vitest';
import {avahiHostName, removeAvahi, startAvahi, type Avahi} from '../helpers/avahi.js';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {missingTool, skipEachIf, whyNoNetns} from '../helpers/requires.js';
import {makeSubnet, type Subnet} from '../helpers/subnet.js';

/**
 * mDNS over IPv6 (ff02::fb) on a subnet of namespaces whose interfaces have
 * link-local IPv6 addresses, against a real avahi-daemon that speaks IPv6
 * only (use-ipv4=no, use-ipv6=yes): whatever netdash finds, it found over
 * IPv6. Every multicast stays on the test bridge.
 */

const reason = whyNoNetns() ?? missingTool('avahi-daemon');

let subnet: Subnet | undefined;
let instances: JsonChild[] = [];
let avahis: Avahi[] = [];

function net(): Subnet {
	if (!subnet) {
		throw new Error('no subnet');
	}

	return subnet;
}

async function cleanUp(): Promise<void> {
	for (const instance of instances) {
		instance.child.kill('SIGKILL');
	}

	await Promise.all(instances.map(async (instance) => instance.exited));
	instances = [];
	await subnet?.remove();
	subnet = undefined;
	for (const avahi of avahis) {
		removeAvahi(avahi);
	}

	avahis = [];
}

describe('mDNS over IPv6 link-local multicast', () => {
	skipEachIf(reason);

	beforeEach(() => {
		if (!reason) {
			subnet = makeSubnet({tag: 'mdns6', hosts: ['a', 'b'], isIpv6: true});
		}
	});

	afterEach(cleanUp);
	afterAll(cleanUp);

	it('joins ff02::fb on the interface and finds the services of an avahi that speaks only IPv6, with their IPv6 address', async () => {
		const netdash = spawnJson(['--json', '--discover-protocols', 'mdns'], {prefix: ['ip', 'netns', 'exec', net().namespaceOf('a')]});
		instances.push(netdash);
		const browsing = await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		// IPv4 on eth0, and IPv6 on the same interface by its link-local address.
		expect(browsing.interfaces).toHaveLength(2);
		expect(browsing.interfaces[0]).toBe(net().addressOf('a'));
		expect(browsing.interfaces[1]).toMatch(/^fe80::[\da-f:]+%eth0$/);

		const avahi = startAvahi(net(), 'b', {ipv4: false, ipv6: true});
		avahis.push(avahi);
		const printer = await netdash.waitFor((event) => event.type === 'service-discovered' && event.name === 'Lab Printer', 'Lab Printer', 15_000);
		expect(printer).toMatchObject({protocol: 'mdns', serviceType: '_ipp._tcp', host: `${avahiHostName}.local`, port: 631, txt: {rp: 'printers/lab', ty: 'Test Printer 9000'}});
		// Its address is avahi's link-local IPv6 address, with the interface it is reached through.
		expect(printer.address).toMatch(/^fe80::[\da-f:]+%eth0$/);
		expect(printer.address).not.toBe(browsing.interfaces[1]);

		// A clean stop says goodbye over IPv6 too.
		avahi.child.kill('SIGTERM');
		const left = await netdash.waitFor((event) => event.type === 'service-left' && event.name === 'Lab Printer', 'Lab Printer left', 10_000);
		expect(left.reason).toBe('bye');
	});
});
