import { TesseraError } from '../../../errors.js';

export interface ApiReply {
  status: number;
  body: unknown;
  text: string;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** The REST API of a running server, called as one user (HTTP Basic), JSON in and out. */
export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly credentials: { username: string; password: string } | undefined,
  ) {}

  async call(method: string, route: string, body?: unknown): Promise<ApiReply> {
    const headers: Record<string, string> = {};
    if (this.credentials) {
      const { username, password } = this.credentials;
      headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (a web page): keep the text
    }
    return { status: response.status, body: parsed, text };
  }

  /** Calls and insists on one status; anything else is the smoke test failing, with the server's words. */
  async expect(status: number, method: string, route: string, body?: unknown): Promise<ApiReply> {
    const reply = await this.call(method, route, body);
    if (reply.status !== status) {
      const message = messageOf(reply.body) ?? reply.text.slice(0, 200);
      throw new TesseraError(
        'SMOKE_FAILED',
        `Smoke test: ${method} ${route} answered ${reply.status}, expected ${status}${message ? `: ${message}` : ''}.`,
        {
          hint: 'The new release does not work on the upgraded database: see the new home logs/tessera.log; production is untouched.',
        },
      );
    }
    return reply;
  }
}

function messageOf(body: unknown): string | undefined {
  if (typeof body === 'object' && body !== null && 'message' in body) {
    const { message } = body as { message: unknown };
    return typeof message === 'string' ? message : undefined;
  }
  return undefined;
}
