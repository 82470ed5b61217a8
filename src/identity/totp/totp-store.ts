import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';

/** An account's authenticator row as the second factor reads it (the secret still sealed). */
export interface StoredAuthenticator {
  secret: string;
  confirmedAt: number | null;
  lastStep: number | null;
}

/** Which account: its tenant and `<STORE>/<lower-cased name>` (`totpAccount`). */
export interface TotpAccount {
  tenantId: number;
  account: string;
}

/** The account key of the TOTP tables: the lockout's account subject without the tenant, which is a column. */
export function totpAccount(tenantId: number, store: string, username: string): TotpAccount {
  return { tenantId, account: `${store.toUpperCase()}/${username.toLowerCase()}` };
}

/**
 * The `totp_authenticators` and `totp_recovery_codes` tables (2.1.0). Every read is by primary key; the
 * writes that must happen once (a code's step, a recovery code) are conditional, so that two nodes
 * accepting the same code at the same moment let only one of them through.
 */
export class TotpStore {
  constructor(private readonly db: Kysely<Schema>) {}

  async find({ tenantId, account }: TotpAccount): Promise<StoredAuthenticator | undefined> {
    const row = await this.db
      .selectFrom('totp_authenticators')
      .select(['secret', 'confirmed_at', 'last_step'])
      .where('tenant_id', '=', tenantId)
      .where('account', '=', account)
      .executeTakeFirst();
    return row && { secret: row.secret, confirmedAt: row.confirmed_at, lastStep: row.last_step };
  }

  /** A new, unconfirmed authenticator replacing any earlier one (and its recovery codes). */
  async begin(who: TotpAccount, sealedSecret: string, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('totp_recovery_codes')
        .where('tenant_id', '=', who.tenantId)
        .where('account', '=', who.account)
        .execute();
      await trx
        .deleteFrom('totp_authenticators')
        .where('tenant_id', '=', who.tenantId)
        .where('account', '=', who.account)
        .execute();
      await trx
        .insertInto('totp_authenticators')
        .values({
          tenant_id: who.tenantId,
          account: who.account,
          secret: sealedSecret,
          confirmed_at: null,
          last_step: null,
          created_at: now,
        })
        .execute();
    });
  }

  /**
   * Records `step` as used, only if no code of that step or a later one was: true when this call did it.
   * The one write that makes a code single-use, on every node at once.
   */
  async claimStep({ tenantId, account }: TotpAccount, step: number): Promise<boolean> {
    const result = await this.db
      .updateTable('totp_authenticators')
      .set({ last_step: step })
      .where('tenant_id', '=', tenantId)
      .where('account', '=', account)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Makes an enrolment active with its first code's step and fresh recovery codes (their digests). */
  async confirm(who: TotpAccount, step: number, digests: readonly string[], now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('totp_authenticators')
        .set({ confirmed_at: now, last_step: step })
        .where('tenant_id', '=', who.tenantId)
        .where('account', '=', who.account)
        .where('confirmed_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await this.insertCodes(trx, who, digests);
      return true;
    });
  }

  /** Replaces the recovery codes. */
  async replaceRecoveryCodes(who: TotpAccount, digests: readonly string[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('totp_recovery_codes')
        .where('tenant_id', '=', who.tenantId)
        .where('account', '=', who.account)
        .execute();
      await this.insertCodes(trx, who, digests);
    });
  }

  /** Uses up a recovery code: true when it was there (and this call removed it). */
  async spendRecoveryCode({ tenantId, account }: TotpAccount, digest: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('totp_recovery_codes')
      .where('tenant_id', '=', tenantId)
      .where('account', '=', account)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async recoveryCodesLeft({ tenantId, account }: TotpAccount): Promise<number> {
    const row = await this.db
      .selectFrom('totp_recovery_codes')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('account', '=', account)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Removes the authenticator and its codes; true when there was one. */
  async remove({ tenantId, account }: TotpAccount): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('totp_recovery_codes')
        .where('tenant_id', '=', tenantId)
        .where('account', '=', account)
        .execute();
      const result = await trx
        .deleteFrom('totp_authenticators')
        .where('tenant_id', '=', tenantId)
        .where('account', '=', account)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    });
  }

  private async insertCodes(
    trx: Kysely<Schema>,
    who: TotpAccount,
    digests: readonly string[],
  ): Promise<void> {
    if (digests.length === 0) return;
    await trx
      .insertInto('totp_recovery_codes')
      .values(digests.map((digest) => ({ tenant_id: who.tenantId, account: who.account, digest })))
      .execute();
  }
}
