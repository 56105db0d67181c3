/** The key Herald signs its access tokens with, from configuration. */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Option } from "effect";
import type { HeraldConfig } from "../config.ts";
import { ConfigInvalid, secret } from "../config-kit.ts";
import type { TokenSettings } from "./tokens.ts";

/**
 * AUTH_JWT_PRIVATE_KEY (EdDSA) or AUTH_JWT_SECRET (HS256). Without either,
 * `dev` keeps a generated secret in its data folder (tokens survive restarts)
 * and tests use a random one; production refuses to start.
 */
export function signingKey(config: HeraldConfig): TokenSettings["key"] {
	const a = config.auth;
	if (Option.isSome(a.jwtPrivateKey))
		return { kind: "ed25519", privateKeyPem: secret(a.jwtPrivateKey.value) };
	if (Option.isSome(a.jwtSecret)) {
		const value = secret(a.jwtSecret.value);
		if (new TextEncoder().encode(value).length < 32)
			throw new ConfigInvalid("config: AUTH_JWT_SECRET must be at least 32 bytes");
		return { kind: "secret", secret: value };
	}
	if (config.mode === "test") return { kind: "secret", secret: randomSecret() };
	if (config.mode === "development") {
		const file = join(resolve(config.dataDir), "jwt-secret");
		if (!existsSync(file)) {
			mkdirSync(dirname(file), { recursive: true });
			writeFileSync(file, randomSecret(), { mode: 0o600 });
			chmodSync(file, 0o600);
		}
		return { kind: "secret", secret: readFileSync(file, "utf8").trim() };
	}
	throw new ConfigInvalid("config: AUTH_JWT_SECRET (or AUTH_JWT_PRIVATE_KEY) is required for this role");
}

const randomSecret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
