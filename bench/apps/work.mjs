// What the bench's handlers do, shared by both forms.
export const HELLO = Buffer.from('hello world\n');

/** Spins for about `ms` of CPU, as a handler that renders or computes something would. */
export function busy(ms) {
  const until = performance.now() + ms;
  let x = 0;
  while (performance.now() < until) x++;
  return x;
}
