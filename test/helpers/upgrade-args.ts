/** What `tessera upgrade` is told to do, unattended. */
export interface UpgradeRun {
  fromHome: string;
  home: string;
  stagingUrl: string;
  /** `name:password` of an account whose sign-in the upgrade checks before and after. */
  checkLogin: string;
}

/** The CLI arguments of an unattended `tessera upgrade` (no import of the server, so that bench/ can use it too). */
export function upgradeArgs(run: UpgradeRun): string[] {
  return [
    'upgrade',
    '--from-home',
    run.fromHome,
    '--home',
    run.home,
    '--staging-db',
    run.stagingUrl,
    '--yes',
    '--check-login',
    run.checkLogin,
  ];
}
