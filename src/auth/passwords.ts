/** Password hashing (argon2id via Bun.password) and the password policy. */
import { Invalid } from "../errors.ts";

export const MIN_PASSWORD_LENGTH = 10;

export function hashPassword(password: string): Promise<string> {
	return Bun.password.hash(password, { algorithm: "argon2id" });
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
	return Bun.password.verify(password, hash, "argon2id");
}

/** Throws 422 with the reason when the password is not acceptable. */
export function assertPasswordPolicy(password: string, email: string | null | undefined): void {
	if (password.length < MIN_PASSWORD_LENGTH)
		throw new Invalid(`password must be at least ${MIN_PASSWORD_LENGTH} characters`, {
			field: "password",
			reason: "too_short",
		});
	if (email && password.trim().toLowerCase() === email.trim().toLowerCase())
		throw new Invalid("password must not equal the email address", {
			field: "password",
			reason: "equals_email",
		});
}

let dummy: Promise<string> | undefined;

/**
 * Verifies against a throwaway hash so that a login for an unknown email
 * costs the same argon2 work as a wrong password.
 */
export async function burnPasswordCheck(password: string): Promise<void> {
	dummy ??= hashPassword(crypto.randomUUID());
	await verifyPassword(password, await dummy);
}
