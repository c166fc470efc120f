import type { CredentialType } from '@weft/contracts';

/** The rule of a credential's name (CredentialName of the contracts), for the form's `pattern`. */
export const CREDENTIAL_NAME_PATTERN = '[a-zA-Z0-9][a-zA-Z0-9._\\-]{0,99}';

/**
 * One field of a credential's `data`, for the form: where it goes (`sasl.username` is nested),
 * how it is entered, and whether the type needs it. The vault checks the data again, and its
 * problems name these paths (`$.body.data.sasl.username`).
 */
export interface CredentialField {
  path: readonly string[];
  label: string;
  kind: 'text' | 'secret' | 'number' | 'boolean' | 'list' | 'select';
  required?: boolean;
  options?: readonly string[];
  placeholder?: string;
  help?: string;
}

const allowedHosts: CredentialField = {
  path: ['allowedHosts'],
  label: 'Allowed hosts',
  kind: 'list',
  required: true,
  placeholder: 'api.example.com',
  help: 'One per line: a host, *.example.com for its subdomains, an optional :port. "*" sends it anywhere — any workflow author could then send it to a server of theirs.',
};

/**
 * The fields of each type's `data` (NewCredentialData of the contracts, docs/api.md). The
 * record's type makes a new credential type a compile error here until it has its fields.
 */
export const CREDENTIAL_FIELDS: Record<CredentialType, readonly CredentialField[]> = {
  'http.bearer': [
    { path: ['token'], label: 'Token', kind: 'secret', required: true },
    allowedHosts,
  ],
  'http.basic': [
    { path: ['username'], label: 'Username', kind: 'text', required: true },
    { path: ['password'], label: 'Password', kind: 'secret' },
    allowedHosts,
  ],
  'http.header': [
    {
      path: ['name'],
      label: 'Header name',
      kind: 'text',
      required: true,
      placeholder: 'X-Api-Key',
    },
    { path: ['value'], label: 'Header value', kind: 'secret', required: true },
    allowedHosts,
  ],
  hmac: [
    {
      path: ['secret'],
      label: 'Secret',
      kind: 'secret',
      required: true,
      help: 'At least 16 characters; use a random one (openssl rand -hex 32).',
    },
  ],
  smtp: [
    {
      path: ['host'],
      label: 'Host',
      kind: 'text',
      required: true,
      placeholder: 'smtp.example.com',
    },
    { path: ['port'], label: 'Port', kind: 'number', required: true, placeholder: '587' },
    { path: ['secure'], label: 'TLS from the start (port 465)', kind: 'boolean' },
    { path: ['username'], label: 'Username', kind: 'text' },
    { path: ['password'], label: 'Password', kind: 'secret' },
  ],
  openai: [
    {
      path: ['baseUrl'],
      label: 'Base URL',
      kind: 'text',
      required: true,
      placeholder: 'https://api.openai.com/v1',
    },
    { path: ['apiKey'], label: 'API key', kind: 'secret', required: true },
  ],
  anthropic: [
    { path: ['apiKey'], label: 'API key', kind: 'secret', required: true },
    {
      path: ['baseUrl'],
      label: 'Base URL',
      kind: 'text',
      placeholder: 'https://api.anthropic.com',
    },
  ],
  postgres: [
    {
      path: ['url'],
      label: 'URL',
      kind: 'secret',
      required: true,
      placeholder: 'postgres://user:password@db.example.com:5432/app',
    },
  ],
  kafka: [
    {
      path: ['brokers'],
      label: 'Brokers',
      kind: 'list',
      required: true,
      placeholder: 'kafka-1.example.com:9092',
      help: 'One per line.',
    },
    {
      path: ['sasl', 'mechanism'],
      label: 'SASL mechanism',
      kind: 'select',
      options: ['plain', 'scram-sha-256', 'scram-sha-512'],
      help: 'None: no SASL; otherwise give its username and password too.',
    },
    { path: ['sasl', 'username'], label: 'SASL username', kind: 'text' },
    { path: ['sasl', 'password'], label: 'SASL password', kind: 'secret' },
  ],
  rabbitmq: [
    {
      path: ['url'],
      label: 'URL',
      kind: 'secret',
      required: true,
      placeholder: 'amqps://user:password@rabbit.example.com',
    },
  ],
};

export const CREDENTIAL_TYPES = Object.keys(CREDENTIAL_FIELDS) as CredentialType[];

/** A field's value as the form holds it: text, or a checkbox's state. */
export type FieldValue = string | boolean;

/**
 * `data` from the form's values: empty optional fields are left out (so `sasl` is absent when
 * no SASL field is filled), lists split by line, numbers parsed; what is wrong with the result
 * is the vault's to say, at its path.
 */
export function dataOf(
  type: CredentialType,
  values: Record<string, FieldValue>,
): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const field of CREDENTIAL_FIELDS[type]) {
    const raw = values[field.path.join('.')];
    let value: unknown;
    if (field.kind === 'boolean') value = raw === true;
    else if (typeof raw !== 'string' || raw.trim() === '') continue;
    else if (field.kind === 'list')
      value = raw
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean);
    else if (field.kind === 'number') value = Number(raw);
    // A secret is kept as typed: its spaces may be part of it.
    else value = field.kind === 'secret' ? raw : raw.trim();
    let target = data;
    for (const key of field.path.slice(0, -1)) {
      target = (target[key] ??= {}) as Record<string, unknown>;
    }
    target[field.path.at(-1)!] = value;
  }
  return data;
}
