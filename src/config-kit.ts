/**
 * The pieces configuration is built from, for `src/config.ts` and for the
 * sections features declare. Nothing here reads the environment: only
 * `loadConfig` in `src/config.ts` does.
 */
import { Config, Option, Redacted } from "effect";

export type Mode = "development" | "production" | "test";

export const str = (name: string, fallback: string) => Config.String(name).pipe(Config.withDefault(fallback));
export const int = (name: string, fallback: number) => Config.Int(name).pipe(Config.withDefault(fallback));
export const optStr = (name: string) => Config.option(Config.NonEmptyString(name));
export const optSecret = (name: string) => Config.option(Config.Redacted(name));
export const list = (name: string, fallback: string) =>
	str(name, fallback).pipe(
		Config.map((v) =>
			v
				.split(",")
				.map((s) => s.trim())
				.filter(Boolean),
		),
	);

/** A configuration error: one line, naming the variable. Stops start-up. */
export class ConfigInvalid extends Error {
	override readonly name = "ConfigInvalid";
}

export const secret = (v: Redacted.Redacted<string>): string => Redacted.value(v);

/** Secrets never reach logs: the view used for logging. */
export function redactedView(value: unknown): unknown {
	if (Redacted.isRedacted(value)) return "<redacted>";
	if (Option.isOption(value)) return Option.isSome(value) ? redactedView(value.value) : undefined;
	if (Array.isArray(value)) return value.map(redactedView);
	if (value && typeof value === "object")
		return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactedView(v)]));
	return value;
}
