/**
 * How the dashboard is drawn, shared by the CLI (run.tsx) and the bench so
 * both measure the same thing.
 *
 * Data frames are paced by the store (a publish at most every 50 ms, so at
 * most 20 frames a second however fast events come); Ink's own cap only
 * bounds frames drawn to answer keys. Ink throttles every render, leading
 * edge first: a key that comes within 1000/maxFps ms of the last frame (a
 * data frame, during a flood) waits out the rest of that window. At 60 that
 * was up to 17 ms on top of the frame itself, and a flood's key → frame
 * latency was two humps, ~5 ms and ~22 ms. At 240 the wait is at most ~4 ms;
 * keys still come a frame each (React batches the keys of one read), and
 * data frames stay at the store's pace. Measured (test/bench, a 6 s flood
 * while `?` is pressed every ~60 ms, 4 runs each, alternating): p90 25.0 →
 * 10.5 ms and p99 44.2 → 16.5 ms, with the same data frames per second and
 * CPU. (FACTS.md: a 30 fps cap beats against a 30 Hz publish and gives
 * ≈ 17 fps; well above the publish rate there is no beat.)
 */
export const dashboardRenderOptions = {
	alternateScreen: true,
	maxFps: 240,
	incrementalRendering: true,
} as const;
