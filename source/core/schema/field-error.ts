import {NetdashError} from '../errors.js';

/** A field that failed validation: a NetdashError with the field's path (`timeout`, `allow/2`). */
export class FieldError extends NetdashError {
	/** The path of the field in the command, `/`-separated. */
	readonly field: string;

	constructor(code: string, message: string, field: string) {
		super(code, message);
		this.field = field;
	}
}
