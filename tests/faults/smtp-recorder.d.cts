export interface RecordedMail {
  messageId: string | null;
  subject: string | null;
  idempotencyKey: string | null;
  /** Kept, then answered 451 (a lost acknowledgement). */
  withheld: boolean;
}

export interface SmtpRecorder {
  host: string;
  port: number;
  mails(): RecordedMail[];
  stats(): { received: number; withheld: number; interrupted: number };
  close(): Promise<void>;
}

export declare function startSmtpRecorder(options?: {
  withholdRate?: number;
  random?: () => number;
}): Promise<SmtpRecorder>;
