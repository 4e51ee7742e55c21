import type {BusEvent, RuleCounts, RuleView} from '../events.js';
import type {RuleRow} from './snapshot.js';

/**
 * Auto-reply rules as the Listeners pane shows them: each rule's spec,
 * state and counts. Every rule event carries the rule's counts, so the rows
 * are exact without the store counting anything itself.
 */
export class RulesModel {
	/** In the order they are tried. */
	readonly #rules = new Map<string, RuleRow>();
	#rows: readonly RuleRow[] = Object.freeze([]);
	/** Set when a row changed since the last build. */
	isChanged = false;

	/** Fold one event in. */
	apply(event: BusEvent): void {
		switch (event.type) {
			case 'rule-added': {
				this.#set(rowOf(event));
				break;
			}

			case 'rules-listed': {
				this.#rules.clear();
				for (const rule of event.rules) {
					this.#set(rowOf(rule));
				}

				this.isChanged = true;
				break;
			}

			case 'rule-changed': {
				if (event.state === 'removed') {
					this.isChanged ||= this.#rules.delete(event.rule);
				} else {
					this.#update(event.rule, {state: event.state}, event);
				}

				break;
			}

			case 'rule-replied':
			case 'rule-skipped': {
				this.#update(event.rule, {}, event);
				break;
			}

			default:
		}
	}

	/** The rows, the same array while nothing changed. */
	build(): readonly RuleRow[] {
		if (this.isChanged) {
			this.#rows = Object.freeze([...this.#rules.values()]);
			this.isChanged = false;
		}

		return this.#rows;
	}

	#set(row: RuleRow): void {
		this.#rules.set(row.rule, row);
		this.isChanged = true;
	}

	#update(id: string, fields: Partial<RuleView>, counts: RuleCounts): void {
		const row = this.#rules.get(id);
		if (row) {
			this.#set(Object.freeze({...row, ...fields, hits: counts.hits, replies: counts.replies, skipped: counts.skipped}));
		}
	}
}

function rowOf(view: RuleView & {type?: string; seq?: number; at?: number; ref?: string | null}): RuleRow {
	const {type: _type, seq: _seq, at: _at, ref: _ref, ...row} = view;
	return Object.freeze(row);
}
