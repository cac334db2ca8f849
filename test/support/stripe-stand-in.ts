import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * TEST DOUBLE. A local stand-in for the few Stripe API endpoints the billing
 * service uses (`POST /v1/payment_intents`, `POST /v1/refunds`), with Stripe's
 * idempotency semantics: a request repeated with the same `Idempotency-Key`
 * and parameters gets the first answer and charges nothing more; the same
 * key with other parameters is refused. The official `stripe` client talks to
 * it through its `host`/`port`/`protocol` settings. `pm_card_chargeDeclined`
 * declines, as in Stripe's test mode; a method not named `pm_card_…` does not exist (400).
 */
export interface StripeStandIn {
  url: string;
  /** Payment intents created (each a charge), by id. */
  intents: Map<string, { amount: number; currency: string; paymentMethod: string; refunded: number; metadata: Record<string, string> }>;
  /** Requests received per path, retries included, with the secret key they were made with (which Stripe account). */
  requests: Array<{ path: string; idempotencyKey: string | undefined; secretKey: string | undefined }>;
  /**
   * Runs before the answer to the next new charge is sent: `holdMs` keeps the answer back that long (a
   * timeout); `dropAnswers` closes the connection instead of answering, for the charge and for that many
   * replays of its key in all (the client's own retries), so the charge is made but its outcome is lost.
   */
  beforeNextChargeAnswer?: { holdMs?: number; run?: () => void; dropAnswers?: number };
  /** The same for the next new refund. */
  beforeNextRefundAnswer?: { holdMs?: number; run?: () => void; dropAnswers?: number };
  close(): Promise<void>;
}

const parse = (body: string) => {
  const params = new URLSearchParams(body);
  const metadata: Record<string, string> = {};
  for (const [key, value] of params) {
    const match = /^metadata\[(.+)\]$/.exec(key);
    if (match) metadata[match[1]!] = value;
  }
  return { params, metadata };
};

export async function startStripeStandIn(): Promise<StripeStandIn> {
  const answers = new Map<string, { body: string; status: number; answer: unknown }>();
  let dropping: { key: string | undefined; remaining: number } | undefined;
  const standIn: StripeStandIn = { url: '', intents: new Map(), requests: [], close: async () => undefined };

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const key = req.headers['idempotency-key'] as string | undefined;
      const path = req.url ?? '';
      standIn.requests.push({ path, idempotencyKey: key, secretKey: req.headers.authorization?.replace(/^Bearer /, '') });
      const send = (status: number, answer: unknown) =>
        res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': `req_${randomBytes(6).toString('hex')}` }).end(JSON.stringify(answer));
      if (key) {
        const earlier = answers.get(`${path} ${key}`);
        if (earlier && earlier.body !== body) {
          send(400, {
            error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' },
          });
          return;
        }
        if (earlier && dropping?.key === key && dropping.remaining > 0) {
          dropping.remaining -= 1;
          req.socket.destroy();
          return;
        }
        if (earlier) {
          send(earlier.status, earlier.answer);
          return;
        }
      }
      const { params, metadata } = parse(body);
      let status = 200;
      let answer: unknown;
      let fresh = false;
      let refundMade = false;
      if (req.method === 'POST' && path === '/v1/payment_intents') {
        const id = `pi_${randomBytes(8).toString('hex')}`;
        const paymentMethod = params.get('payment_method') ?? '';
        const amount = Number(params.get('amount'));
        const currency = params.get('currency') ?? '';
        if (!paymentMethod.startsWith('pm_card_')) {
          status = 400;
          answer = { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such PaymentMethod: '${paymentMethod}'` } };
        } else if (paymentMethod === 'pm_card_chargeDeclined') {
          status = 402;
          answer = {
            error: {
              type: 'card_error',
              code: 'card_declined',
              message: 'Your card was declined.',
              payment_intent: { id, object: 'payment_intent', status: 'requires_payment_method', amount, currency, metadata },
            },
          };
        } else {
          standIn.intents.set(id, { amount, currency, paymentMethod, refunded: 0, metadata });
          answer = { id, object: 'payment_intent', status: 'succeeded', amount, currency, metadata, latest_charge: `ch_${id.slice(3)}` };
          fresh = true;
        }
      } else if (req.method === 'POST' && path === '/v1/refunds') {
        const intent = standIn.intents.get(params.get('payment_intent') ?? '');
        const amount = Number(params.get('amount') ?? intent?.amount ?? 0);
        if (!intent || amount <= 0 || intent.refunded + amount > intent.amount) {
          status = 400;
          answer = { error: { type: 'invalid_request_error', message: 'Refund amount is greater than what is left of the charge.' } };
        } else {
          intent.refunded += amount;
          answer = { id: `re_${randomBytes(8).toString('hex')}`, object: 'refund', status: 'succeeded', amount, payment_intent: params.get('payment_intent') };
          refundMade = true;
        }
      } else {
        send(404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${path}).` } });
        return;
      }
      if (key) answers.set(`${path} ${key}`, { body, status, answer });
      const hook = fresh ? standIn.beforeNextChargeAnswer : refundMade ? standIn.beforeNextRefundAnswer : undefined;
      if (hook && fresh) standIn.beforeNextChargeAnswer = undefined;
      if (hook && refundMade) standIn.beforeNextRefundAnswer = undefined;
      hook?.run?.();
      if (hook?.dropAnswers) {
        dropping = { key, remaining: hook.dropAnswers - 1 };
        req.socket.destroy();
        return;
      }
      if (hook?.holdMs) setTimeout(() => send(status, answer), hook.holdMs);
      else send(status, answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standIn.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return standIn;
}

/** A webhook request as Stripe would send it: the event's JSON and its `Stripe-Signature`, made by the library's own test helper. */
export function signedStripeEvent(
  event: { id: string; type: string; object: Record<string, unknown> },
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): { payload: string; signature: string } {
  const payload = JSON.stringify({ id: event.id, object: 'event', type: event.type, created: timestamp, data: { object: event.object } });
  return { payload, signature: Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }) };
}
