import { createHash, randomBytes } from 'node:crypto';

/**
 * A `userPassword` value in OpenLDAP's salted SHA-1 scheme. The directory, not Tessera, checks it when a
 * user binds, so it must be a scheme slapd verifies without extra modules ({SSHA} is slapd's own default;
 * argon2 needs the optional pw-argon2 module). Never the cleartext, which any reader of the entry could see.
 * Made from the password's NFC form, as every hash Tessera makes (see `passwordForms`).
 */
export function sshaPassword(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password.normalize('NFC'), 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}
