/**
 * How the dashboard is drawn, shared by the CLI (run.tsx) and the bench so
 * both measure the same thing.
 *
 * Data frames are paced by the store (a publish at most every 50 ms, so at
 * most 20 frames a second however fast events come); Ink's own cap only
 * bounds frames drawn to answer keys, and at 60 a key is answered within
 * ~17 ms. (FACTS.md: a 30 fps cap beats against a 30 Hz publish and gives
 * ≈ 17 fps.)
 */
export const dashboardRenderOptions = {
	alternateScreen: true,
	maxFps: 60,
	incrementalRendering: true,
} as const;
