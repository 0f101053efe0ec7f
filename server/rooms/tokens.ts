/**
 * Room ids and capability tokens. A token is 256 random bits (base64url, 43 characters), above
 * the 128 bits the threat model asks for; only its SHA-256 is stored, and neither the token nor
 * its hash is ever logged. SHA-256 without a salt is enough here: the input is random and long,
 * so there is nothing for a dictionary to find.
 */
import { createHash, randomBytes } from 'node:crypto';

const TOKEN_BYTES = 32;
const ROOM_ID_BYTES = 9;

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function newRoomId(): string {
  return randomBytes(ROOM_ID_BYTES).toString('base64url');
}

/** Hex SHA-256, the form stored in capability_tokens.token_hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
