import { createTransport } from 'nodemailer';
import { headersOf, idsPerStep, idsPerStepPassed, messageIdOf } from './message-ids.cjs';
import { startSmtpRecorder } from './smtp-recorder.cjs';

describe('the fault suite’s check of message ids per step', () => {
  const expectedIdOf = (step: string) => `key ${step}`;

  it('passes copies of one id, and counts them', () => {
    const figures = idsPerStep(
      [
        { step: 'r1:mail', id: 'key r1:mail' },
        { step: 'r1:mail', id: 'key r1:mail' },
        { step: 'r2:mail', id: 'key r2:mail' },
      ],
      { required: ['r1:mail', 'r2:mail'], expectedIdOf },
    );
    expect(figures).toMatchObject({
      received: 3,
      steps: 2,
      distinctIds: 2,
      maxIdsPerStep: 1,
      copies: 1,
      stepsWithCopies: 1,
      stepsWithSeveralIds: 0,
      requiredSteps: 2,
      requiredWithoutOneId: 0,
      idsNotMatchingStep: 0,
    });
    expect(idsPerStepPassed(figures)).toBe(true);
  });

  it('fails a step that delivered two different ids', () => {
    const figures = idsPerStep([
      { step: 'r1:publish', id: 'a' },
      { step: 'r1:publish', id: 'b' },
      { step: 'r1:publish', id: 'a' },
    ]);
    expect(figures).toMatchObject({ maxIdsPerStep: 2, stepsWithSeveralIds: 1, copies: 1 });
    expect(figures.examples.stepsWithSeveralIds).toEqual([
      { step: 'r1:publish', ids: { a: 2, b: 1 } },
    ]);
    expect(idsPerStepPassed(figures)).toBe(false);
  });

  it('fails a succeeded run’s step that never arrived', () => {
    const figures = idsPerStep([{ step: 'r1:mail', id: 'key r1:mail' }], {
      required: ['r1:mail', 'r2:mail', 'r2:mail'],
      expectedIdOf,
    });
    expect(figures).toMatchObject({ requiredSteps: 2, requiredWithoutOneId: 1 });
    expect(figures.examples.requiredWithoutOneId).toEqual(['r2:mail']);
    expect(idsPerStepPassed(figures)).toBe(false);
  });

  it('fails an id that is not the one derived from the step’s key', () => {
    const figures = idsPerStep([{ step: 'r1:mail', id: 'other' }], { expectedIdOf });
    expect(figures.examples.idsNotMatchingStep).toEqual([
      { step: 'r1:mail', id: 'other', expected: 'key r1:mail' },
    ]);
    expect(idsPerStepPassed(figures)).toBe(false);
  });

  it('fails messages that name no step or carry no id, and an incomplete read-back', () => {
    expect(idsPerStepPassed(idsPerStep([{ step: null, id: 'x' }]))).toBe(false);
    expect(idsPerStepPassed(idsPerStep([{ step: 'r1:mail', id: null }]))).toBe(false);
    expect(idsPerStepPassed({ ...idsPerStep([]), complete: false })).toBe(false);
    expect(idsPerStepPassed({ ...idsPerStep([]), complete: true })).toBe(true);
  });

  it('derives the Message-ID as the email.send connector does', () => {
    // sha256("run-1:mail"), first 32 hex digits.
    expect(messageIdOf('run-1:mail')).toBe('<00348e1618b4614ee54aac8d049d2539@weft>');
    expect(messageIdOf('run-1:mail')).toBe(messageIdOf('run-1:mail'));
    expect(messageIdOf('run-1:mail')).not.toBe(messageIdOf('run-2:mail'));
  });

  it('reads header fields: case-insensitive names, folded lines, up to the blank line', () => {
    expect(
      headersOf(
        'Subject: weft-faults\r\n r1:mail\r\nMESSAGE-ID: <a@weft>\r\nX-A: 1\r\nX-A: 2\r\n\r\nSubject: body\r\n',
      ),
    ).toEqual({ subject: 'weft-faults r1:mail', 'message-id': '<a@weft>', 'x-a': '1' });
  });

  it('records what nodemailer sends to the SMTP recorder, and withholds the answer when asked', async () => {
    const recorder = await startSmtpRecorder({ withholdRate: 1 });
    const transport = createTransport({ host: recorder.host, port: recorder.port, secure: false });
    try {
      const mail = {
        from: 'weft@example.com',
        to: 'ledger@example.com',
        subject: 'weft-faults r1:mail',
        text: 'hello',
        messageId: messageIdOf('r1:mail'),
        headers: { 'X-Weft-Idempotency-Key': 'r1:mail' },
      };
      // The first delivery is kept and answered 451; the same message again is accepted.
      await expect(transport.sendMail(mail)).rejects.toMatchObject({ responseCode: 451 });
      await transport.sendMail(mail);
      expect(recorder.mails()).toEqual([
        {
          messageId: messageIdOf('r1:mail'),
          subject: 'weft-faults r1:mail',
          idempotencyKey: 'r1:mail',
          withheld: true,
        },
        {
          messageId: messageIdOf('r1:mail'),
          subject: 'weft-faults r1:mail',
          idempotencyKey: 'r1:mail',
          withheld: false,
        },
      ]);
      expect(recorder.stats()).toEqual({ received: 2, withheld: 1, interrupted: 0 });
    } finally {
      transport.close();
      await recorder.close();
    }
  });
});
