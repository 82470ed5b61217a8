/**
 * The error and the errors it wraps, outermost first: a TesseraError keeps the driver's error as its
 * cause, and the driver's code (SQLSTATE, errno) is on that one. A few levels at most, against a cycle.
 */
export function errorCauses(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e instanceof Error && chain.length < 5; e = e.cause) chain.push(e);
  return chain;
}
