import { existsSync } from 'node:fs';
import { redactDatabaseUrl } from '../db/url.js';
import { TesseraError } from '../errors.js';
import { homeLayout } from '../home/layout.js';
import { openProduction, readOldConfig } from './build-plan.js';
import { freezeActor, releaseFreeze } from './freeze/production-freeze.js';
import { Journal, journalPath } from './journal.js';
import { promoteStep } from './steps/promote/promote.js';

export interface AbortOutcome {
  journal: Journal;
  /** What was done and what is left to the operator, one sentence a line. */
  lines: string[];
}

/**
 * `tessera upgrade --abort --home NEW`: ends an upgrade that has not promoted. Production leaves the
 * maintenance this upgrade put it in (only that one: a later switch is someone else's), and is otherwise
 * as it was, since nothing but promote writes to it. The journal is marked aborted, so that `--resume`
 * is refused from now on; staging and the new home are left as they are, for the operator to look at and
 * remove. Run again on an aborted upgrade, it does what is left (a freeze a crash kept) and says so.
 */
export async function abortUpgrade(home: string): Promise<AbortOutcome> {
  const newLayout = homeLayout(home);
  const file = journalPath(newLayout.root);
  if (!existsSync(file)) {
    throw new TesseraError('BAD_USAGE', `Nothing to abort: no upgrade journal at ${file}.`, {
      hint: 'Pass the --home of the upgrade to abort (its new home).',
    });
  }
  const journal = Journal.load(file);
  // Once promote retired production, its freeze must stay: a write the old nodes took then would be lost.
  const promote = journal.step(promoteStep);
  if (journal.data.status === 'completed' || promote.status === 'done' || promote.details?.retired) {
    throw new TesseraError(
      'BAD_USAGE',
      `The upgrade into ${newLayout.root} got to promote: production is retired (and stays frozen) and the new home runs on the upgraded database. It cannot be aborted.`,
      {
        hint: `Finish it with the same command and --resume if promote did not end; see it with: tessera upgrade report --home ${newLayout.root}`,
      },
    );
  }
  const lines = [await releaseProduction(journal)];
  journal.markAborted();
  lines.push(
    `Upgrade ${journal.data.id} is aborted: --resume is refused from now on. Production's data was never changed (only promote writes to it).`,
    `Staging ${redactDatabaseUrl(journal.data.command.stagingUrl)} and the new home ${newLayout.root} are left as they are: look at them if the failure needs it, then drop the staging database (create it again empty for the next run) and remove the new home. The backups are in ${newLayout.backups}.`,
  );
  return { journal, lines };
}

/** Switches production out of this upgrade's freeze, when there is one; what happened, in one sentence. */
async function releaseProduction(journal: Journal): Promise<string> {
  const { freeze, command } = journal.data;
  if (freeze === undefined) return 'Production was never frozen by this upgrade (the stopped-node path).';
  if (freeze.releasedAt !== undefined)
    return `Production left this upgrade's maintenance at ${new Date(freeze.releasedAt).toISOString()} already.`;
  const oldConfig = readOldConfig(homeLayout(command.fromHome).configFile);
  const production = await openProduction(oldConfig, homeLayout(command.fromHome).root);
  try {
    const release = await releaseFreeze(
      oldConfig,
      production,
      freeze.generation,
      `${freezeActor(journal.data.id)} --abort`,
    );
    if (release.released || release.why === 'already-off') {
      journal.recordFreeze({ ...freeze, releasedAt: Date.now() });
      return release.released
        ? `Production ${production.label} left maintenance: its nodes accept writes again (within one heartbeat period, at once with Redis).`
        : `Production ${production.label} was already out of maintenance (switched off by ${release.state.by ?? 'someone'}).`;
    }
    return `Production ${production.label} is in maintenance again since, switched by ${release.state.by ?? 'someone'} (generation ${release.state.generation}): left as it is; switch it off with tessera maintenance off --home ${command.fromHome} when that maintenance is over.`;
  } finally {
    await production.close();
  }
}
