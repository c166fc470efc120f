/**
 * Entry of an expression worker thread (see expression-pool.ts): evaluates each template it
 * is sent with the same code and budget checks as the calling thread, one at a time.
 */
import { parentPort } from 'node:worker_threads';
import { ExpressionError, serializeExpressionError } from './expression-error';
import { compileTemplate, evaluateInThread } from './expressions';
import type { WorkerReply, WorkerRequest } from './expression-pool';

const port = parentPort!;

async function reply(request: WorkerRequest): Promise<WorkerReply> {
  try {
    const value = await evaluateInThread(
      compileTemplate(request.raw),
      request.context,
      request.limits,
    );
    return { kind: 'result', value };
  } catch (error) {
    if (error instanceof ExpressionError) {
      return { kind: 'expression-error', error: serializeExpressionError(error) };
    }
    return { kind: 'crash', message: error instanceof Error ? error.message : String(error) };
  }
}

port.on('message', (request: WorkerRequest) => {
  void reply(request).then((message) => port.postMessage(message));
});
port.postMessage({ kind: 'ready' } satisfies WorkerReply);
