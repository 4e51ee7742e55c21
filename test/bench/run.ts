/**
 * `npm run bench`: every scenario against its baseline, one table, and
 * bench-results.json. See bench.ts for the flags. This file only installs
 * the module hooks (hooks.ts) before anything else is resolved.
 */
await import(new URL('hooks.ts', import.meta.url).href);
await import('./bench.js');
