/**
 * Seed-compatible aliases: the seeds' own paths, mounted on the same handlers
 * as Herald's canonical /api/v1 routes. Swagger groups them under one tag and
 * says which route each mirrors; they are supported, not deprecated.
 */
export const SEED_ALIAS_TAG = "seed-001 aliases";

export const aliasOf = (canonical: string, summary: string) => ({
	tags: [SEED_ALIAS_TAG],
	deprecated: false,
	summary: `Seed-compatible alias of ${canonical}`,
	description: `${summary}. Same handler, body and statuses as \`${canonical}\`; kept for clients of seed 001 (Debitum).`,
});
