/**
 * Shows the super tenant admin's generated password, once, on the terminal only: it is never written to
 * the logs. `tessera start` (on a first start) and `tessera init` show it alike.
 */
export function showGeneratedPassword(password: string): void {
  process.stdout.write(
    `\nThe super tenant admin was created.\n  username: admin\n  password: ${password}\nKeep it now: it is not shown again.\n\n`,
  );
}
