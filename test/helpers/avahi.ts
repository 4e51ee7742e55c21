import {execFileSync, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import type {Subnet} from './subnet.js';

/*
 * A real avahi-daemon inside a test namespace, publishing a printer and a
 * NAS. Its services and pid directories are bind-mounted there only (`ip
 * netns exec` gives the command a private mount namespace), so no avahi on
 * the host ever sees these services.
 */

/** The host name the test avahi publishes. */
export const avahiHostName = `nd-avahi-${process.pid}`;

const printer = `<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>Lab Printer</name>
  <service><type>_ipp._tcp</type><port>631</port><txt-record>rp=printers/lab</txt-record><txt-record>ty=Test Printer 9000</txt-record></service>
</service-group>
`;
const nas = `<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>Lab NAS</name>
  <service><type>_http._tcp</type><port>8080</port><txt-record>path=/admin</txt-record></service>
</service-group>
`;

/** A started avahi and the directory to remove after it. */
export type Avahi = {child: ChildProcess; directory: string};

/** avahi-daemon in `host`'s namespace, over IPv4 and/or IPv6. */
export function startAvahi(subnet: Subnet, host: string, protocols: {ipv4: boolean; ipv6: boolean} = {ipv4: true, ipv6: false}): Avahi {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'nd-avahi-'));
	const services = path.join(directory, 'services');
	const run = path.join(directory, 'run');
	execFileSync('mkdir', ['-p', services, run]);
	writeFileSync(path.join(services, 'printer.service'), printer);
	writeFileSync(path.join(services, 'nas.service'), nas);
	const conf = path.join(directory, 'avahi-daemon.conf');
	const yes = (isOn: boolean) => (isOn ? 'yes' : 'no');
	writeFileSync(conf, `[server]\nhost-name=${avahiHostName}\nuse-ipv4=${yes(protocols.ipv4)}\nuse-ipv6=${yes(protocols.ipv6)}\nallow-interfaces=eth0\nenable-dbus=no\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-workstation=no\n`);
	const script = `mount --bind ${services} /etc/avahi/services && mkdir -p /run/avahi-daemon && mount --bind ${run} /run/avahi-daemon && exec avahi-daemon -f ${conf} --no-drop-root --no-chroot`;
	// `ip netns exec` and `sh` both exec: the child's pid is avahi's, so signals reach it.
	return {child: subnet.spawnIn(host, ['sh', '-c', script]), directory};
}

/** Remove an avahi's directory (the subnet kills the process). */
export function removeAvahi(avahi: Avahi): void {
	rmSync(avahi.directory, {recursive: true, force: true});
}
