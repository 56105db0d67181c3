/**
 * Events and participants (seed 000): the REST API, the event actor fed by
 * the outbox (`event:<uuid>`, hearing both tables), and the live topic
 * (`/ws/events/:id`).
 */
import { createEventActivities } from "../../activities/events/index.ts";
import { eventActorDefinition } from "../../workflows/event.ts";
import { defineFeature, routes } from "../feature.ts";
import { eventRoutes } from "./routes.ts";
import { createEventService } from "./service.ts";
import { eventSocketRoute } from "./socket-route.ts";
import { eventsTopic } from "./topic.ts";

export const eventsFeature = defineFeature({
	name: "events",
	routes: ({ auth, sql, temporal, sockets }) =>
		routes(eventRoutes({ auth, temporal }, createEventService({ sql })), eventSocketRoute({ sql, sockets })),
	activities: ({ sql }) => createEventActivities({ sql }),
	actors: [
		{
			actor: eventActorDefinition,
			tables: ["events", "participants"],
			// The actor ends when its event is cancelled, deleted or over: only scheduled, unfinished
			// events keep one.
			liveKeys: async (sql, after, limit) => {
				const rows = await sql<{ id: string }[]>`
					select id::text from events
					where status = 'scheduled' and ends_at > now() and id::text > ${after}
					order by id::text limit ${limit}`;
				return rows.map((r) => r.id);
			},
		},
	],
	topics: [eventsTopic],
});
