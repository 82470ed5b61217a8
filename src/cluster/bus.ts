import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** What one node tells the others. */
export type BusMessage =
  /** A cache scope moved to a generation: copies of older generations are dropped. */
  | { kind: 'generation'; scope: string; generation: number }
  /** A tenant's user store definitions changed in the database: read them again. */
  | { kind: 'stores'; tenantId: number }
  /** A tenant was created or deleted. */
  | { kind: 'tenants' }
  /** The maintenance mode was switched to this generation: read its state again (src/maintenance). */
  | { kind: 'maintenance'; generation: number }
  /** A tenant's apps changed in the database (a version deployed or made current, an app undeployed). */
  | { kind: 'webapps'; tenantId: number };

export type BusListener = (message: BusMessage) => void;
export type SubscriptionListener = (subscribed: boolean) => void;

/**
 * Tells every node (this one included) what changed. Delivery is best effort: a node that is not
 * subscribed misses messages, which is why `onSubscription` says when to stop trusting what it holds.
 */
export interface InvalidationBus {
  /**
   * Never throws; resolves false when the message could not be sent, so that a caller whose correctness
   * depends on it (a cache invalidation) can make up for it. Others rely on the receivers' periodic rescans.
   */
  publish(message: BusMessage): Promise<boolean>;
  onMessage(listener: BusListener): void;
  /** Called with false as soon as messages may be missed, and with true once the subscription is back. */
  onSubscription(listener: SubscriptionListener): void;
  readonly subscribed: boolean;
  close(): Promise<void>;
}

/** The bus of a node without Redis: its messages reach its own listeners only. */
export class LocalBus implements InvalidationBus {
  private readonly listeners: BusListener[] = [];
  readonly subscribed = true;

  async publish(message: BusMessage): Promise<boolean> {
    for (const listener of this.listeners) listener(message);
    return true;
  }

  onMessage(listener: BusListener): void {
    this.listeners.push(listener);
  }

  onSubscription(): void {}

  async close(): Promise<void> {
    this.listeners.length = 0;
  }
}

/**
 * Redis pub/sub on one channel: published through the cache's command connection, received on a
 * subscriber connection of its own (a subscribed connection can run no other command).
 */
export class RedisBus implements InvalidationBus {
  private readonly subscriber: Redis;
  private readonly listeners: BusListener[] = [];
  private readonly subscriptionListeners: SubscriptionListener[] = [];
  private isSubscribed = false;
  private closing = false;

  /** `subscriber` is a connection of the bus's own (`openRedis`), not yet connected: `start` connects it. */
  constructor(
    subscriber: Redis,
    private readonly channel: string,
    private readonly publisher: Redis,
    private readonly logger: Logger,
  ) {
    this.subscriber = subscriber;
    this.subscriber.on('ready', () => {
      // Subscribed again by hand on every reconnect, so that "subscribed" is only said once it is true.
      this.subscriber.subscribe(this.channel).then(
        () => this.setSubscribed(true),
        (error: unknown) => this.logger.debug({ reason: String(error) }, 'cache bus: subscribing failed'),
      );
    });
    this.subscriber.on('close', () => this.setSubscribed(false));
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
      const message = parseMessage(text);
      if (message === undefined) {
        this.logger.warn({ channel }, 'cache bus: ignored a message that is not one of ours');
        return;
      }
      for (const listener of this.listeners) listener(message);
    });
  }

  get subscribed(): boolean {
    return this.isSubscribed;
  }

  /** Starts connecting the subscriber (in the background; it keeps trying while Redis is down). */
  start(): Promise<void> {
    return this.subscriber.connect().catch(() => {});
  }

  async publish(message: BusMessage): Promise<boolean> {
    try {
      await this.publisher.publish(this.channel, JSON.stringify(message));
      return true;
    } catch (error) {
      this.logger.debug({ reason: String(error), kind: message.kind }, 'cache bus: publishing failed');
      return false;
    }
  }

  onMessage(listener: BusListener): void {
    this.listeners.push(listener);
  }

  onSubscription(listener: SubscriptionListener): void {
    this.subscriptionListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.setSubscribed(false);
    this.subscriber.disconnect();
  }

  private setSubscribed(subscribed: boolean): void {
    if (this.isSubscribed === subscribed || (subscribed && this.closing)) return;
    this.isSubscribed = subscribed;
    for (const listener of this.subscriptionListeners) listener(subscribed);
  }
}

function parseMessage(text: string): BusMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  if (
    message.kind === 'generation' &&
    typeof message.scope === 'string' &&
    Number.isInteger(message.generation)
  )
    return { kind: 'generation', scope: message.scope, generation: message.generation as number };
  if (message.kind === 'stores' && Number.isInteger(message.tenantId))
    return { kind: 'stores', tenantId: message.tenantId as number };
  if (message.kind === 'tenants') return { kind: 'tenants' };
  if (message.kind === 'webapps' && Number.isInteger(message.tenantId))
    return { kind: 'webapps', tenantId: message.tenantId as number };
  if (message.kind === 'maintenance' && Number.isInteger(message.generation))
    return { kind: 'maintenance', generation: message.generation as number };
  return undefined;
}
