import { z } from 'zod';
import { isSingleExpression } from './template-syntax';

/** Tag of the issue a single-expression alternative raises; problem reports leave it out. */
export const SINGLE_EXPRESSION_PARAM = 'weftSingleExpression';

// The `meta` is what the JSON Schema for editors says of them (workflow-json-schema.ts).
const singleExpression = z
  .custom<string>(isSingleExpression, {
    message: 'expected a single {{ … }} expression',
    params: { [SINGLE_EXPRESSION_PARAM]: true },
  })
  .meta({
    type: 'string',
    pattern: '^\\{\\{[\\s\\S]*\\}\\}$',
    description: 'a {{ … }} expression',
  });

/** A text with expressions in it (`https://{{ input.host }}/x`): only known at run time. */
const interpolated = z
  .custom<string>((value) => typeof value === 'string' && value.includes('{{'), {
    message: 'expected a text with {{ … }} expressions',
    params: { [SINGLE_EXPRESSION_PARAM]: true },
  })
  .meta({ type: 'string', pattern: '\\{\\{', description: 'a text with {{ … }} expressions' });

/**
 * The save-time form of a `with` schema: every field inside it (at any depth) also accepts a
 * string that is exactly one `{{ … }}`, whatever its declared type, and a string field also
 * any text with expressions in it, because their values are only known at run time (the engine
 * checks them with the schema itself). The root stays an object. Checks on objects (such as
 * "exactly one of prompt or messages") are kept.
 */
export function templated(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodObject) {
    const shape: Record<string, z.ZodType> = {};
    for (const [key, field] of Object.entries<z.ZodType>(schema.shape)) {
      shape[key] = fieldOrExpression(field);
    }
    return schema.clone({ ...schema.def, shape });
  }
  if (schema instanceof z.ZodArray) {
    return schema.clone({ ...schema.def, element: fieldOrExpression(schema.element as z.ZodType) });
  }
  if (schema instanceof z.ZodRecord) {
    return schema.clone({
      ...schema.def,
      valueType: fieldOrExpression(schema.valueType as z.ZodType),
    });
  }
  if (schema instanceof z.ZodUnion) {
    const options = (schema.options as readonly z.ZodType[]).map((option) => templated(option));
    return schema.clone({ ...schema.def, options });
  }
  return schema;
}

function fieldOrExpression(field: z.ZodType): z.ZodType {
  // Optional and defaulted fields stay optional: the expression goes inside the wrapper.
  if (field instanceof z.ZodOptional || field instanceof z.ZodDefault) {
    return z.optional(fieldOrExpression(field.def.innerType as z.ZodType));
  }
  if (field instanceof z.ZodString) return z.union([interpolated, field]);
  return z.union([singleExpression, templated(field)]);
}
