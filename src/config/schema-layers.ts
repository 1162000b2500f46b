/** Walking through zod's wrappers, for the docs and the job-file checks. */
import { z } from 'zod';

/** A schema and each schema it wraps (optional, nullable, default, a pipe's input), outermost first. */
export function* schemaLayers(schema: z.ZodType): Generator<z.ZodType> {
  let current: z.ZodType = schema;
  // Bounded: wrappers nest a few levels deep, never in a cycle.
  for (let depth = 0; depth < 10; depth++) {
    yield current;
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return;
  }
}

/** The schema inside every wrapper. */
export function innermost(schema: z.ZodType): z.ZodType {
  let last = schema;
  for (const layer of schemaLayers(schema)) last = layer;
  return last;
}
