import net from 'node:net';
import { TesseraError } from '../errors.js';

/** Where the port a start listens on came from, for the refusal to name what to change. */
export type PortSource = 'option' | 'PORT' | 'server.port';

/**
 * Refuses a port something else listens on before the start opens the database, loads user stores or
 * deploys apps: found only at `listen`, it cost the whole start and looked like a crash. A probe bound and
 * released at once; the real `listen` still refuses the same way if the port is taken in between.
 */
export async function assertPortAvailable(port: number, host: string, source: PortSource): Promise<void> {
  if (port === 0) return;
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const probe = net.createServer();
    probe.once('error', (failure: NodeJS.ErrnoException) => resolve(failure));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
  // Other failures (an unknown host, a privileged port) are left to the real listen, which reports them.
  if (error?.code === 'EADDRINUSE') throw portInUse(port, source);
}

export function portInUse(port: number, source: PortSource): TesseraError {
  const from = {
    option: 'the port asked for',
    PORT: 'from PORT',
    'server.port': 'server.port in conf/tessera.toml',
  }[source];
  return new TesseraError('PORT_IN_USE', `Port ${port} (${from}) is already in use.`, {
    hint: `Stop whatever listens on ${port}, or choose a free port: PORT=${port < 65_535 ? port + 1 : port - 1} tessera start, or set server.port in conf/tessera.toml.`,
  });
}
