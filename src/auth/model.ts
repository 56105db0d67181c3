import { t } from "elysia";

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

export const RegisterBody = t.Object({
	email: Email,
	password: Password,
	displayName: t.String({ minLength: 1, maxLength: 100, pattern: "\\S" }),
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
