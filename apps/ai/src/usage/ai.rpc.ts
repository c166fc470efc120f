import type { AiRpc } from '@weft/contracts';
import { answerOutagesAsUnavailable, type RpcHandlers } from '@weft/messaging';
import { isDatabaseUnavailable } from '@weft/persistence';
import type { TokenLedgerRepository } from './token-ledger';

/** The ai service's RPC surface: a tenant's token budget and its ledger by month. */
export function aiRpcHandlers(ledger: TokenLedgerRepository): RpcHandlers<typeof AiRpc> {
  return answerOutagesAsUnavailable(
    {
      'budgets.put': ({ tenantId, monthlyTokens }) => ledger.putBudget(tenantId, { monthlyTokens }),
      'usage.get': ({ tenantId, month }) => ledger.report(tenantId, month),
    },
    isDatabaseUnavailable,
  );
}
