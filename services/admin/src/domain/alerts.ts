import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Logger } from '@codex/shared';
import ipaddr from 'ipaddr.js';

/** Whether an address is on the public internet: not private, loopback, link-local, unique-local, … */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

/**
 * A DNS lookup that refuses any answer outside the public internet. The check is made on the address the
 * request then connects to, so a name that resolves differently the second time (DNS rebinding) cannot
 * slip past it.
 */
function publicOnlyLookup(): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const refused = addresses.find((entry) => !isPublicAddress(entry.address));
      if (refused || addresses.length === 0) {
        const error = Object.assign(new Error(`${hostname} resolves to ${refused?.address ?? 'nothing'}, not a public address`), { code: 'EADDRNOTPUBLIC' });
        return callback(error, '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

export interface AlertWebhookOptions {
  url?: string;
  /** Let the URL's host resolve to a private, loopback or link-local address (an in-house receiver). */
  allowPrivate: boolean;
  logger: Logger;
  attempts?: number;
  firstRetryMs?: number;
  timeoutMs?: number;
}

/**
 * The optional alert webhook (ALERT_WEBHOOK_URL): each alert is one JSON POST, retried with backoff on a
 * network error or a 5xx/429, in the background. Only public addresses are reached unless allowed, so
 * the setting cannot be turned into a way to call the platform's own internal services.
 */
export class AlertWebhook {
  private readonly pending = new Set<Promise<boolean>>();

  constructor(private readonly options: AlertWebhookOptions) {}

  /** Sends in the background; the outcome is logged. */
  send(alert: Record<string, unknown>): void {
    if (!this.options.url) return;
    const delivery = this.deliver(alert).finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  /** Resolves once every alert sent so far is delivered or given up (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async deliver(alert: Record<string, unknown>): Promise<boolean> {
    const { url, logger } = this.options;
    if (!url) return false;
    const attempts = this.options.attempts ?? 4;
    const body = JSON.stringify({ ...alert, sentAt: new Date().toISOString() });
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const outcome = await this.post(url, body).catch((err: Error & { code?: string }) => ({ error: err }));
      if ('status' in outcome && outcome.status < 300) return true;
      const permanent =
        ('status' in outcome && outcome.status < 500 && outcome.status !== 429) || ('error' in outcome && outcome.error.code === 'EADDRNOTPUBLIC');
      const reason = 'status' in outcome ? `HTTP ${outcome.status}` : outcome.error.message;
      if (permanent || attempt === attempts) {
        logger.warn('alert webhook not delivered', { reason, attempts: attempt, event: alert.event });
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, (this.options.firstRetryMs ?? 1_000) * 2 ** (attempt - 1)).unref());
    }
    return false;
  }

  private post(url: string, body: string): Promise<{ status: number }> {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    // An address written in the URL is never looked up, so it is checked here.
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (!this.options.allowPrivate && ipaddr.isValid(literal) && !isPublicAddress(literal)) {
      return Promise.reject(Object.assign(new Error(`${literal} is not a public address`), { code: 'EADDRNOTPUBLIC' }));
    }
    return new Promise((resolve, reject) => {
      const request = client.request(
        target,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'codex-metatron-alerts' },
          timeout: this.options.timeoutMs ?? 5_000,
          ...(this.options.allowPrivate ? {} : { lookup: publicOnlyLookup() }),
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
        },
      );
      request.on('timeout', () => request.destroy(new Error('no answer in time')));
      request.on('error', reject);
      request.end(body);
    });
  }
}
