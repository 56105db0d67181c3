/**
 * JSON lines on stdout; every line carries the request id when there is one,
 * and `trace_id` / `span_id` when it is written inside a span.
 */
import { traceFields } from "./tracing.ts";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
	debug(msg: string, fields?: Record<string, unknown>): void;
	info(msg: string, fields?: Record<string, unknown>): void;
	warn(msg: string, fields?: Record<string, unknown>): void;
	error(msg: string, fields?: Record<string, unknown>): void;
	child(fields: Record<string, unknown>): Logger;
	readonly enabled: (level: LogLevel) => boolean;
}

export function createLogger(
	level: LogLevel,
	base: Record<string, unknown> = {},
	write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
	const threshold = order[level];
	const emit = (lvl: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => {
		if (order[lvl] < threshold) return;
		write(
			JSON.stringify(
				{ time: new Date().toISOString(), level: lvl, msg, ...base, ...traceFields(), ...fields },
				errorReplacer,
			),
		);
	};
	return {
		debug: (m, f) => emit("debug", m, f),
		info: (m, f) => emit("info", m, f),
		warn: (m, f) => emit("warn", m, f),
		error: (m, f) => emit("error", m, f),
		child: (fields) => createLogger(level, { ...base, ...fields }, write),
		enabled: (lvl) => order[lvl] >= threshold,
	};
}

function errorReplacer(_key: string, value: unknown): unknown {
	if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
	return value;
}

export const silentLogger = createLogger("silent");
