import type { ServiceDatabase } from '@weft/persistence';

/** The URL migrations connect to: DATABASE_DIRECT_URL, else DATABASE_URL. */
export declare function migrationUrl(env?: Record<string, string | undefined>): string;
/** Every service whose schema `npm run migrate` migrates. */
export declare const services: Readonly<
  Record<'gateway' | 'workflow' | 'integration' | 'ai', () => ServiceDatabase>
>;
