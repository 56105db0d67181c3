/** Request and response schemas of delivery channels (TypeBox, shown in Swagger). */
import { t } from "elysia";
import { CHANNEL_KINDS } from "../outbound/types.ts";

export { ErrorBody } from "../auth/model.ts";

export const MAX_CHANNELS_PER_USER = 20;
export const MAX_HEADERS = 20;

const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

export const ChannelKind = t.UnionEnum(CHANNEL_KINDS);

const Name = t.String({ minLength: 1, maxLength: 100, pattern: "\\S", description: "not blank" });
const Url = t.String({
	maxLength: 2048,
	examples: ["https://hooks.example.com/herald"],
	description: "http(s) only; private, loopback and metadata addresses are refused (422, `details.reason`)",
});
const Headers = t.Record(t.String(), t.String({ maxLength: 2000 }), {
	description:
		`Extra request headers (at most ${MAX_HEADERS}). Values are write-only: responses list the names. ` +
		"Content-Type, User-Agent, Idempotency-Key, Host, Content-Length and other connection-level headers, " +
		"and X-Herald-*, are Herald's: refused (422).",
	examples: [{ Authorization: "Bearer …" }],
});
const ChatId = t.String({
	pattern: "^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,32})$",
	description: "a numeric chat id or an @channel username",
	examples: ["123456789"],
});
const Address = t.String({ format: "email", maxLength: 254, examples: ["ada@example.com"] });

export const ChannelView = t.Object({
	id: t.String({ format: "uuid" }),
	kind: ChannelKind,
	name: t.String(),
	enabled: t.Boolean(),
	/** Email: a code was confirmed. Webhook and Telegram channels are always verified. */
	verified: t.Boolean({ description: "email: the address confirmed its code; others: always true" }),
	url: t.Nullable(t.String({ description: "webhook" })),
	headerNames: t.Array(t.String(), { description: "webhook: the extra headers set (values are not shown)" }),
	address: t.Nullable(t.String({ description: "email" })),
	verifiedAt: t.Nullable(t.String({ format: "date-time" })),
	chatId: t.Nullable(t.String({ description: "telegram" })),
	createdAt: t.String({ format: "date-time" }),
	updatedAt: t.String({ format: "date-time" }),
});

export const CreatedChannel = t.Composite([
	ChannelView,
	t.Object({
		secret: t.Optional(
			t.String({
				description:
					"webhook: the HMAC-SHA256 signing secret (32 random bytes, base64url). Shown only in this response.",
			}),
		),
		verificationSent: t.Optional(
			t.Boolean({
				description: "email: whether the verification code went out (else ask for it again)",
			}),
		),
	}),
]);

/** Another kind's field: present, it is a validation error (Elysia would otherwise drop it silently). */
const Foreign = t.Optional(t.Never({ description: "belongs to another kind of channel" }));

/**
 * One shape per kind: a field of another kind is a validation error, as the
 * schema says. Email comes first: it is what Swagger UI's "Try it out" fills in.
 */
export const CreateChannelBody = t.Union([
	t.Object(
		{
			kind: t.Literal("email"),
			name: t.Optional(Name),
			address: Address,
			url: Foreign,
			headers: Foreign,
			chatId: Foreign,
		},
		{ title: "email channel" },
	),
	t.Object(
		{
			kind: t.Literal("webhook"),
			name: t.Optional(Name),
			url: Url,
			headers: t.Optional(Headers),
			address: Foreign,
			chatId: Foreign,
		},
		{ title: "webhook channel" },
	),
	t.Object(
		{
			kind: t.Literal("telegram"),
			name: t.Optional(Name),
			chatId: ChatId,
			url: Foreign,
			headers: Foreign,
			address: Foreign,
		},
		{ title: "telegram channel" },
	),
]);

export const UpdateChannelBody = t.Object({
	name: t.Optional(Name),
	enabled: t.Optional(t.Boolean()),
	headers: t.Optional(Headers),
	url: t.Optional(Url),
});

export const VerifyBody = t.Object({
	code: t.String({ pattern: "^[0-9]{6}$", description: "the 6-digit code sent to the address" }),
});

export const ChannelParams = t.Object({ id: t.String({ format: "uuid", pattern: UUID_PATTERN }) });
export const ChannelList = t.Object({ items: t.Array(ChannelView) });

export type ChannelKind = typeof ChannelKind.static;
export type ChannelView = typeof ChannelView.static;
export type CreatedChannel = typeof CreatedChannel.static;
export type CreateChannelBody = typeof CreateChannelBody.static;
export type UpdateChannelBody = typeof UpdateChannelBody.static;
