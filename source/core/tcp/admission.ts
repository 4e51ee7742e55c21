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
 */
export function parseCidr(text: string): Rule {
	const trimmed = text.trim();
	try {
		const [address, prefix] = trimmed.includes('/') ? ipaddr.parseCIDR(trimmed) : [ipaddr.parse(trimmed), -1];
		const family = address.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
		const bits = prefix === -1 ? (family === 'ipv4' ? 32 : 128) : prefix;
		// ipaddr.js accepts shorthands like '10.1' as IPv4: insist on the full dotted form.
		if (family === 'ipv4' && !/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(trimmed)) {
			throw new Error('short form');
		}

		return {text: `${address.toString()}/${bits}`, address: address.toString(), prefix: bits, family};
	} catch {
		throw new NetdashError('BAD_CIDR', `'${trimmed.slice(0, 50)}' is not an address or CIDR such as 10.0.0.0/8 or 192.168.1.7`);
	}
}

/** An IPv4-mapped IPv6 address (from a dual-stack listener) as plain IPv4. */
function unmapped(address: string): {address: string; family: 'ipv4' | 'ipv6'} {
	if (net.isIPv4(address)) {
		return {address, family: 'ipv4'};
	}

	const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
	return mapped ? {address: mapped[1]!, family: 'ipv4'} : {address, family: 'ipv6'};
}

/**
 * Admission rules compiled into `net.BlockList`s. Deny is checked first, so
 * an address matched by both lists is refused.
 */
export class Admission {
	#rules: AdmissionRules = defaultAdmission;
	#allow = new net.BlockList();
	#deny = new net.BlockList();
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

	/** Why this client is refused (the matching rule), or undefined when it may connect. */
	refusal(remoteAddress: string): string | undefined {
		const {address, family} = unmapped(remoteAddress);
		if (this.#deny.check(address, family)) {
			const rule = this.#denyRules.find((candidate) => matches(candidate, address, family));
			return `deny ${rule?.text ?? '?'}`;
		}

		if (this.#allowRules.length > 0 && !this.#allow.check(address, family)) {
			return `not in allow ${this.#rules.allow.join(', ')}`;
		}

		return undefined;
	}
}

function compile(rules: Rule[]): net.BlockList {
	const list = new net.BlockList();
	for (const rule of rules) {
		list.addSubnet(rule.address, rule.prefix, rule.family);
	}

	return list;
}

function matches(rule: Rule, address: string, family: 'ipv4' | 'ipv6'): boolean {
	const list = new net.BlockList();
	list.addSubnet(rule.address, rule.prefix, rule.family);
	return list.check(address, family);
}
