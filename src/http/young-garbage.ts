import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's allocation-site pretenuring for this process, so that a request's objects stay in the
 * young generation, where they die for next to nothing.
 *
 * Under load a few of the front's allocation sites (the response, a stream, a listener) once had most of
 * their objects alive at a scavenge; V8 then allocates that site's objects straight in the old space. An
 * old object that points to young ones keeps them through every scavenge (the scavenger does not know it is
 * dead), so they are promoted in turn, their own sites look long-lived, and within seconds everything a
 * request allocates goes to the old space and waits for a full mark-compact. Measured on the hello-world
 * bench (bench/apps, `node --trace-gc`): each scavenge kept 2.3 to 2.5 MB (the old space grew from 35 to
 * 145 MB between mark-compacts) and took 10 to 24 ms; with pretenuring off it keeps nothing and takes 1 to
 * 2.4 ms, and the front's CPU profile loses most of its garbage collector time (bench/RESULTS.md).
 * The Fastify front alone in a bare process (bench/app-proxy.ts) never tipped over, which is why it ran at
 * 1.5 times the whole server.
 *
 * The flag is read by V8 as it allocates, so setting it once the process runs takes effect (checked with
 * `--trace-gc`). It changes where objects are placed, never what the program computes.
 */
export function keepRequestGarbageYoung(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
