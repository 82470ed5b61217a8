// Waits for a server under a bench to answer: shared by bench/apps and bench/redeploy.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `url` every 200 ms until its status passes `accept` (default: 200 only), or throws after
 * `deadlineMs`. A refused connection is a server not listening yet.
 */
export async function untilAnswers(url, { accept = (status) => status === 200, deadlineMs = 30_000 } = {}) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (accept(response.status)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer as expected within ${deadlineMs} ms`);
    await sleep(200);
  }
}
