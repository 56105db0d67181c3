import { t } from "elysia";
import { MIN_PASSWORD_LENGTH } from "./passwords.ts";

export const Email = t.String({ format: "email", maxLength: 254, examples: ["ada@example.com"] });
export const Password = t.String({
	maxLength: 1024,
	description: "at least 10 characters, not equal to the email",
});

export const UserView = t.Object({
	id: t.String({ format: "uuid" }),
	email: t.Nullable(t.String()),
	displayName: t.String(),
	timezone: t.String(),
	locale: t.String(),
	role: t.Union([t.Literal("user"), t.Literal("admin")]),
	createdAt: t.String({ format: "date-time" }),
	updatedAt: t.String({ format: "date-time" }),
});

export const TokenPair = t.Object({
	accessToken: t.String(),
	accessTokenExpiresAt: t.String({ format: "date-time" }),
	refreshToken: t.String(),
	refreshTokenExpiresAt: t.String({ format: "date-time" }),
	tokenType: t.Literal("Bearer"),
});

export const Session = t.Composite([t.Object({ user: UserView }), TokenPair]);

/** A new password: the policy's length in the schema; "not the email" is checked by the service. */
const NewPassword = t.String({
	minLength: MIN_PASSWORD_LENGTH,
	maxLength: 1024,
	description: `at least ${MIN_PASSWORD_LENGTH} characters, not equal to the email`,
	examples: ["correct horse battery staple"],
});

export const RegisterBody = t.Object({
	email: Email,
	password: NewPassword,
	displayName: t.String({ minLength: 1, maxLength: 100, pattern: "\\S", examples: ["Ada Lovelace"] }),
});

export const LoginBody = t.Object({ email: Email, password: Password });
export const RefreshBody = t.Object({ refreshToken: t.String({ minLength: 1, maxLength: 200 }) });

export const ErrorBody = t.Object({
	error: t.Object({
		code: t.String(),
		message: t.String(),
		requestId: t.String(),
		details: t.Optional(t.Unknown()),
	}),
});
