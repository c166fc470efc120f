import { probeConnector, type Connector } from '@weft/worker';
import { aiChatConnector } from './ai-chat/ai-chat.connector';
import { aiExtractConnector } from './ai-extract/ai-extract.connector';
import type { ModelCallOptions } from './model-call';

/** Every connector the ai service's worker runs; adding one is its folder and a line here. */
export function aiConnectors(models: ModelCallOptions): Connector[] {
  return [probeConnector('ai'), aiChatConnector(models), aiExtractConnector(models)];
}
