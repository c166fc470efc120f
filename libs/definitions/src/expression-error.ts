/** Why an expression could not be compiled or evaluated. */
export type ExpressionErrorCode =
  'syntax' | 'runtime' | 'time-budget' | 'depth-budget' | 'size-budget' | 'result-not-json';

/**
 * A `{{ … }}` expression that does not parse, fails at run time or exceeds its budget.
 * `expression` is the JSONata text between the braces; `position` is an offset into it.
 */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
  readonly code: ExpressionErrorCode;
  readonly expression: string | undefined;
  readonly position: number | undefined;
  /** JSONata's own error code (`S0201`, `T2002`, …) when JSONata raised it. */
  readonly jsonataCode: string | undefined;

  constructor(
    message: string,
    details: {
      code: ExpressionErrorCode;
      expression?: string;
      position?: number;
      jsonataCode?: string;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.expression = details.expression;
    this.position = details.position;
    this.jsonataCode = details.jsonataCode;
  }
}

/** An `ExpressionError` as plain data, to cross a worker thread's message channel. */
export type SerializedExpressionError = {
  message: string;
  code: ExpressionErrorCode;
  expression?: string | undefined;
  position?: number | undefined;
  jsonataCode?: string | undefined;
};

export function serializeExpressionError(error: ExpressionError): SerializedExpressionError {
  const { message, code, expression, position, jsonataCode } = error;
  return { message, code, expression, position, jsonataCode };
}

export function deserializeExpressionError(data: SerializedExpressionError): ExpressionError {
  const { message, ...details } = data;
  return new ExpressionError(message, details);
}
