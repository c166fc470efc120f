import type { ChildProcess } from 'node:child_process';

export declare const SERVICES: readonly ['workflow', 'integration', 'ai', 'gateway'];
export type Service = (typeof SERVICES)[number];

export interface Stack {
  adminKey: string;
  ports: Record<Service, number>;
  children: Record<Service, ChildProcess>;
  gatewayUrl: string;
  stop(): Promise<Record<Service, number | string>>;
}

export declare function startStack(options?: {
  basePort?: number;
  database?: string;
  adminKey?: string;
  secretKey?: string;
  env?: Record<string, string>;
  onOutput?: (service: Service, line: string) => void;
  timeoutMs?: number;
}): Promise<Stack>;
