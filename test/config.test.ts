import { describe, expect, test } from "bun:test";
import { Option } from "effect";
import { ConfigInvalid, loadConfig, redactedView } from "../src/config.ts";
import { maintenanceSettings } from "../src/maintenance/settings.ts";

describe("config", () => {
	test("defaults apply when the environment is empty", () => {
		const cfg = loadConfig({});
		expect(cfg.port).toBe(3000);
		expect(cfg.mode).toBe("production");
		expect(cfg.temporal.taskQueue).toBe("herald");
		expect(cfg.temporal.uiPort).toBe(8233);
		expect(maintenanceSettings(cfg).cleanupCron).toBe("0 2 * * *");
		expect(Option.isNone(cfg.database.url)).toBe(true);
		expect(cfg.corsOrigins).toEqual(["*"]);
	});

	test("values are parsed and typed", () => {
		const cfg = loadConfig({
			PORT: "8080",
			CORS_ORIGINS: "https://a.example, https://b.example",
			LOG_LEVEL: "debug",
		});
		expect(cfg.port).toBe(8080);
		expect(cfg.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
		expect(cfg.logLevel).toBe("debug");
	});

	test.each([
		[{ PORT: "abc" }, "PORT"],
		[{ PORT: "70000" }, "PORT"],
		[{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
		[{ BODY_LIMIT_BYTES: "1.5" }, "BODY_LIMIT_BYTES"],
		[{ HERALD_ENV: "staging" }, "HERALD_ENV"],
		[{ TEMPORAL_UI_PORT: "-1" }, "TEMPORAL_UI_PORT"],
		[{ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079" }, "UPSTASH_REDIS_REST_TOKEN"],
		[{ SUPABASE_JWT_SECRET: "x".repeat(40) }, "SUPABASE_JWT_ISSUER"],
		[{ SUPABASE_JWT_SECRET: "x".repeat(40), SUPABASE_JWT_ISSUER: "herald" }, "SUPABASE_JWT_ISSUER"],
		[{ AUTH_JWKS_URL: "http://127.0.0.1/jwks" }, "AUTH_JWKS_ISSUER"],
		[{ ADMIN_EMAIL: "root@example.com" }, "ADMIN_PASSWORD"],
		[{ TRUST_PROXY: "maybe" }, "TRUST_PROXY"],
	])("a malformed value stops with one line naming the variable: %o", (env, variable) => {
		let error: unknown;
		try {
			loadConfig(env);
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(ConfigInvalid);
		const message = (error as Error).message;
		expect(message).toContain(variable);
		expect(message.includes("\n")).toBe(false);
	});

	test("secrets are redacted in the loggable view", () => {
		const cfg = loadConfig({
			DATABASE_URL: "postgres://herald:s3cret@db:5432/herald",
			UPSTASH_REDIS_REST_URL: "https://redis.example",
			UPSTASH_REDIS_REST_TOKEN: "tok-s3cret",
			REDIS_URL: "redis://:pw-s3cret@redis:6379",
		});
		const text = JSON.stringify(redactedView(cfg));
		expect(text).not.toContain("s3cret");
		expect(text).toContain("<redacted>");
		expect(text).toContain("https://redis.example");
	});
});
