import { redactDatabaseUrl } from '../db/url.js';
import { isTesseraError } from '../errors.js';

/**
 * Runs a command's body and turns its outcome into the exit codes of README, Command line: 0 success, 1 failure,
 * 2 bad usage or refused precondition, each refusal followed by what to do next on stderr.
 */
export async function runCommand(body: () => Promise<unknown>): Promise<void> {
  try {
    const code = await body();
    if (typeof code === 'number') process.exitCode = code;
  } catch (error) {
    if (isTesseraError(error)) {
      process.stderr.write(`tessera: ${redactDatabaseUrl(error.message)}\n`);
      if (error.hint) process.stderr.write(`  next: ${redactDatabaseUrl(error.hint)}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`tessera: ${redactDatabaseUrl((error as Error)?.stack ?? String(error))}\n`);
      process.exitCode = 1;
    }
  }
}

/** The home folder from `--home`, else `TESSERA_HOME`, else `./tessera-home`. */
export function resolveHome(option: string | undefined): string {
  return option ?? process.env.TESSERA_HOME ?? './tessera-home';
}
