/**
 * Fault injection for the resume tests: when `TESSERA_UPGRADE_CRASH_AT` names this point (optionally with
 * `#N` for its N-th passage), the process kills itself with SIGKILL right there, as an operator's kill -9
 * or a power cut would. Unset in normal runs, where each call is one environment lookup.
 */
const passages = new Map<string, number>();

export function crashPoint(name: string): void {
  const wanted = process.env.TESSERA_UPGRADE_CRASH_AT;
  if (!wanted) return;
  const count = (passages.get(name) ?? 0) + 1;
  passages.set(name, count);
  const [point, nth] = wanted.split('#');
  if (point === name && count === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}
