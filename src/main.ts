/**
 * Herald's one entry point: `bun src/main.ts <role>` with role api | worker |
 * bridge | processor | migrate | all | dev. `dev` is `all` on embedded defaults (it starts
 * PostgreSQL, Temporal and Redis itself when they are not configured).
 */

import { resolveInfra } from "./app/infra.ts";
import { parseRole } from "./app/roles.ts";
import { runRoles } from "./app/run.ts";
import { ConfigInvalid, loadRoleConfig, redactedView } from "./config.ts";
import { createLogger } from "./infra/log.ts";

async function main(): Promise<void> {
	const role = parseRole(process.argv[2]);
	const dev = role === "dev";
	const config = loadRoleConfig(role);
	const log = createLogger(config.logLevel, { role });
	log.info("starting", { version: (await import("./version.ts")).VERSION, config: redactedView(config) });

	const infra = await resolveInfra(config, {
		embedded: dev,
		databaseOnly: role === "migrate" || role === "processor",
		log,
	});
	let running: Awaited<ReturnType<typeof runRoles>> | undefined;
	let stopping: Promise<void> | undefined;
	const shutdown = (signal: string) => {
		stopping ??= (async () => {
			log.info("shutting down", { signal });
			const timer = setTimeout(() => {
				log.error("shutdown timed out", { timeoutMs: config.shutdownTimeoutMs });
				// Still stop the servers this process started, briefly, so none is orphaned.
				void Promise.race([infra.stop(), Bun.sleep(3000)]).finally(() => process.exit(1));
			}, config.shutdownTimeoutMs);
			await running?.stop();
			await infra.stop();
			clearTimeout(timer);
			log.info("stopped");
			process.exit(0);
		})();
		return stopping;
	};
	process.on("SIGINT", () => void shutdown("SIGINT"));
	process.on("SIGTERM", () => void shutdown("SIGTERM"));

	try {
		running = await runRoles(role, config, infra, log);
	} catch (error) {
		await infra.stop();
		throw error;
	}
	if (role === "migrate") {
		await running.stop();
		await infra.stop();
		log.info("migrations up to date");
		return;
	}
	if (infra.temporalUiUrl) log.info("temporal web ui", { url: infra.temporalUiUrl });
	if (infra.mailUiUrl) log.info("dev mail inbox", { url: infra.mailUiUrl });
	log.info("ready", { api: running.apiUrl });
}

main().catch((error: unknown) => {
	if (error instanceof ConfigInvalid) console.error(error.message);
	else console.error(`herald: ${error instanceof Error ? error.message : String(error)}`);
	process.exit(1);
});
