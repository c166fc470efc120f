import { createHash } from 'node:crypto';
import { credentialNames, emailSendStep } from '@weft/definitions';
import type { EgressGuard } from '@weft/egress';
import { defineConnector, StepFailed } from '@weft/worker';
import { createTransport, type Transporter } from 'nodemailer';
import { ClientPool, credentialOfType, digest, egressDenial } from '../broker-clients';

/**
 * `email.send` over SMTP with nodemailer: a pooled transport per credential (closed when idle)
 * connected to the address the egress guard checked, TLS verified against the host's name.
 * The Message-ID is derived from the step's idempotency key: the same for every attempt.
 */
export function emailSendConnector() {
  // An SMTP answer (a 4xx or 5xx to one message) leaves the connection usable; only a failure
  // without one (the connection lost, a TLS error) retires the transport.
  const transports = new ClientPool<Transporter>(
    async (transport) => transport.close(),
    undefined,
    (error) => typeof (error as { responseCode?: unknown }).responseCode !== 'number',
  );
  const connector = defineConnector(emailSendStep, async (input, context) => {
    const messageId = `<${createHash('sha256').update(context.idempotencyKey).digest('hex').slice(0, 32)}@weft>`;
    const served = await context.fallback(credentialNames(input.credential), async (opened) => {
      const credential = credentialOfType(opened, 'smtp');
      const key = `${context.tenantId}:${credential.name}:${digest(credential.data)}`;
      try {
        const info = await transports.use(
          key,
          () => openTransport(credential.data, context.egress),
          (transport) =>
            transport.sendMail({
              from: input.from,
              to: input.to,
              cc: input.cc,
              bcc: input.bcc,
              replyTo: input.replyTo,
              subject: input.subject,
              text: input.text,
              html: input.html,
              messageId,
              headers: { 'X-Weft-Idempotency-Key': context.idempotencyKey },
            }),
        );
        return {
          messageId: String(info.messageId ?? messageId),
          accepted: (info.accepted as unknown[]).map(String),
          rejected: (info.rejected as unknown[]).map(String),
        };
      } catch (error) {
        throw smtpFailure(error);
      }
    });
    return { ...served.value, credential: served.credential };
  });
  return Object.freeze({ ...connector, close: () => transports.closeAll() });
}

async function openTransport(
  smtp: { host: string; port: number; secure: boolean; username?: string; password?: string },
  egress: EgressGuard,
): Promise<Transporter> {
  const [address] = await egress.admit(smtp.host, `smtp ${smtp.host}:${smtp.port}`, smtp.port);
  return createTransport({
    host: address!.address,
    port: smtp.port,
    secure: smtp.secure,
    pool: true,
    maxConnections: 2,
    ...(smtp.username ? { auth: { user: smtp.username, pass: smtp.password ?? '' } } : {}),
    // Certificates are checked against the name, not the pinned address.
    tls: { servername: smtp.host },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}

/** 5xx is a refusal (not retried); 4xx and connection failures are tried again. */
function smtpFailure(error: unknown): StepFailed {
  if (error instanceof StepFailed) return error;
  const denied = egressDenial(error);
  if (denied) return new StepFailed('egress_denied', denied.message);
  const { responseCode, message } = error as { responseCode?: number; message?: string };
  const text = String(message ?? error).slice(0, 1000);
  if (typeof responseCode === 'number' && responseCode >= 500) {
    return new StepFailed('smtp_rejected', text);
  }
  return new StepFailed('connection_failed', text, { retryable: true });
}
