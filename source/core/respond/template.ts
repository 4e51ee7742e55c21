import {NetdashError} from '../errors.js';
import {parseEscapedText} from '../format/index.js';

/**
 * A reply template: text with the usual escapes (`\r \n \t \0 \\ \e \xNN`,
 * see format/input.ts) and placeholders filled from the message that matched:
 * `$1`…`$9` (capture groups, as the message's own bytes), `$0` (the whole
 * match), `${len}` (the message's size in bytes), `${hex}` (the message as
 * hex), `${time}` (now, ISO 8601 UTC) and `$$` (one dollar). Pure.
 */

/** One piece of a parsed template: literal bytes, or a placeholder. */
type Piece = Buffer | {group: number} | {name: 'len' | 'hex' | 'time'};

/** What a template is filled from. */
export type TemplateInput = {
	/** The matched message itself. */
	readonly message: Buffer;
	/** The match: index 0 the whole match, then the groups, as latin1 strings (one char per byte). */
	readonly groups: ArrayLike<string | undefined>;
	readonly now: number;
};

/** A parsed reply template. */
export type ReplyTemplate = {
	/** The template as given. */
	readonly source: string;
	/** The bytes for one match. */
	render(input: TemplateInput): Buffer;
	/** True when the reply is the same whatever matched (no placeholder): it is rendered once. */
	readonly isConstant: boolean;
};

const placeholder = /\$(?:(\d)|\{(len|hex|time)\}|(\$))/g;

/**
 * Parse a reply template once, when the rule is made.
 *
 * @throws NetdashError `BAD_ESCAPE` (from the escapes) or `BAD_REPLY` for a `${…}` that is not a known name.
 * @example parseTemplate('Your data was ${len} bytes long').render({message, groups: [], now: Date.now()})
 */
export function parseTemplate(source: string): ReplyTemplate {
	const pieces: Piece[] = [];
	let literal = '';
	let last = 0;
	const flush = () => {
		if (literal !== '') {
			pieces.push(parseEscapedText(literal));
			literal = '';
		}
	};

	for (const match of source.matchAll(placeholder)) {
		literal += source.slice(last, match.index);
		last = match.index + match[0].length;
		if (match[3] !== undefined) {
			literal += '$';
			continue;
		}

		flush();
		pieces.push(match[1] === undefined ? {name: match[2] as 'len' | 'hex' | 'time'} : {group: Number(match[1])});
	}

	literal += source.slice(last);
	const unknown = /\$\{[^}]*\}?/.exec(literal);
	if (unknown) {
		throw new NetdashError('BAD_REPLY', `unknown placeholder ${unknown[0].slice(0, 20)} in the reply: use $1…$9, \${len}, \${hex}, \${time} or $$`);
	}

	flush();
	const isConstant = pieces.every((piece) => Buffer.isBuffer(piece));
	const constant = isConstant ? Buffer.concat(pieces as Buffer[]) : undefined;
	return {
		source,
		isConstant,
		render(input) {
			if (constant) {
				return constant;
			}

			return Buffer.concat(pieces.map((piece) => {
				if (Buffer.isBuffer(piece)) {
					return piece;
				}

				if ('group' in piece) {
					return Buffer.from(input.groups[piece.group] ?? '', 'latin1');
				}

				switch (piece.name) {
					case 'len': {
						return Buffer.from(String(input.message.length));
					}

					case 'hex': {
						return Buffer.from(input.message.toString('hex'));
					}

					case 'time': {
						return Buffer.from(new Date(input.now).toISOString());
					}
				}
			}));
		},
	};
}
