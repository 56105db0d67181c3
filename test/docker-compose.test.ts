/**
 * Docker does not run on CI machines, so the production topology is checked statically:
 * docker-compose.yml against src/config.ts (the environment contract) and the Dockerfile.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROLES } from "../src/app/roles.ts";
import { loadConfig } from "../src/config.ts";

const root = join(import.meta.dir, "..");
const read = (path: string): string => readFileSync(join(root, path), "utf8");

const HERALD = ["api", "worker", "bridge", "processor", "migrate"];
const LONG_RUNNING = ["api", "worker", "bridge", "processor"];
const SCALABLE = ["worker", "bridge", "processor"];
const REQUIRED_IN_PRODUCTION = [
	"DATABASE_URL",
	"TEMPORAL_ADDRESS",
	"UPSTASH_REDIS_REST_URL",
	"UPSTASH_REDIS_REST_TOKEN",
	"AUTH_JWT_SECRET",
];
const CONDITIONS = ["service_started", "service_healthy", "service_completed_successfully"];

type Service = {
	image?: string;
	build?: string | { context?: string; dockerfile?: string };
	command?: string | string[];
	environment?: Record<string, string | number | boolean | null> | string[];
	ports?: (string | number | { target?: number; published?: string | number })[];
	depends_on?: string[] | Record<string, { condition?: string }>;
	container_name?: string;
	healthcheck?: { test?: string | string[] };
	deploy?: { replicas?: number };
	restart?: string;
};

const compose = Bun.YAML.parse(read("docker-compose.yml")) as { services?: Record<string, Service> };
const services = compose.services ?? {};
const service = (name: string): Service => {
	const s = services[name];
	if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
	return s;
};

/** Environment as compose passes it, unresolved (`${VAR:-default}` kept). */
function rawEnv(s: Service): Record<string, string> {
	const env = s.environment ?? {};
	if (Array.isArray(env))
		return Object.fromEntries(env.map((e) => [e.split("=")[0]!, e.slice(e.indexOf("=") + 1)]));
	return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? "" : String(v)]));
}

/** Compose interpolation with an empty shell environment: `${A:-x}` → x, `${A}` → "". */
const interpolate = (v: string): string =>
	v.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g, (_, fallback?: string) => fallback ?? "");
const env = (s: Service): Record<string, string> =>
	Object.fromEntries(Object.entries(rawEnv(s)).map(([k, v]) => [k, interpolate(v)]));

const command = (s: Service): string[] =>
	s.command === undefined ? [] : Array.isArray(s.command) ? s.command : s.command.split(/\s+/);

const dependsOn = (s: Service): Record<string, string> => {
	const d = s.depends_on ?? {};
	if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, "service_started"]));
	return Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v?.condition ?? "service_started"]));
};

/** [host port or undefined, container port] for each published port. */
const ports = (s: Service): [string | undefined, number][] =>
	(s.ports ?? []).map((p) => {
		if (typeof p === "number") return [undefined, p];
		if (typeof p === "object") return [p.published?.toString(), Number(p.target)];
		const parts = interpolate(p).split("/")[0]!.split(":");
		return [parts.length > 1 ? parts.at(-2) : undefined, Number(parts.at(-1))];
	});

/** host and port of `scheme://user:pw@host:port/...` or `host:port`. */
const hostPort = (address: string): URL => new URL(address.includes("://") ? address : `tcp://${address}`);

const configVars = new Set([...read("src/config.ts").matchAll(/"([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1]!));

describe("docker-compose.yml", () => {
	test("every service has an image or a build", () => {
		expect(Object.keys(services).length).toBeGreaterThan(0);
		for (const [name, s] of Object.entries(services))
			expect({ name, source: Boolean(s.image || s.build) }).toEqual({ name, source: true });
	});

	test("Herald services share one build of the Dockerfile and one image", () => {
		const builds = new Set(HERALD.map((n) => JSON.stringify([service(n).build, service(n).image])));
		expect(builds.size).toBe(1);
		const { build, image } = service("api");
		expect(image).toBeString();
		const context = typeof build === "string" ? build : build?.context;
		const dockerfile = typeof build === "object" ? (build.dockerfile ?? "Dockerfile") : "Dockerfile";
		expect(context).toBeString();
		expect(existsSync(join(root, context!, dockerfile))).toBe(true);
	});

	test("each Herald service runs its own role", () => {
		for (const name of HERALD) {
			expect(command(service(name))).toEqual([name]);
			expect(ROLES as readonly string[]).toContain(name);
		}
	});

	test("Herald services set only variables that src/config.ts reads", () => {
		expect(configVars.size).toBeGreaterThan(10);
		for (const name of HERALD)
			for (const key of Object.keys(rawEnv(service(name))))
				expect({ service: name, key, known: configVars.has(key) }).toEqual({
					service: name,
					key,
					known: true,
				});
	});

	test("long-running roles get every variable production requires, and parse as production", () => {
		for (const v of REQUIRED_IN_PRODUCTION) expect(configVars).toContain(v);
		expect(env(service("migrate")).DATABASE_URL).toBeTruthy();
		for (const name of HERALD) expect(env(service(name)).HERALD_ENV).toBe("production");
		for (const name of LONG_RUNNING) {
			const e = env(service(name));
			for (const v of REQUIRED_IN_PRODUCTION)
				expect({ service: name, v, set: Boolean(e[v]) }).toEqual({ service: name, v, set: true });
			expect(loadConfig(e).mode).toBe("production");
		}
	});

	test("api publishes the port it listens on and health-checks it", () => {
		const api = service("api");
		const port = loadConfig(env(api)).port;
		expect(env(api).PORT).toBe(String(port));
		expect(ports(api).map(([, container]) => container)).toContain(port);
		expect(JSON.stringify(api.healthcheck?.test ?? "")).toContain(`:${port}/health`);
	});

	test("Herald reaches Postgres, Temporal and Redis through services that exist", () => {
		const e = env(service("api"));
		const db = hostPort(e.DATABASE_URL!);
		const pg = env(service(db.hostname));
		expect([db.username, db.password, db.pathname.slice(1)]).toEqual([
			pg.POSTGRES_USER!,
			pg.POSTGRES_PASSWORD!,
			pg.POSTGRES_DB ?? pg.POSTGRES_USER!,
		]);
		const temporal = hostPort(e.TEMPORAL_ADDRESS!);
		expect([temporal.hostname, temporal.port]).toEqual(["temporal", "7233"]);
		expect(e.TEMPORAL_NAMESPACE ?? "default").toBe(env(service("temporal")).DEFAULT_NAMESPACE ?? "default");
		const rest = hostPort(e.UPSTASH_REDIS_REST_URL!);
		expect([rest.hostname, rest.port || "80"]).toEqual(["redis-rest", "80"]);
		expect(hostPort(env(service("redis-rest")).SRH_CONNECTION_STRING!).hostname).toBe("redis");
		expect(service("redis").image).toBeString();
	});

	test("the Upstash token on Herald services is redis-rest's SRH_TOKEN", () => {
		const srh = rawEnv(service("redis-rest"));
		expect(srh.SRH_MODE).toBe("env");
		expect(interpolate(srh.SRH_TOKEN ?? "")).not.toBe("");
		for (const name of HERALD) expect(rawEnv(service(name)).UPSTASH_REDIS_REST_TOKEN).toBe(srh.SRH_TOKEN!);
	});

	test("temporal-ui points at the temporal service", () => {
		const address = hostPort(env(service("temporal-ui")).TEMPORAL_ADDRESS ?? "");
		expect(services[address.hostname]?.image).toStartWith("temporalio/auto-setup");
		expect(address.port).toBe("7233");
	});

	test("depends_on names existing services with conditions they can meet", () => {
		for (const [name, s] of Object.entries(services))
			for (const [dep, condition] of Object.entries(dependsOn(s))) {
				const target = services[dep];
				expect({ name, dep, exists: Boolean(target) }).toEqual({ name, dep, exists: true });
				expect(CONDITIONS).toContain(condition);
				if (condition === "service_healthy")
					expect({ dep, healthcheck: Boolean(target?.healthcheck) }).toEqual({ dep, healthcheck: true });
				if (condition === "service_completed_successfully")
					expect(["no", "on-failure", undefined]).toContain(target?.restart);
			}
		for (const name of LONG_RUNNING) {
			expect(dependsOn(service(name)).migrate).toBe("service_completed_successfully");
			expect(dependsOn(service(name)).temporal).toBe("service_healthy");
		}
		expect(dependsOn(service("migrate")).postgres).toBe("service_healthy");
	});

	test("every long-running role serves METRICS_PORT and Prometheus scrapes it there", () => {
		const prometheus = Bun.YAML.parse(read("deploy/prometheus/prometheus.yml")) as {
			scrape_configs: { dns_sd_configs?: { names: string[]; port: number }[] }[];
		};
		const targets = prometheus.scrape_configs.flatMap((c) => c.dns_sd_configs ?? []);
		for (const name of LONG_RUNNING) {
			const port = loadConfig(env(service(name))).metricsPort;
			expect(port).toBeGreaterThan(0);
			const scraped = targets.some((t) => t.names.includes(name) && t.port === port);
			expect({ service: name, scraped }).toEqual({ service: name, scraped: true });
		}
	});

	test("worker, bridge and processor scale: no container_name, no host ports", () => {
		for (const name of SCALABLE) {
			const s = service(name);
			expect(s.container_name).toBeUndefined();
			expect(ports(s).filter(([host]) => host !== undefined)).toEqual([]);
			expect(s.deploy?.replicas ?? 1).toBeGreaterThanOrEqual(2);
		}
	});
});

describe("Dockerfile", () => {
	const dockerfile = existsSync(join(root, "Dockerfile")) ? read("Dockerfile") : "";
	const instructions = dockerfile
		.replace(/\\\n/g, " ")
		.split("\n")
		.map((l) => l.trim())
		.filter((l) => l && !l.startsWith("#"));
	const args = (keyword: string): string[] =>
		instructions
			.filter((l) => l.toUpperCase().startsWith(`${keyword} `))
			.map((l) => l.slice(keyword.length + 1).trim());
	const execForm = (keyword: string): string[] => JSON.parse(args(keyword).at(-1) ?? "null") ?? [];

	test("builds on the glibc Bun 1.4 image", () => {
		const from = args("FROM");
		expect(from.length).toBeGreaterThan(0);
		for (const f of from) {
			expect(f).toStartWith("oven/bun:1.4");
			expect(f).not.toContain("alpine");
		}
	});

	test("ENTRYPOINT runs src/main.ts and CMD is a role", () => {
		// Bun's own header limit raised, so Herald answers long URLs/headers itself (414/431 with a body).
		expect(execForm("ENTRYPOINT")).toEqual(["bun", "--max-http-header-size=262144", "src/main.ts"]);
		const cmd = execForm("CMD");
		expect(cmd).toHaveLength(1);
		expect(ROLES as readonly string[]).toContain(cmd[0]!);
	});

	test("every COPY source exists and is not excluded by .dockerignore", () => {
		const ignored = new Set(
			read(".dockerignore")
				.split("\n")
				.map((l) =>
					l
						.trim()
						.replace(/^\.?\//, "")
						.replace(/\/$/, ""),
				),
		);
		for (const key of ["node_modules", ".git", ".herald"]) expect(ignored).toContain(key);
		const copies = args("COPY").filter((a) => !a.includes("--from"));
		expect(copies.length).toBeGreaterThan(0);
		for (const copy of copies) {
			const parts = copy.split(/\s+/).filter((p) => !p.startsWith("--"));
			for (const src of parts.slice(0, -1)) {
				const path = src.replace(/^\.\//, "").replace(/\/$/, "");
				expect({ src, exists: existsSync(join(root, path)) }).toEqual({ src, exists: true });
				expect(ignored).not.toContain(path);
			}
		}
		for (const dir of ["src", "workflows", "activities", "migrations"])
			expect(copies.join(" ")).toContain(dir);
	});

	test("runs as a non-root user in production mode, with no image-wide HEALTHCHECK", () => {
		const user = args("USER").at(-1);
		expect(user).toBeString();
		expect(["root", "0"]).not.toContain(user!.split(":")[0]!);
		expect(args("ENV").join(" ")).toMatch(/HERALD_ENV[= ]production/);
		// worker and bridge serve no HTTP: a /health probe baked into the image would mark them unhealthy.
		expect(args("HEALTHCHECK")).toEqual([]);
	});

	test("every role compose starts is one src/main.ts accepts", () => {
		for (const name of HERALD) expect(ROLES as readonly string[]).toContain(name);
	});
});
