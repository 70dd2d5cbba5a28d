import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { IntegrityError } from '../../core/errors.js';

/*
 * Webhook secrets at rest. A receiver trusts a delivery because only Sextant knows the target's
 * secret, so a copy of the database (a backup, a stolen laptop's .sextant folder, a read-only SQL
 * account) must not hand the secrets out. They are sealed with AES-256-GCM under a key derived from
 * the server key (the audit key, kept outside the database) and opened only to sign a delivery.
 * Stored form: `enc:v1:<iv>:<ciphertext>:<tag>` (base64url). A value without the prefix is a secret
 * stored before sealing existed; sealStoredSecrets() seals those in place.
 */

const PREFIX = 'enc:v1:';

export interface SecretBox {
  seal(secret: string): string;
  /** The secret of a stored value (sealed, or plaintext from before sealing). */
  open(stored: string): string;
  isSealed(stored: string): boolean;
}

/** A box keyed by the server key; the same server key always opens what it sealed. */
export function createSecretBox(serverKey: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', serverKey, 'sextant', 'webhook secrets v1', 32));
  return {
    seal(secret) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return `${PREFIX}${[iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join(':')}`;
    },
    open(stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      const [iv, body, tag] = stored
        .slice(PREFIX.length)
        .split(':')
        .map((p) => Buffer.from(p, 'base64url'));
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv!);
        decipher.setAuthTag(tag!);
        return Buffer.concat([decipher.update(body!), decipher.final()]).toString('utf8');
      } catch {
        throw new IntegrityError(
          'a webhook secret cannot be opened with this server key (the key changed, or the value was altered)',
        );
      }
    },
    isSealed: (stored) => stored.startsWith(PREFIX),
  };
}
