// The fault suite's mail server: a real SMTP server (smtp-server) on loopback that records the
// header of every message it accepts. `withholdRate` makes it answer 451 to a share of first
// deliveries after it kept the message — a lost acknowledgement, the case a stable Message-ID
// exists for: the step tries again and the same message arrives twice.
'use strict';
const { SMTPServer } = require('smtp-server');
const { headersOf } = require('./message-ids.cjs');

/**
 * @typedef {{ messageId: string | null, subject: string | null, idempotencyKey: string | null,
 *             withheld: boolean }} RecordedMail
 */

/**
 * Starts the server on 127.0.0.1 and a free port.
 * @param {{ withholdRate?: number, random?: () => number }} [options]
 */
async function startSmtpRecorder(options = {}) {
  const withholdRate = options.withholdRate ?? 0;
  const random = options.random ?? Math.random;
  /** @type {RecordedMail[]} */
  const mails = [];
  /** Message-IDs delivered before: only a first delivery has its answer withheld. */
  const seen = new Set();
  /** Messages whose client went away before the final dot: not delivered, not recorded. */
  let interrupted = 0;
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: the credential says `secure: false`, and a STARTTLS offer would
    // make nodemailer upgrade to this server's self-signed certificate and refuse it.
    disabledCommands: ['STARTTLS'],
    logger: false,
    // Closing waits this long for open connections (the stack is stopped by then), not 30 s.
    closeTimeout: 1_000,
    onData(stream, _session, callback) {
      const chunks = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      // The integration service killed in the middle of a message: smtp-server destroys the
      // stream with this error (only when someone listens).
      stream.on('error', () => {
        interrupted += 1;
      });
      stream.on('end', () => {
        const header = headersOf(Buffer.concat(chunks));
        const messageId = header['message-id'] ?? null;
        const withhold = messageId !== null && !seen.has(messageId) && random() < withholdRate;
        if (messageId !== null) seen.add(messageId);
        mails.push({
          messageId,
          subject: header.subject ?? null,
          idempotencyKey: header['x-weft-idempotency-key'] ?? null,
          withheld: withhold,
        });
        if (withhold) {
          callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
        } else {
          callback();
        }
      });
    },
  });
  // Connections reset by a killed client are reported here; without a listener they would
  // crash the suite.
  server.on('error', () => undefined);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (server.server.address());
  return {
    host: '127.0.0.1',
    port: address.port,
    /** Every message accepted so far, in arrival order (withheld ones included: they arrived). */
    mails: () => mails.slice(),
    stats: () => ({
      received: mails.length,
      withheld: mails.filter((mail) => mail.withheld).length,
      interrupted,
    }),
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}

module.exports = { startSmtpRecorder };
