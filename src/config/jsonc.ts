/**
 * JSON with comments and trailing commas, as the original tool's own examples are written.
 * Syntax errors name the line and column.
 */
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { ConfigError } from '../errors.js';

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}

export function parseJsonc(text: string, fileLabel: string): unknown {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  if (errors.length > 0) {
    throw new ConfigError(
      errors.slice(0, 5).map((e) => {
        const { line, column } = lineAndColumn(text, e.offset);
        return { path: '', message: `${fileLabel}:${line}:${column}: ${printParseErrorCode(e.error)}` };
      }),
    );
  }
  return value;
}
