import { RE2JS } from 're2js';

/**
 * Compiles a JavaScript regular expression for RE2, whose matching time is linear in the input
 * (no catastrophic backtracking). Throws for what RE2 cannot do: backreferences, lookaround.
 * Flags `i`, `m` and `s` carry over; `g` is the caller's business (see `Re2RegExp`).
 */
export function compileRe2(source: string, flags = ''): RE2JS {
  let re2Flags = 0;
  if (flags.includes('i')) re2Flags |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) re2Flags |= RE2JS.MULTILINE;
  if (flags.includes('s')) re2Flags |= RE2JS.DOTALL;
  // translateRegExp rewrites JavaScript-only syntax (`(?<name>…)`, `\u….`, `[^]`) for RE2.
  return RE2JS.compile(RE2JS.translateRegExp(source), re2Flags);
}

/** Why RE2 refuses a pattern, or undefined when it compiles. */
export function re2Refusal(source: string, flags = ''): string | undefined {
  try {
    compileRe2(source, flags);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * The part of `RegExp` that JSONata's regex closures use (`lastIndex` and `exec` with global
 * semantics; see `evaluateRegex` in jsonata 2.x), backed by RE2. JSONata constructs it with
 * the native `RegExp` its parser built, so it is passed as `jsonata(src, { RegexEngine })`.
 */
export class Re2RegExp {
  lastIndex = 0;
  readonly source: string;
  readonly flags: string;
  private readonly pattern: RE2JS;

  constructor(pattern: RegExp | string, flags?: string) {
    this.source = typeof pattern === 'string' ? pattern : pattern.source;
    this.flags = flags ?? (typeof pattern === 'string' ? '' : pattern.flags);
    this.pattern = compileRe2(this.source, this.flags);
  }

  get global(): boolean {
    return this.flags.includes('g');
  }

  /** Like `RegExp.prototype.exec`: groups that did not participate are undefined. */
  exec(input: string): RegExpExecArray | null {
    const from = this.global ? this.lastIndex : 0;
    const matcher = this.pattern.matcher(input);
    if (from > input.length || !matcher.find(from)) {
      if (this.global) this.lastIndex = 0;
      return null;
    }
    const groups: (string | undefined)[] = [];
    for (let group = 0; group <= matcher.groupCount(); group++) {
      groups.push(matcher.group(group) ?? undefined);
    }
    if (this.global) this.lastIndex = matcher.end();
    return Object.assign(groups as [string, ...string[]], {
      index: matcher.start(),
      input,
      groups: undefined,
    });
  }
}
