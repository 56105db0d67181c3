/**
 * Exponential moving average over irregularly spaced observations, as
 * pandas `ewm(adjust=False)`: the first value is the first observation; then
 * y = α·x + (1 − α)·y_prev, with a fixed α or, from a half-life,
 * α = 1 − exp(−ln 2 · Δt / halfLife) (Δt = time since the previous
 * observation; an observation older than the previous one has Δt = 0).
 */
import type { EmaClause } from "./definition.ts";

export interface EmaState {
	value: number;
	prev: number | null;
	samples: number;
	/** occurredAt of the newest observation, ms. */
	lastAt: number;
}

export function alphaOf(clause: Pick<EmaClause, "alpha" | "halfLifeSeconds">, dtMs: number): number {
	if (clause.alpha !== undefined) return clause.alpha;
	return 1 - Math.exp((-Math.LN2 * Math.max(0, dtMs)) / 1000 / clause.halfLifeSeconds!);
}

export function emaStep(s: EmaState | undefined, x: number, at: number, clause: EmaClause): EmaState {
	if (!s) return { value: x, prev: null, samples: 1, lastAt: at };
	const alpha = alphaOf(clause, at - s.lastAt);
	return {
		value: alpha * x + (1 - alpha) * s.value,
		prev: s.value,
		samples: s.samples + 1,
		lastAt: Math.max(at, s.lastAt),
	};
}
