import v8 from 'node:v8';
import {NetdashError} from '../errors.js';
import {parseTemplate, type ReplyTemplate} from './template.js';

/**
 * Auto-reply rules as a person writes them, and their patterns compiled
 * safely. Pure apart from turning on V8's linear-time regexp engine once.
 */

/** What closes the conversation after a reply (TCP only). */
export type RuleThen = 'close' | 'reset';

/** A rule as given: by `--respond`, `:respond` or the JSON `respond` command. */
export type RuleSpec = {
	/** A JavaScript regular expression (`/…/ms` for flags), matched against each message, chunk or datagram. */
	pattern: string;
	/** The reply template (see template.ts). */
	reply: string;
	/** Sockets it applies to: listeners (their connections), connections, UDP sockets. Undefined: all. */
	on?: string[];
	/** Wait this long before replying, in ms. @default 0 */
	delayMs?: number;
	/** After the reply: close (FIN after it) or reset (RST once it has left the queue). TCP only. */
	then?: RuleThen;
	/** Reply at most this many times, then the rule is spent. */
	max?: number;
};

/** The first bytes of a message a pattern is matched against; the rest is not looked at (its size still counts in `${len}`). */
export const MATCH_BYTES = 64 * 1024;

/** Longest delay a rule may ask for (Node's timers hold at most 2^31 − 1 ms). */
const MAX_DELAY_MS = 2_147_483_647;

let isLinearEngineOn = false;

/**
 * Compile a pattern with V8's linear-time engine (the `l` flag): a pattern
 * like `(a+)+$` that would backtrack for ages on a hostile message runs in
 * time proportional to pattern × input, so no peer can freeze netdash with
 * it. The price: what that engine cannot do (backreferences, lookarounds,
 * the `i` flag) is refused with a one-line error, not run unsafely.
 * The pattern's text is taken as UTF-8 bytes, matched against the message's
 * bytes one char per byte (latin1): `é` in a pattern matches its two bytes.
 *
 * @throws NetdashError `BAD_PATTERN`.
 */
export function compilePattern(pattern: string): RegExp {
	if (!isLinearEngineOn) {
		v8.setFlagsFromString('--enable-experimental-regexp-engine');
		isLinearEngineOn = true;
	}

	const slashed = /^\/([\s\S]*)\/([a-z]*)$/.exec(pattern);
	const body = slashed ? slashed[1]! : pattern;
	const flags = slashed ? slashed[2]! : '';
	const bad = [...flags].find((flag) => !'ms'.includes(flag));
	if (bad !== undefined) {
		throw new NetdashError('BAD_PATTERN', `pattern flag ${bad} is not supported: only m and s (for case, write [Hh]ello)`);
	}

	try {
		return new RegExp(Buffer.from(body, 'utf8').toString('latin1'), `${flags}l`);
	} catch (error) {
		const message = (error as Error).message;
		const why = message.includes('linear') ? 'it needs backtracking (backreferences and lookarounds are refused, so no message can make matching slow)' : message.replace(/^Invalid regular expression: /, '');
		throw new NetdashError('BAD_PATTERN', `bad pattern ${JSON.stringify(pattern.slice(0, 40))}: ${why}`);
	}
}

/** A duration as `250ms`, `1s`, `1.5s` or plain milliseconds. */
export function parseDuration(text: string, what: string): number {
	const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
	const ms = match ? Number(match[1]) * (match[2] === 's' ? 1000 : 1) : Number.NaN;
	if (!Number.isFinite(ms) || ms > MAX_DELAY_MS) {
		throw new NetdashError('BAD_DURATION', `${what} ${JSON.stringify(text.slice(0, 20))} is not a duration such as 250ms or 1s`);
	}

	return Math.round(ms);
}

/**
 * Read a rule written as text: `PATTERN => REPLY`, then optionally ` ;; `
 * and options: `on L1,U2`, `delay 200ms`, `then close` / `then reset`,
 * `max N`. The first ` => ` ends the pattern; the last ` ;; ` starts the
 * options.
 *
 * @throws NetdashError `BAD_RULE` (or the option's own code) with one line.
 * @example parseRuleText('^PING (\\d+) => PONG $1\\n ;; delay 100ms max 3')
 */
export function parseRuleText(text: string): RuleSpec {
	const arrow = text.indexOf(' => ');
	if (arrow === -1) {
		throw new NetdashError('BAD_RULE', 'a rule is PATTERN => REPLY [;; on L1 delay 1s then close max N]');
	}

	const pattern = text.slice(0, arrow).trim();
	let reply = text.slice(arrow + 4);
	const options = reply.lastIndexOf(' ;; ');
	const spec: RuleSpec = {pattern, reply};
	if (options !== -1) {
		const words = reply.slice(options + 4).trim().split(/\s+/);
		reply = reply.slice(0, options);
		spec.reply = reply;
		for (let index = 0; index < words.length; index += 2) {
			const [name, value] = [words[index]!, words[index + 1]];
			if (value === undefined) {
				throw new NetdashError('BAD_RULE', `rule option ${name} needs a value`);
			}

			switch (name) {
				case 'on': {
					spec.on = value.split(',');
					break;
				}

				case 'delay': {
					spec.delayMs = parseDuration(value, 'delay');
					break;
				}

				case 'then': {
					if (value !== 'close' && value !== 'reset') {
						throw new NetdashError('BAD_RULE', `then ${value.slice(0, 20)}: use then close or then reset`);
					}

					spec.then = value;
					break;
				}

				case 'max': {
					if (!/^\d+$/.test(value) || Number(value) < 1) {
						throw new NetdashError('BAD_RULE', 'max needs a whole number of at least 1');
					}

					spec.max = Number(value);
					break;
				}

				default: {
					throw new NetdashError('BAD_RULE', `unknown rule option ${JSON.stringify(name.slice(0, 20))}: use on, delay, then, max`);
				}
			}
		}
	}

	return spec;
}

/** A rule ready to run: its spec, compiled. */
export type CompiledRule = {
	readonly spec: RuleSpec;
	readonly regex: RegExp;
	readonly template: ReplyTemplate;
};

/** Compile a spec, checking every part. @throws NetdashError with one line. */
export function compileRule(spec: RuleSpec): CompiledRule {
	if (spec.pattern === '') {
		throw new NetdashError('BAD_PATTERN', 'a rule needs a pattern (.* matches everything)');
	}

	const bad = spec.on?.find((id) => !/^[LCU]\d+$/.test(id));
	if (bad !== undefined) {
		throw new NetdashError('BAD_RULE', `on ${JSON.stringify(bad.slice(0, 20))}: name listeners, connections or UDP sockets (L1, C2, U1)`);
	}

	return {spec, regex: compilePattern(spec.pattern), template: parseTemplate(spec.reply)};
}
