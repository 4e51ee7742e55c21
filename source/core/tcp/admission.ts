import net from 'node:net';
import ipaddr from 'ipaddr.js';
import {NetdashError} from '../errors.js';

/** Who may connect to netdash's listeners. */
export type AdmissionRules = {
	/** CIDRs (or single addresses) allowed; empty means everyone not denied. */
	allow: string[];
	/** CIDRs (or single addresses) refused. Deny wins when both match. */
	deny: string[];
	/** Open connections per listener; more are refused (`server.maxConnections`). */
	maxConnections: number;
};

/** The default: everyone, at most 100 connections per listener (as ncat). */
export const defaultAdmission: AdmissionRules = {allow: [], deny: [], maxConnections: 100};

/** A parsed rule: its text as the user wrote it (normalised) and its subnet. */
type Rule = {text: string; address: string; prefix: number; family: 'ipv4' | 'ipv6'};

/**
 * Parse `10.0.0.0/8`, `192.168.1.7`, `::1`, `fd00::/8` into a normalised
 * CIDR. Throws NetdashError('BAD_CIDR') with one line for anything else.
 *
 * Strict on purpose: ipaddr.js reads `127.0.0.010` as octal (127.0.0.8),
 * `0x7f.0.0.1` as hex and `10.1` as 10.0.0.1, so a rule could cover other
 * addresses than the ones it seems to name. The address must be what
 * `net.isIP` accepts (dotted decimal without leading zeros, no zone id) and
 * the prefix plain decimal. A rule in IPv4-mapped form
 * (`::ffff:10.0.0.0/104`) is the IPv4 rule it maps (`10.0.0.0/8`), because
 * clients are matched as IPv4 however they arrive.
 */
export function parseCidr(text: string): Rule {
	const trimmed = text.trim();
	const bad = () => new NetdashError('BAD_CIDR', `'${trimmed.slice(0, 50)}' is not an address or CIDR such as 10.0.0.0/8 or 192.168.1.7`);
	const [addressText = '', prefixText, ...rest] = trimmed.split('/');
	if (rest.length > 0 || addressText.includes('%') || net.isIP(addressText) === 0 || (prefixText !== undefined && !/^(0|[1-9]\d{0,2})$/.test(prefixText))) {
		throw bad();
	}

	let address = ipaddr.parse(addressText);
	let family: 'ipv4' | 'ipv6' = address.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
	let bits = prefixText === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefixText);
	if (bits > (family === 'ipv4' ? 32 : 128)) {
		throw bad();
	}

	if (address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() && bits >= 96) {
		address = address.toIPv4Address();
		family = 'ipv4';
		bits -= 96;
	}

	return {text: `${address.toString()}/${bits}`, address: address.toString(), prefix: bits, family};
}

/**
 * A client address as the family it really is: an IPv4-mapped IPv6 address
 * (from a dual-stack listener) is IPv4. Undefined when it is not an address
 * at all (a peer that reset before it was accepted has none).
 */
function unmapped(address: string | undefined): {address: string; family: 'ipv4' | 'ipv6'} | undefined {
	const kind = address === undefined ? 0 : net.isIP(address);
	if (kind === 4) {
		return {address: address!, family: 'ipv4'};
	}

	if (kind !== 6) {
		return undefined;
	}

	const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address!);
	return mapped ? {address: mapped[1]!, family: 'ipv4'} : {address: address!, family: 'ipv6'};
}

/** The rule given for a client whose address could not be read. */
export const unknownAddressRule = 'no known remote address (the client reset before it was accepted)';

/**
 * Admission rules compiled into `net.BlockList`s, one per family and list.
 * Deny is checked first, so an address matched by both lists is refused.
 *
 * Families are kept apart because `net.BlockList` maps IPv4 into IPv6 by
 * itself: one list holding `::/0` also matches every IPv4 address, so
 * `--deny ::/0` would shut out IPv4 clients while `--deny 0.0.0.0/0` left
 * IPv6 alone. Here `0.0.0.0/0` is every IPv4 client (plain or mapped) and
 * `::/0` every IPv6 client, and nothing else.
 */
export class Admission {
	#rules: AdmissionRules = defaultAdmission;
	#allow = compile([]);
	#deny = compile([]);
	#allowRules: Rule[] = [];
	#denyRules: Rule[] = [];

	/** The rules in force, normalised. */
	get rules(): AdmissionRules {
		return this.#rules;
	}

	/** Replace the rules (every CIDR is checked first: on a bad one nothing changes). */
	set(rules: Partial<AdmissionRules>): void {
		const allowRules = (rules.allow ?? this.#rules.allow).map((text) => parseCidr(text));
		const denyRules = (rules.deny ?? this.#rules.deny).map((text) => parseCidr(text));
		const maxConnections = rules.maxConnections ?? this.#rules.maxConnections;
		if (!Number.isInteger(maxConnections) || maxConnections < 1) {
			throw new NetdashError('BAD_LIMIT', `max connections must be a whole number of at least 1, not ${maxConnections}`);
		}

		this.#allow = compile(allowRules);
		this.#deny = compile(denyRules);
		this.#allowRules = allowRules;
		this.#denyRules = denyRules;
		this.#rules = {allow: allowRules.map((rule) => rule.text), deny: denyRules.map((rule) => rule.text), maxConnections};
	}

	/**
	 * Why this client is refused (the matching rule), or undefined when it may
	 * connect. Fails closed: a client whose address is missing or unreadable is
	 * refused whatever the rules, since no rule can be checked against it and
	 * admitting it would let any denied client through by resetting first.
	 */
	refusal(remoteAddress: string | undefined): string | undefined {
		const client = unmapped(remoteAddress);
		if (!client) {
			return unknownAddressRule;
		}

		const {address, family} = client;
		if (this.#denyRules.length === 0 && this.#allowRules.length === 0) {
			// No rules (the default): nothing to check per accept, the address only had to be known.
			return undefined;
		}

		if (this.#deny[family].check(address, family)) {
			const rule = this.#denyRules.find((candidate) => candidate.family === family && matches(candidate, address));
			return `deny ${rule?.text ?? '?'}`;
		}

		if (this.#allowRules.length > 0 && !this.#allow[family].check(address, family)) {
			return `not in allow ${this.#rules.allow.join(', ')}`;
		}

		return undefined;
	}
}

/** One BlockList per family, so that neither family's rules reach the other (see Admission). */
function compile(rules: Rule[]): Record<'ipv4' | 'ipv6', net.BlockList> {
	const lists = {ipv4: new net.BlockList(), ipv6: new net.BlockList()};
	for (const rule of rules) {
		lists[rule.family].addSubnet(rule.address, rule.prefix, rule.family);
	}

	return lists;
}

function matches(rule: Rule, address: string): boolean {
	const list = new net.BlockList();
	list.addSubnet(rule.address, rule.prefix, rule.family);
	return list.check(address, rule.family);
}
