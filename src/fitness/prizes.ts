/**
 * Prize allocation, pure and deterministic (documented in the README).
 *
 * 1. Excluded (a dispute) and flagged (an implausible record in the window)
 *    participants take no position: the others are ranked again, exact ties
 *    (same score, same second reached) sharing a position group.
 * 2. Position i of the payout table is worth floor(pool · bps_i / used),
 *    where `used` is the sum of the shares of positions someone fills (so a
 *    table longer than the field still pays the whole pool); the minor units
 *    that rounding leaves go one each to positions 1, 2, … in order.
 * 3. A tie group covering positions p..p+m−1 shares the sum of their worth
 *    equally; its remainder goes one unit each to its members in user-id order.
 *
 * The allocations always sum exactly to the pool when at least one
 * participant is eligible; with none, there is nothing to pay.
 */

export interface Standing {
	userId: string;
	score: number;
	/** ISO instant, whole seconds. */
	reachedAt: string;
	excluded: boolean;
	flagged: boolean;
}

export interface Allocation {
	userId: string;
	/** The position among eligible participants (ties share it). */
	rank: number;
	amountMinor: number;
}

const order = (a: Standing, b: Standing) =>
	b.score - a.score ||
	(a.reachedAt < b.reachedAt ? -1 : a.reachedAt > b.reachedAt ? 1 : 0) ||
	(a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);

export function allocatePrizes(
	poolMinor: number,
	payoutBps: readonly number[],
	standings: readonly Standing[],
): Allocation[] {
	const eligible = standings.filter((s) => !s.excluded && !s.flagged).sort(order);
	const positions = Math.min(payoutBps.length, eligible.length);
	if (positions === 0 || poolMinor <= 0) return [];
	const used = payoutBps.slice(0, positions).reduce((a, b) => a + b, 0);
	const worth = payoutBps.slice(0, positions).map((bps) => Math.floor((poolMinor * bps) / used));
	let left = poolMinor - worth.reduce((a, b) => a + b, 0);
	for (let i = 0; left > 0; i = (i + 1) % positions, left--) worth[i]! += 1;

	const out: Allocation[] = [];
	for (let start = 0; start < positions; ) {
		let end = start + 1;
		while (end < eligible.length && sameRank(eligible[start]!, eligible[end]!)) end++;
		const group = eligible.slice(start, end).sort((a, b) => (a.userId < b.userId ? -1 : 1));
		const sum = worth.slice(start, Math.min(end, positions)).reduce((a, b) => a + b, 0);
		const each = Math.floor(sum / group.length);
		let remainder = sum - each * group.length;
		for (const member of group) {
			const amount = each + (remainder > 0 ? 1 : 0);
			if (remainder > 0) remainder--;
			if (amount > 0) out.push({ userId: member.userId, rank: start + 1, amountMinor: amount });
		}
		start = end;
	}
	return out;
}

const sameRank = (a: Standing, b: Standing) => a.score === b.score && a.reachedAt === b.reachedAt;
