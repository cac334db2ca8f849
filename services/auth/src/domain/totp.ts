import { randomBytes } from 'node:crypto';
import { ScureBase32Plugin } from '@otplib/plugin-base32-scure';
import { NodeCryptoPlugin } from '@otplib/plugin-crypto-node';
import { verify } from '@otplib/totp';
import { generateTOTP } from '@otplib/uri';

const crypto = new NodeCryptoPlugin();
const base32 = new ScureBase32Plugin();

/** What authenticator apps show above the code. */
export const TOTP_ISSUER = 'Codex Metatron';
/** A code from the step before or after the current one is accepted: phone clocks drift, people type slowly. */
const CLOCK_TOLERANCE_SECONDS = 30;

/** A new TOTP secret: 160 random bits (RFC 4226's recommendation for SHA-1), Base32 as apps expect it. */
export const newTotpSecret = (): string => base32.encode(randomBytes(20), { padding: false });

/** A recovery code as shown: 80 random bits, Base32 in lower case, in four groups of four. */
export const newRecoveryCode = (): string => base32.encode(randomBytes(10), { padding: false }).toLowerCase().match(/.{4}/g)!.join('-');

/** The `otpauth://` URI an authenticator app reads from a QR code. */
export const totpUri = (secret: string, account: string): string => generateTOTP({ issuer: TOTP_ISSUER, label: account, secret });

/**
 * The time step of `code` when it is right for `secret` and newer than `afterStep` (a code works once),
 * undefined otherwise.
 */
export async function acceptedTotpStep(secret: string, code: string, afterStep: number | null): Promise<number | undefined> {
  const result = await verify({
    secret,
    token: code,
    crypto,
    base32,
    epochTolerance: CLOCK_TOLERANCE_SECONDS,
    ...(afterStep === null ? {} : { afterTimeStep: afterStep }),
  }).catch(() => undefined);
  return result?.valid ? result.timeStep : undefined;
}
