/**
 * Prizes (seed 003 paths): calculate and distribute under `/api/v1/prizes`,
 * the current calculation with its payout ledger, disputes and the audit.
 */
import { Elysia, t } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { Forbidden, NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import type { DisputeService } from "./disputes-service.ts";
import {
	AuditView,
	CalculationView,
	CompetitionIdParams,
	CompetitionParams,
	DisputeParams,
	DisputeView,
	DistributionStarted,
	ErrorBody,
	FileDisputeBody,
	ResolveDisputeBody,
} from "./model.ts";
import type { PrizeService } from "./prizes-service.ts";

const errors = { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody };

export function prizeRoutes(d: {
	auth: AuthService;
	sql: Sql;
	prizes: PrizeService;
	disputes: DisputeService;
}) {
	const byCompetition = { auth: true as const, params: CompetitionIdParams };
	return new Elysia()
		.use(
			new Elysia({ prefix: "/api/v1/prizes", detail: { tags: ["prizes"] } })
				.use(authPlugin(d.auth))
				.post(
					"/calculate/:competition_id",
					({ principal, params }) => d.prizes.calculate(principal.user.id, params.competition_id),
					{
						...byCompetition,
						response: { 200: CalculationView, ...errors },
						detail: {
							summary: "Calculate the prizes from the frozen standings (organiser)",
							description:
								"Deterministic and idempotent per snapshot: tied positions share the sum of their prizes, the " +
								"leftover minor units go one each in user-id order; flagged and excluded participants get nothing; " +
								"the allocations sum exactly to the pool. The result awaits approval (distribute).",
						},
					},
				)
				.post(
					"/distribute/:competition_id",
					async ({ principal, params, set }) => {
						const started = await d.prizes.distribute(principal.user.id, params.competition_id);
						set.status = 202;
						return started;
					},
					{
						...byCompetition,
						response: { 202: DistributionStarted, ...errors },
						detail: {
							summary: "Approve the calculation and pay it out (organiser)",
							description:
								"After the dispute window, with no dispute open. The competition's actor runs the distribution " +
								"workflow: each allocation is paid once through the payout provider (idempotency key " +
								"`payout:<allocation id>`) and winners are notified. A second call is 409.",
						},
					},
				)
				.get(
					"/:competition_id",
					({ principal, params }) => d.prizes.get(principal.user.id, params.competition_id),
					{
						...byCompetition,
						response: { 200: CalculationView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
						detail: {
							summary: "The current prize calculation and its payout ledger (organiser and participants)",
						},
					},
				),
		)
		.use(
			new Elysia({ prefix: "/api/v1/competitions/:id", detail: { tags: ["competitions"] } })
				.use(authPlugin(d.auth))
				.post(
					"/disputes",
					async ({ principal, params, body, set }) => {
						const dispute = await d.disputes.file(principal.user.id, params.id, body);
						set.status = 201;
						return dispute;
					},
					{
						auth: true,
						params: CompetitionParams,
						body: FileDisputeBody,
						response: { 201: DisputeView, ...errors },
						detail: {
							summary: "File a dispute against a participant (participants, during the dispute window)",
						},
					},
				)
				.get("/disputes", async ({ principal, params }) => d.disputes.list(principal.user.id, params.id), {
					auth: true,
					params: CompetitionParams,
					response: { 200: t.Array(DisputeView), 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
					detail: { summary: "Disputes: all for the organiser, one's own for a participant" },
				})
				.post(
					"/disputes/:disputeId/resolve",
					({ principal, params, body }) =>
						d.disputes.resolve(principal.user.id, params.id, params.disputeId, body),
					{
						auth: true,
						params: DisputeParams,
						body: ResolveDisputeBody,
						response: { 200: DisputeView, ...errors },
						detail: {
							summary: "Uphold (exclude the subject: a new snapshot version) or reject a dispute (organiser)",
						},
					},
				)
				.get(
					"/audit",
					async ({ principal, params }) => {
						const [c] = await d.sql<
							{ organiser_id: string }[]
						>`select organiser_id::text from competitions where id = ${params.id}`;
						if (!c) throw new NotFound("competition");
						if (c.organiser_id !== principal.user.id)
							throw new Forbidden("only the organiser reads the audit");
						const items = await d.sql<
							{
								id: number;
								actorId: string | null;
								action: string;
								details: Record<string, unknown>;
								createdAt: Date;
							}[]
						>`
							select id::int, actor_id::text as "actorId", action, details, created_at as "createdAt"
							from competition_audit where competition_id = ${params.id} order by id`;
						return { items: items.map((i) => ({ ...i, createdAt: i.createdAt.toISOString() })) };
					},
					{
						auth: true,
						params: CompetitionParams,
						response: { 200: AuditView, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 422: ErrorBody },
						detail: { summary: "The competition's append-only audit (organiser)" },
					},
				),
		);
}
