import {
  type CredentialType,
  CredentialData,
  DomainError,
  fieldProblemsOf,
  NewCredentialData,
  type CreateCredential,
  type CredentialList,
  type CredentialView,
  type DeleteCredential,
  type Done,
  type ListCredentials,
  type UpdateCredential,
  type OpenedCredential,
  type ResolveCredentials,
  type ResolvedCredentials,
} from '@weft/contracts';
import type { JsonLogger } from '@weft/runtime';
import { credentialAad, open, seal, SecretsError, type KeyRing } from '@weft/secrets';
import { CredentialUnavailable } from './credential.errors';
import type { CredentialRepository } from './credential.repository';

/** A credential decrypted for a connector of this process; never leaves it. */

/**
 * The credential vault. Data is validated against its type, sealed with the current key and
 * stored; only metadata and sealed envelopes ever leave the service, and nothing of the data
 * is logged.
 */
export class CredentialService {
  constructor(
    private readonly credentials: CredentialRepository,
    private readonly keyRing: KeyRing,
    private readonly logger: JsonLogger,
  ) {}

  async create({ tenantId, name, type, data }: CreateCredential): Promise<CredentialView> {
    const sealed = this.sealed(tenantId, name, type, data);
    const view = await this.credentials.insert(tenantId, { name, type, sealed });
    if (!view) throw new DomainError('credential_exists', `credential "${name}" already exists`);
    this.logger.event('info', 'credential created', { tenantId, credential: name, type });
    return view;
  }

  /** `data` checked against its type (problems at `$.data…`) and sealed for this credential. */
  private sealed(tenantId: string, name: string, type: CredentialType, data: unknown): string {
    const parsed = NewCredentialData[type].safeParse(data);
    if (!parsed.success) {
      throw new DomainError(
        'credential_data_invalid',
        `data does not fit a ${type} credential`,
        fieldProblemsOf(parsed.error.issues, ['data']),
      );
    }
    return seal(this.keyRing, JSON.stringify(parsed.data), credentialAad(tenantId, name));
  }

  /**
   * Replaces a credential's data, sealed under the current key (rotation). Its type stays; the
   * clients connectors keep per credential see new data and open new connections.
   */
  async update({ tenantId, name, data }: UpdateCredential): Promise<CredentialView> {
    const type = await this.credentials.typeOf(tenantId, name);
    if (!type) throw new DomainError('credential_not_found', `credential "${name}" does not exist`);
    const sealed = this.sealed(tenantId, name, type, data);
    const view = await this.credentials.replace(tenantId, { name, type, sealed });
    if (!view) throw new DomainError('credential_not_found', `credential "${name}" does not exist`);
    this.logger.event('info', 'credential replaced', { tenantId, credential: name, type });
    return view;
  }

  async list({ tenantId }: ListCredentials): Promise<CredentialList> {
    return { items: await this.credentials.list(tenantId) };
  }

  async delete({ tenantId, name }: DeleteCredential): Promise<Done> {
    if (!(await this.credentials.delete(tenantId, name))) {
      throw new DomainError('credential_not_found', `credential "${name}" does not exist`);
    }
    this.logger.event('info', 'credential deleted', { tenantId, credential: name });
    return { schemaVersion: 1 };
  }

  /** Sealed envelopes for a worker that holds the key ring, in the order asked. */
  async resolve({ tenantId, names }: ResolveCredentials): Promise<ResolvedCredentials> {
    const found = await this.credentials.findSealed(tenantId, names);
    const byName = new Map(found.map((credential) => [credential.name, credential]));
    const items = [...new Set(names)].map((name) => {
      const credential = byName.get(name);
      if (!credential) {
        throw new DomainError('credential_not_found', `credential "${name}" does not exist`);
      }
      return credential;
    });
    return { items };
  }

  /**
   * Decrypts credentials for a connector running in this process, in the order asked.
   * Throws CredentialUnavailable naming the first one that is missing or does not open.
   */
  async unseal(tenantId: string, names: readonly string[]): Promise<OpenedCredential[]> {
    const found = await this.credentials.findSealed(tenantId, names);
    const byName = new Map(found.map((credential) => [credential.name, credential]));
    return names.map((name) => {
      const credential = byName.get(name);
      if (!credential) {
        throw new CredentialUnavailable('not_found', name, `credential "${name}" does not exist`);
      }
      let data: unknown;
      try {
        data = JSON.parse(open(this.keyRing, credential.sealed, credentialAad(tenantId, name)));
      } catch (error) {
        const why = error instanceof SecretsError ? error.message : 'its data is not JSON';
        throw new CredentialUnavailable('unreadable', name, `credential "${name}": ${why}`);
      }
      const parsed = CredentialData[credential.type].safeParse(data);
      if (!parsed.success) {
        throw new CredentialUnavailable(
          'unreadable',
          name,
          `credential "${name}" no longer fits its type ${credential.type}`,
        );
      }
      return { name, type: credential.type, data: parsed.data } as OpenedCredential;
    });
  }
}
