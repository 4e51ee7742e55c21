import type {BusEvent, RuleCounts, RuleView} from '../events.js';
import type {RuleRow} from './snapshot.js';

/** A rule as folded: its fields, changed in place per event, and the frozen row last published. */
type RuleModel = {view: RuleView; row: RuleRow | undefined};

/**
 * Auto-reply rules as the Listeners pane shows them: each rule's spec,
 * state and counts. Every rule event carries the rule's counts, so the rows
 * are exact without the store counting anything itself. A reply changes
 * the rule in place; its row is rebuilt only when a snapshot is published,
 * so 100,000 replies a second cost no allocation each.
 */
export class RulesModel {
	/** In the order they are tried. */
	readonly #rules = new Map<string, RuleModel>();
	#rows: readonly RuleRow[] = Object.freeze([]);
	/** Set when a rule changed since the last build. */
	isChanged = false;

	/** Fold one event in. */
	apply(event: BusEvent): void {
		switch (event.type) {
			case 'rule-added': {
				this.#add(event);
				break;
			}

			case 'rules-listed': {
				this.#rules.clear();
				for (const rule of event.rules) {
					this.#add(rule);
				}

				this.isChanged = true;
				break;
			}

			case 'rule-changed': {
				if (event.state === 'removed') {
					this.isChanged ||= this.#rules.delete(event.rule);
				} else {
					this.#update(event.rule, event, event.state);
				}

				break;
			}

			case 'rule-replied':
			case 'rule-skipped': {
				this.#update(event.rule, event);
				break;
			}

			default:
		}
	}

	/** The rows, the same array (and unchanged rows the same objects) while nothing changed. */
	build(): readonly RuleRow[] {
		if (this.isChanged) {
			const rows: RuleRow[] = [];
			for (const rule of this.#rules.values()) {
				rule.row ??= Object.freeze({...rule.view});
				rows.push(rule.row);
			}

			this.#rows = Object.freeze(rows);
			this.isChanged = false;
		}

		return this.#rows;
	}

	#add(view: RuleView & {type?: string; seq?: number; at?: number; ref?: string | null}): void {
		const {type: _type, seq: _seq, at: _at, ref: _ref, ...fields} = view;
		this.#rules.set(fields.rule, {view: fields, row: undefined});
		this.isChanged = true;
	}

	#update(id: string, counts: RuleCounts, state?: RuleView['state']): void {
		const rule = this.#rules.get(id);
		if (rule) {
			rule.view.hits = counts.hits;
			rule.view.replies = counts.replies;
			rule.view.skipped = counts.skipped;
			if (state !== undefined) {
				rule.view.state = state;
			}

			rule.row = undefined;
			this.isChanged = true;
		}
	}
}
