import process from 'node:process';

// chalk 5 (Ink's colours) ignores NO_COLOR (https://no-color.org) and reads
// FORCE_COLOR once, when it is first imported. This module is imported by
// run.tsx before Ink, so NO_COLOR turns colour off unless FORCE_COLOR says
// otherwise; every colour on the dashboard has a glyph or word beside it.
if (process.env['NO_COLOR'] && process.env['FORCE_COLOR'] === undefined) {
	process.env['FORCE_COLOR'] = '0';
}
