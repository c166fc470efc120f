import type { ChatMessage } from '@weft/definitions';
import { aiExtractStep, jsonSchemaChecker, type OutputOf } from '@weft/definitions';
import { defineConnector, StepFailed } from '@weft/worker';
import { chatRequest } from '../ai-chat/ai-chat.connector';
import { callModel, type ModelCallOptions } from '../model-call';

/** What an `ai.extract` step outputs. */
export type AiExtractOutput = OutputOf<typeof aiExtractStep>;

/** Validation errors sent back to the model, at most; enough to fix, never a prompt of megabytes. */
const MAX_REPORTED_PROBLEMS = 20;
const MAX_PROBLEM_CHARS = 300;

/**
 * `ai.extract`: asks for JSON matching the step's schema; an answer that is not JSON or does
 * not match goes back to the model with what is wrong, up to `maxRepairs` times. Every call is
 * reserved against the budget and booked on its own; the output's `usage` is their sum.
 */
export function aiExtractConnector(options: ModelCallOptions) {
  return defineConnector(aiExtractStep, async (input, context) => {
    const check = jsonSchemaChecker(input.schema);
    const request = chatRequest({
      ...input,
      system: [extractInstruction(input.schema), input.system].filter(Boolean).join('\n\n'),
    });
    const messages: ChatMessage[] = [...request.messages];
    const usage = { inputTokens: 0, outputTokens: 0 };
    for (let repairs = 0; ; repairs++) {
      const answer = await callModel(
        context,
        input.credential,
        { ...request, messages, schema: input.schema },
        repairs,
        options,
      );
      usage.inputTokens += answer.usage.inputTokens;
      usage.outputTokens += answer.usage.outputTokens;
      const { data, problems } = readAnswer(answer.text, check);
      if (problems.length === 0) {
        const { model, provider, credential } = answer;
        return { data, repairs, model, provider, credential, usage };
      }
      if (repairs >= input.maxRepairs) {
        throw new StepFailed(
          'extract_invalid',
          `the answer did not match the schema after ${repairs} repairs: ${problems.join('; ')}`,
        );
      }
      messages.push(
        { role: 'assistant', content: answer.text },
        { role: 'user', content: repairPrompt(problems) },
      );
      context.heartbeat();
    }
  });
}

function extractInstruction(schema: Record<string, unknown>): string {
  return (
    'Extract the requested data. Answer with one JSON value that matches this JSON Schema, ' +
    `and nothing else:\n${JSON.stringify(schema)}`
  );
}

function repairPrompt(problems: readonly string[]): string {
  return (
    'Your answer does not match the JSON Schema:\n' +
    problems.map((problem) => `- ${problem}`).join('\n') +
    '\nAnswer again with only the corrected JSON.'
  );
}

/** The answer's JSON (a fenced code block is tolerated), and what is wrong with it. */
function readAnswer(
  text: string,
  check: (value: unknown) => string[],
): { data?: unknown; problems: string[] } {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text);
  let data: unknown;
  try {
    data = JSON.parse(fenced ? fenced[1]! : text);
  } catch (error) {
    return { problems: [`the answer is not JSON (${(error as Error).message})`] };
  }
  const problems = check(data)
    .slice(0, MAX_REPORTED_PROBLEMS)
    .map((problem) => problem.slice(0, MAX_PROBLEM_CHARS));
  return { data, problems };
}
