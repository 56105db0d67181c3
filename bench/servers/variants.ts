/**
 * The ablations of bench/servers/herald.ts. Kept apart from it: importing that
 * file starts a server (an import of it from the bench process kept
 * `bench/http-health.ts` alive after its summary).
 */
export const VARIANTS = [
	"full",
	"no-request-context",
	"no-compression",
	"no-swagger",
	"routes-only",
	"elysia-min",
	"native-health",
	"no-metrics",
] as const;
export type Variant = (typeof VARIANTS)[number];
