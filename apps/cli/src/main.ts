import { ApiError } from './api/client';
import { paint } from './output';
import { EXIT, program } from './program';

/** Prints what went wrong, as the API said it (problem+json) or as the CLI found it. */
function report(error: unknown): void {
  const label = paint('red', 'error', process.stderr);
  if (error instanceof ApiError) {
    console.error(`${label} ${error.message}`);
    for (const issue of error.issues) console.error(`  ${issue.path}: ${issue.message}`);
    return;
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (error instanceof TypeError && error.message === 'fetch failed') {
    console.error(
      `${label} cannot reach the Weft server: ${cause?.message ?? cause?.code ?? error.message}`,
    );
    return;
  }
  console.error(`${label} ${(error as Error).message ?? String(error)}`);
}

const run = (pending: Promise<number>) => {
  pending.then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      report(error);
      process.exitCode = EXIT.failed;
    },
  );
};

program(run).parse();
