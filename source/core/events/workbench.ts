import type {Endpoint} from './base.js';

/** Bus events of The workbench: auto-reply rules, schedules, raw saves. Re-exported by ../events.ts, which holds the BusEvent union. */

// Workbench (issue 17): auto-reply rules, schedules, raw saves.

/** What a rule is doing: answering, paused, spent (its `max` reached), or removed. */
export type RuleState = 'active' | 'paused' | 'spent' | 'removed';

/** An auto-reply rule as listed: its spec, state and counts. */
export type RuleView = {
	rule: string;
	pattern: string;
	reply: string;
	state: RuleState;
	/** Messages it matched. */
	hits: number;
	/** Replies it sent (or has waiting out their delay). */
	replies: number;
	/** Matches it did not answer: rate-limited, too large for UDP, busy, or the send failed. */
	skipped: number;
	on?: string[];
	/** Seconds. */
	delay?: number;
	then?: 'close' | 'reset';
	max?: number;
};

/** An auto-reply rule was added (`--respond`, `:respond`, JSON `respond`). */
export type RuleAdded = {type: 'rule-added'} & RuleView;

/** A rule's counts now, as each of its events carries them (see {@link RuleView}). */
export type RuleCounts = {
	hits: number;
	replies: number;
	skipped: number;
};

/** A rule was paused, resumed, removed, or spent its `max`. */
export type RuleChanged = {
	type: 'rule-changed';
	rule: string;
	state: RuleState;
} & RuleCounts;

/** A rule answered: `target` is the connection or UDP socket, `to` the datagram's source (UDP only). */
export type RuleReplied = {
	type: 'rule-replied';
	rule: string;
	target: string;
	to?: Endpoint;
	bytes: number;
} & RuleCounts;

/**
 * A rule matched but did not answer: `rate-limited` (its source, UDP),
 * `overloaded` (all sources together, UDP), `too-large` (the reply would
 * amplify the datagram past the bound), `busy` (too many delayed replies),
 * `failed` (the send failed; `command-failed` says why).
 * The first is reported at once, then at most one a second per reason, `count` saying how many.
 */
export type RuleSkipped = {
	type: 'rule-skipped';
	rule: string;
	reason: string;
	count: number;
	/** Size of the (last) reply not sent. */
	bytes: number;
	from?: Endpoint;
} & RuleCounts;

/** The answer to `rules`: every rule in force, in the order they are tried. */
export type RulesListed = {type: 'rules-listed'; rules: RuleView[]};

/** A timed or repeated send as listed. */
export type ScheduleView = {
	schedule: string;
	connection: string;
	/** Bytes per send. */
	bytes: number;
	/** Seconds between sends; absent: back to back. */
	every?: number;
	/** Sends in all; absent: until cancelled. */
	count?: number;
	sent: number;
	/** Timed sends skipped because the queue was full then. */
	skipped: number;
};

/** A schedule began (`send` with `every` or `count`). */
export type ScheduleStarted = {type: 'schedule-started'} & ScheduleView;

/** A schedule ended: `done` (its count sent), `cancelled`, `closed` (its connection), or `failed` (`message` says why). */
export type ScheduleFinished = {
	type: 'schedule-finished';
	reason: 'done' | 'cancelled' | 'closed' | 'failed';
	message?: string;
} & ScheduleView;

/** The answer to `schedules`. */
export type SchedulesListed = {type: 'schedules-listed'; schedules: ScheduleView[]};

/** A connection's bytes (`in`: received, `out`: sent) are being written raw to `path` from now on. */
export type SaveStarted = {type: 'save-started'; connection: string; path: string; direction: 'in' | 'out'};

/** A save ended (its connection closed, or it was replaced): `bytes` were written to the file. */
export type SaveFinished = {type: 'save-finished'; connection: string; path: string; direction: 'in' | 'out'; bytes: number};

/** A save could not open or write its file. */
export type SaveFailed = {type: 'save-failed'; connection: string; path: string; direction: 'in' | 'out'; code: string; message: string; bytes: number};
