import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv';
import {NetdashError} from '../errors.js';
import {FieldError} from './field-error.js';
import {commandSchemas, type JsonSchema} from './command-schema.js';
import {eventSchemas} from './event-schema.js';

export {FieldError} from './field-error.js';

/**
 * Validation against the schemas in this folder, with Ajv. Each command (and
 * each event type) gets its own compiled validator, picked by `cmd` (or
 * `type`), so a failure speaks of that command's fields only. Validators are
 * compiled on first use: a session that never reads a command pays nothing.
 */

/**
 * Made on first use. Strict about keywords (a typo throws) and quiet on the
 * console; it does not check the schemas against the draft-07 meta-schema,
 * which would compile that too before the first command (the tests check
 * them, with `compileDocument`).
 */
let ajv: Ajv | undefined;
const compiled = new Map<JsonSchema, ValidateFunction>();

function validatorOf(schema: JsonSchema): ValidateFunction {
	let validate = compiled.get(schema);
	if (!validate) {
		ajv ??= new Ajv({strict: true, allowUnionTypes: true, logger: false, validateSchema: false});
		validate = ajv.compile(schema);
		compiled.set(schema, validate);
	}

	return validate;
}

/** A value as a short phrase for a message: `-1`, `"8080"`, `an object`, `a number too large for JSON`. */
function describe(value: unknown): string {
	if (typeof value === 'number') {
		return Number.isFinite(value) ? String(value) : 'a number too large to hold';
	}

	if (Array.isArray(value)) {
		return 'an array';
	}

	if (value === null) {
		return 'null';
	}

	if (typeof value === 'object') {
		return 'an object';
	}

	const text = JSON.stringify(value);
	return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

const typeNames: Record<string, string> = {integer: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false', array: 'an array', object: 'an object'};

/** One Ajv error as one line naming the field. */
function toFieldError(cmd: string, error: ErrorObject, value: unknown): FieldError {
	const params = error.params as Record<string, unknown>;
	const path = error.instancePath.slice(1);
	const name = path.split('/')[0] ?? '';
	// Port errors keep their own code, which scripts and the dashboard already know.
	const code = name === 'port' ? 'BAD_PORT' : 'BAD_COMMAND';
	const field = `"${path}"`;
	switch (error.keyword) {
		case 'additionalProperties': {
			const extra = String(params['additionalProperty']);
			const where = path === '' ? extra : `${path}/${extra}`;
			return new FieldError(code, `${cmd} does not take "${where}"`, where);
		}

		case 'required': {
			const missing = String(params['missingProperty']);
			return new FieldError(missing === 'port' ? 'BAD_PORT' : code, `${cmd} needs "${missing}"`, path === '' ? missing : `${path}/${missing}`);
		}

		case 'type': {
			const types = String(params['type']).split(',').map((type) => typeNames[type] ?? type);
			return new FieldError(code, `${field} must be ${types.join(' or ')}, not ${describe(value)}`, path);
		}

		case 'minimum':
		case 'maximum':
		case 'exclusiveMinimum':
		case 'exclusiveMaximum': {
			const words = {minimum: 'at least', maximum: 'at most', exclusiveMinimum: 'more than', exclusiveMaximum: 'less than'}[error.keyword];
			return new FieldError(code, `${field} must be ${words} ${String(params['limit'])}, not ${describe(value)}`, path);
		}

		case 'minLength': {
			return new FieldError(code, `${field} must not be empty`, path);
		}

		default: {
			return new FieldError(code, `${field} ${error.message ?? 'is not valid'}${value === undefined ? '' : `, not ${describe(value)}`}`, path);
		}
	}
}

/** The value at an Ajv instance path such as `/allow/2`. */
function valueAt(root: unknown, path: string): unknown {
	let value = root;
	for (const part of path.split('/').slice(1)) {
		value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined;
	}

	return value;
}

/**
 * Check a parsed command against the schema of its `cmd`. Throws a
 * FieldError naming the first field that is unknown, of the wrong type or
 * out of range; `cmd` itself must already be a known command name.
 */
export function validateCommand(cmd: string, value: Record<string, unknown>): void {
	const schema = commandSchemas[cmd];
	if (!schema) {
		throw new NetdashError('BAD_COMMAND', `unknown command ${JSON.stringify(cmd)}`);
	}

	const validate = validatorOf(schema);
	if (!validate(value)) {
		const error = validate.errors![0]!;
		throw toFieldError(cmd, error, valueAt(value, error.instancePath));
	}
}

/** The schema errors of one event as written (payload as base64), as lines; empty when it conforms. */
export function eventErrors(value: unknown): string[] {
	const type = typeof value === 'object' && value !== null ? (value as {type?: unknown}).type : undefined;
	const schema = typeof type === 'string' ? eventSchemas[type] : undefined;
	if (!schema) {
		return [`unknown event type ${JSON.stringify(type)}`];
	}

	const validate = validatorOf(schema);
	return validate(value) ? [] : (validate.errors ?? []).map((error) => `${type}${error.instancePath} ${error.message ?? 'is not valid'}`);
}

/** Compile a standalone schema document (tests check the documents are valid schemas). */
export function compileDocument(schema: JsonSchema): ValidateFunction {
	return new Ajv({strict: true, allowUnionTypes: true, logger: false}).compile(schema);
}
