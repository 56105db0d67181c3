/** /api/v1/triggers: CRUD, dry-run, decisions (explain). Another user's trigger answers 404. */
import { Elysia, t } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { HttpError } from "../http/errors.ts";
import type { BacktestService } from "./backtest.ts";
import type { ExplainService } from "./explain.ts";
import {
	BacktestBody,
	BacktestResult,
	CreatedTrigger,
	DecisionListQuery,
	DecisionPage,
	DryRunBody,
	DryRunResult,
	ErrorBody,
	IdParams,
	RunListQuery,
	RunPage,
	TriggerBody,
	TriggerListQuery,
	TriggerPage,
	TriggerView,
	UpdateTriggerBody,
} from "./model.ts";
import type { TriggerService } from "./triggers-service.ts";

const NoContent = t.Void({ description: "done, no body" });
/** `/dry-run` would otherwise reach the `/:id` routes (a 422 for a bad id) for the methods it does not have. */
const onlyPost = () => {
	throw new HttpError(
		405,
		"method_not_allowed",
		"only POST is allowed here",
		{ allow: ["POST"] },
		{ allow: "POST" },
	);
};
const hidden = { detail: { hide: true } };
const saveNote =
	"Every CEL expression is type-checked against the event: a mistake is 422 with `details.field` and " +
	"`details.position` ({start, end} in the expression). Template paths are checked too.";

export function triggerRoutes(
	auth: AuthService,
	triggers: TriggerService,
	explain: ExplainService,
	backtest: BacktestService,
) {
	const one = { auth: true as const, params: IdParams };
	const errors = { 401: ErrorBody, 404: ErrorBody, 422: ErrorBody };
	return new Elysia({ prefix: "/api/v1/triggers", detail: { tags: ["triggers"] } })
		.use(authPlugin(auth))
		.post(
			"",
			async ({ principal, body, set }) => {
				const created = await triggers.create(principal.user.id, body);
				set.status = 201;
				return created;
			},
			{
				auth: true,
				body: TriggerBody,
				response: { 201: CreatedTrigger, 401: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: { summary: "Create a trigger", description: saveNote },
			},
		)
		.get("", ({ principal, query }) => triggers.list(principal.user.id, query), {
			auth: true,
			query: TriggerListQuery,
			response: { 200: TriggerPage, 401: ErrorBody, 422: ErrorBody },
			detail: { summary: "The caller's triggers, oldest first" },
		})
		.post("/dry-run", ({ body }) => triggers.dryRun(body), {
			auth: true,
			body: DryRunBody,
			response: { 200: DryRunResult, 401: ErrorBody, 422: ErrorBody },
			detail: {
				summary: "Evaluate a trigger definition over events, with no side effects",
				description:
					"The reducer the processor runs, from empty state, over the given events in order: each decision, " +
					"its reason and the rendered payload of each fire. Nothing is stored or sent.",
			},
		})
		.get("/dry-run", onlyPost, hidden)
		.patch("/dry-run", onlyPost, hidden)
		.delete("/dry-run", onlyPost, hidden)
		.get("/:id", ({ principal, params }) => triggers.get(principal.user.id, params.id), {
			...one,
			response: { 200: TriggerView, ...errors },
			detail: { summary: "One trigger" },
		})
		.patch("/:id", ({ principal, params, body }) => triggers.update(principal.user.id, params.id, body), {
			...one,
			body: UpdateTriggerBody,
			response: { 200: TriggerView, ...errors },
			detail: {
				summary: "Change a trigger",
				description: `A change to types, sources, condition, key or clauses bumps \`version\` and resets its state; a change to the action or name alone does not. ${saveNote}`,
			},
		})
		.delete(
			"/:id",
			async ({ principal, params, set }) => {
				await triggers.remove(principal.user.id, params.id);
				set.status = 204;
			},
			{
				...one,
				response: { 204: NoContent, ...errors },
				detail: { summary: "Delete a trigger, its state and history" },
			},
		)
		.post(
			"/:id/backtest",
			({ principal, params, body }) => backtest.run(principal.user.id, params.id, body),
			{
				...one,
				body: BacktestBody,
				response: { 200: BacktestResult, ...errors },
				detail: {
					summary: "Replay stored events through the trigger, on a virtual clock",
					description:
						"The trigger's current definition over its owner's events received in [from, to), from empty state, " +
						"with the processor's own fold: fires (with payload previews), suppressions and decision counts. " +
						"Over the events the live path saw, it equals the live result. Nothing is written or sent.",
				},
			},
		)
		.get("/:id/runs", ({ principal, params, query }) => triggers.runs(principal.user.id, params.id, query), {
			...one,
			query: RunListQuery,
			response: { 200: RunPage, ...errors },
			detail: {
				summary: "The trigger's action runs, newest first, each with every attempt",
				description:
					"One run per fire: a Temporal workflow `action:<fireKey>` retried under its kind's policy " +
					"(DELIVERY_RETRY_*), through the shared circuit breaker.",
			},
		})
		.get(
			"/:id/decisions",
			({ principal, params, query }) => explain.decisions(principal.user.id, params.id, query),
			{
				...one,
				query: DecisionListQuery,
				response: { 200: DecisionPage, ...errors },
				detail: {
					summary: "Explain: the trigger's recorded decisions, each with its reason",
					description:
						"Every evaluation of an event that passed the prefilter, and every timer decision. With `eventId`: " +
						"that event's decisions, or `prefilter: miss` when the trigger does not hear it.",
				},
			},
		);
}
