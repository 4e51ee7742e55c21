/**
 * SSDP (UPnP Device Architecture 1.1, §1) as pure functions: an HTTP-over-UDP
 * message parser that never throws, the M-SEARCH netdash sends, and a
 * reader of the few fields of a device description it shows. No socket here.
 */

/** The SSDP group and port. */
export const SSDP_GROUP = '239.255.255.250';
export const SSDP_PORT = 1900;
/** An SSDP message fits one datagram; UDA 1.1 asks for less than 1,500 bytes. Larger is not SSDP. */
export const MAX_SSDP_BYTES = 8192;
/** Header lines read from one message; a real one has about ten. */
export const MAX_HEADERS = 32;
/** Used when a device gives no usable CACHE-CONTROL: UDA 1.1 asks for at least 1,800 s. */
export const DEFAULT_MAX_AGE_S = 1800;

/** One parsed message. Header names are lower case; the first of a repeated header wins. */
export type SsdpMessage =
	| {kind: 'notify'; headers: Record<string, string>}
	| {kind: 'search'; headers: Record<string, string>}
	| {kind: 'response'; status: number; headers: Record<string, string>};

/** Why a datagram is not an SSDP message. */
export type SsdpError = 'too-large' | 'not-ssdp' | 'bad-header';

/** Parse one datagram; never throws. */
export function decodeSsdp(data: Buffer): SsdpMessage | {error: SsdpError} {
	if (data.length > MAX_SSDP_BYTES) {
		return {error: 'too-large'};
	}

	// Latin-1 keeps one character per byte: a header's bytes are never reinterpreted, and values are escaped at display.
	const text = data.toString('latin1');
	const end = text.indexOf('\r\n\r\n');
	const lines = (end === -1 ? text : text.slice(0, end)).split(/\r?\n/);
	const start = lines[0] ?? '';
	let kind: SsdpMessage['kind'];
	let status = 0;
	if (/^NOTIFY \* HTTP\/1\.[01]$/i.test(start)) {
		kind = 'notify';
	} else if (/^M-SEARCH \* HTTP\/1\.[01]$/i.test(start)) {
		kind = 'search';
	} else {
		const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/i.exec(start);
		if (!match) {
			return {error: 'not-ssdp'};
		}

		kind = 'response';
		status = Number(match[1]);
	}

	const headers: Record<string, string> = {};
	let count = 0;
	for (const line of lines.slice(1)) {
		if (line === '') {
			break;
		}

		const colon = line.indexOf(':');
		if (colon <= 0) {
			return {error: 'bad-header'};
		}

		const name = line.slice(0, colon).trim().toLowerCase();
		if (!/^[\w.-]{1,64}$/.test(name)) {
			return {error: 'bad-header'};
		}

		if (++count > MAX_HEADERS) {
			break;
		}

		// Own properties only, so a header named `__proto__` is a plain key.
		if (!Object.hasOwn(headers, name)) {
			Object.defineProperty(headers, name, {value: line.slice(colon + 1).trim(), enumerable: true, writable: true, configurable: true});
		}
	}

	return kind === 'response' ? {kind, status, headers} : {kind, headers};
}

/** The M-SEARCH netdash multicasts: `st` is `ssdp:all`, or one device's `uuid:…` when it is about to expire. */
export function encodeSearch(st = 'ssdp:all', mx = 2): Buffer {
	return Buffer.from(`M-SEARCH * HTTP/1.1\r\nHOST: ${SSDP_GROUP}:${SSDP_PORT}\r\nMAN: "ssdp:discover"\r\nMX: ${mx}\r\nST: ${st}\r\nUSER-AGENT: netdash UPnP/1.1 netdash\r\n\r\n`, 'latin1');
}

/** `max-age=1800` of a CACHE-CONTROL header, in seconds; undefined when there is none. */
export function maxAgeOf(cacheControl: string | undefined): number | undefined {
	const match = /(?:^|[,;\s])max-age\s*=\s*"?(\d{1,9})"?/i.exec(cacheControl ?? '');
	return match ? Number(match[1]) : undefined;
}

/** A USN (`uuid:X::urn:…`) or NT names its device by the `uuid:X` before `::`; other USNs are their own key. */
export function deviceKeyOf(usn: string): string {
	const cut = usn.indexOf('::');
	return (cut === -1 ? usn : usn.slice(0, cut)).trim();
}

/** True for a device type URN (`urn:schemas-upnp-org:device:MediaServer:1`), not a service or the root marker. */
export function isDeviceType(nt: string | undefined): nt is string {
	return nt !== undefined && /^urn:[^:]{1,128}:device:[^:]{1,128}:\d{1,4}$/i.test(nt);
}

/** What netdash shows of a device description. */
export type DeviceDescription = {
	friendlyName?: string;
	manufacturer?: string;
	model?: string;
	modelNumber?: string;
	deviceType?: string;
};

const descriptionFields = [['friendlyName', 'friendlyName'], ['manufacturer', 'manufacturer'], ['model', 'modelName'], ['modelNumber', 'modelNumber'], ['deviceType', 'deviceType']] as const;

const entities: Record<string, string> = {amp: '&', lt: '<', gt: '>', quot: '"', apos: '\''};

/** XML character references and the five named entities; anything else stays as written. */
export function unescapeXml(text: string): string {
	return text.replaceAll(/&(#x[\da-f]{1,6}|#\d{1,7}|amp|lt|gt|quot|apos);/gi, (whole: string, name: string) => {
		if (name.startsWith('#')) {
			const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
			return code <= 0x10_FFFF ? String.fromCodePoint(code) : whole;
		}

		return entities[name.toLowerCase()] ?? whole;
	});
}

/** The text of the first `<tag>…</tag>` (any namespace prefix) in `xml`; bounded patterns, so hostile text costs linear time. */
function elementText(xml: string, tag: string): string | undefined {
	const match = new RegExp(`<(?:[\\w-]{1,32}:)?${tag}(?:\\s[^<>]{0,256})?>([^<]{0,1024})</(?:[\\w-]{1,32}:)?${tag}\\s{0,8}>`).exec(xml);
	const value = match?.[1] === undefined ? undefined : unescapeXml(match[1]).trim();
	return value === '' ? undefined : value;
}

/**
 * The fields of one device in a description document: the device whose
 * `<UDN>` is `udn` when it is there (an embedded device shares its root's
 * LOCATION; its fields come before its UDN), else the first. Never throws;
 * a document that is not a description gives no fields.
 */
export function parseDescription(xml: string, udn?: string): DeviceDescription {
	let scope = xml;
	const at = udn === undefined ? -1 : xml.indexOf(`<UDN>${udn}</UDN>`);
	if (at !== -1) {
		// The `<device>` (or `<device attr…>`) that opens this one: the last before its UDN.
		const opening = [...xml.slice(0, at).matchAll(/<(?:[\w-]{1,32}:)?device[\s>]/g)].at(-1);
		scope = xml.slice(opening?.index ?? 0, at);
	}

	const description: DeviceDescription = {};
	for (const [field, tag] of descriptionFields) {
		const value = elementText(scope, tag);
		if (value !== undefined) {
			description[field] = value;
		}
	}

	return description;
}
