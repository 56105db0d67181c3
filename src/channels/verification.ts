/**
 * Email channel verification: a 6-digit code, valid for 15 minutes and for
 * at most 5 wrong guesses, stored only as a hash. The code goes out through
 * the email sender, like any notification.
 */
import { createHash, randomInt, timingSafeEqual } from "node:crypto";
import type { DeliveryRequest } from "../outbound/types.ts";

export const CODE_TTL_MS = 15 * 60_000;
export const MAX_WRONG_CODES = 5;
/** A new code may be requested this long after the previous one. */
export const RESEND_COOLDOWN_MS = 30_000;

export const newCode = (): string => String(randomInt(0, 1_000_000)).padStart(6, "0");

/** Salted with the channel id, so equal codes of two channels hash differently. */
export const hashCode = (channelId: string, code: string): string =>
	createHash("sha256").update(`${channelId}:${code}`).digest("hex");

export function codeMatches(channelId: string, code: string, storedHash: string): boolean {
	const given = Buffer.from(hashCode(channelId, code), "hex");
	const expected = Buffer.from(storedHash, "hex");
	return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The verification email as a delivery request (the email sender's contract). */
export function verificationRequest(
	channel: { id: string; userId: string; address: string },
	code: string,
	now: Date,
): DeliveryRequest {
	return {
		deliveryId: channel.id,
		attempt: 1,
		idempotencyKey: `verify_${channel.id}_${now.getTime()}`,
		target: { kind: "email", address: channel.address },
		message: {
			notificationId: channel.id,
			userId: channel.userId,
			kind: "channel_verification",
			title: `Your Herald verification code: ${code}`,
			body:
				`Enter the code ${code} to confirm that Herald may send notifications to this address. ` +
				`It expires in ${CODE_TTL_MS / 60_000} minutes. If you did not ask for it, ignore this email.`,
			data: { channelId: channel.id },
			createdAt: now.toISOString(),
		},
	};
}
