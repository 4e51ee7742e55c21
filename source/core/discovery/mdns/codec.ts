/**
 * mDNS packets through dns-packet (a well-kept codec; no hand-written DNS
 * parsing here): decode never throws, names of instances are unescaped,
 * TXT strings become key=value pairs within caps.
 */
import dnsPacket, {type Answer, type DecodedPacket, type Question} from 'dns-packet';

/** The mDNS group and port (RFC 6762). */
export const MDNS_GROUP = '224.0.0.251';
/** The IPv6 link-local mDNS group. */
export const MDNS_GROUP_V6 = 'ff02::fb';
export const MDNS_PORT = 5353;
/** The meta-query that lists every service type on the link (RFC 6763 §9). */
export const SERVICE_TYPES = '_services._dns-sd._udp.local';
/** Larger than any mDNS packet on an Ethernet link with jumbo frames (RFC 6762 §17: 9000 bytes). */
export const MAX_PACKET_BYTES = 9000;

/** A decoded packet, or why it was dropped. */
export type Decoded = {packet: DecodedPacket} | {reason: 'too-large' | 'malformed'};

/** Decode one datagram; never throws. */
export function decodeMdns(data: Buffer): Decoded {
	if (data.length > MAX_PACKET_BYTES) {
		return {reason: 'too-large'};
	}

	// dns-packet trusts the header's counts: random bytes claiming thousands of records cost it milliseconds each
	// (measured: ≈ 16 ms per random datagram). A question takes at least 5 bytes and a record 11: refuse counts the size cannot hold.
	if (data.length < 12 || (data.readUInt16BE(4) * 5) + ((data.readUInt16BE(6) + data.readUInt16BE(8) + data.readUInt16BE(10)) * 11) > data.length - 12) {
		return {reason: 'malformed'};
	}

	try {
		const packet = dnsPacket.decode(data);
		return Array.isArray(packet.answers) ? {packet} : {reason: 'malformed'};
	} catch {
		return {reason: 'malformed'};
	}
}

/** A query (QM: answers go to the group, so every browser on the link learns from them). */
export function encodeQuery(questions: readonly Question[]): Buffer {
	return dnsPacket.encode({type: 'query', id: 0, flags: 0, questions: [...questions]});
}

/** Every record of a response, answers then additionals then authorities. */
export function recordsOf(packet: DecodedPacket): Answer[] {
	return [...(packet.answers ?? []), ...(packet.additionals ?? []), ...(packet.authorities ?? [])];
}

/** `Lab\.Printer._ipp._tcp.local` with type `_ipp._tcp.local` → `Lab.Printer`; undefined when the name is not of that type. */
export function instanceLabel(fqdn: string, type: string): string | undefined {
	if (!fqdn.toLowerCase().endsWith(`.${type.toLowerCase()}`)) {
		return undefined;
	}

	return fqdn.slice(0, -(type.length + 1)).replaceAll(/\\(.)/g, '$1');
}

/** The service type of an instance name: the last three labels (`_ipp._tcp.local`), when they look like one. */
export function typeOfInstance(fqdn: string): string | undefined {
	const match = /(?:^|[^\\])\.(_[^.]+\._(?:tcp|udp)\.local)$/i.exec(fqdn);
	return match?.[1];
}

/** True for a service type name: `_name._tcp.local` or `_name._udp.local`. */
export function isServiceType(name: string): boolean {
	return /^_[^.]{1,63}\._(?:tcp|udp)\.local$/i.test(name);
}

/** TXT strings (`key=value`, or a bare `key` for a boolean) as pairs; at most `maxPairs`, each part cut to `maxBytes`. */
export function txtPairs(data: unknown, maxPairs = 32, maxBytes = 255): Record<string, string> {
	const strings = Array.isArray(data) ? data : [data];
	const pairs: Record<string, string> = {};
	let count = 0;
	for (const item of strings) {
		if (count >= maxPairs) {
			break;
		}

		const text = Buffer.isBuffer(item) ? item.toString('utf8') : (typeof item === 'string' ? item : '');
		if (text === '') {
			continue;
		}

		const equals = text.indexOf('=');
		const key = (equals === -1 ? text : text.slice(0, equals)).slice(0, maxBytes);
		// RFC 6763 §6.4: the first occurrence of a key wins; keys are case-insensitive.
		if (key === '' || Object.keys(pairs).some((known) => known.toLowerCase() === key.toLowerCase())) {
			continue;
		}

		Object.defineProperty(pairs, key, {value: equals === -1 ? '' : text.slice(equals + 1, equals + 1 + maxBytes), enumerable: true, writable: true, configurable: true});
		count++;
	}

	return pairs;
}
