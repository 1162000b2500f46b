/**
 * JSON with comments and trailing commas, as the original tool's own examples are written.
 * A syntax error is one line naming file, line and column and saying in words what was
 * expected; anything that is not one JSON object, or nests absurdly deep, is refused before
 * the (recursive) parser sees it.
 */
import { createScanner, parse, ParseErrorCode, SyntaxKind, type ParseError } from 'jsonc-parser';
import { ConfigError } from '../errors.js';

/** A job file nests about six levels; the limit only has to stop stack exhaustion. */
export const MAX_NESTING = 64;

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}

const WORDS: Partial<Record<ParseErrorCode, string>> = {
  [ParseErrorCode.InvalidSymbol]: 'unexpected character (strings need "double quotes")',
  [ParseErrorCode.InvalidNumberFormat]: 'invalid number',
  [ParseErrorCode.PropertyNameExpected]: 'expected a key in "double quotes"',
  [ParseErrorCode.ValueExpected]: 'expected a value',
  [ParseErrorCode.ColonExpected]: 'expected a colon after the key',
  [ParseErrorCode.CloseBraceExpected]: 'expected a closing brace }',
  [ParseErrorCode.CloseBracketExpected]: 'expected a closing bracket ]',
  [ParseErrorCode.EndOfFileExpected]: 'expected the end of the file after the closing brace',
  [ParseErrorCode.InvalidCommentToken]: 'invalid comment',
  [ParseErrorCode.UnexpectedEndOfComment]: 'unterminated /* comment',
  [ParseErrorCode.UnexpectedEndOfString]: 'unterminated string',
  [ParseErrorCode.UnexpectedEndOfNumber]: 'incomplete number',
  [ParseErrorCode.InvalidUnicode]: 'invalid \\u escape',
  [ParseErrorCode.InvalidEscapeCharacter]: 'invalid escape character in a string',
  [ParseErrorCode.InvalidCharacter]: 'control character in a string (escape it)',
};

interface Structure {
  /** Offset of the first token that is not a comment. */
  firstToken?: { kind: SyntaxKind; offset: number };
  /** Offset where nesting first exceeds MAX_NESTING. */
  tooDeepAt?: number;
}

/** One flat pass of the scanner (no recursion): the first token and the nesting depth. */
function scanStructure(text: string): Structure {
  const scanner = createScanner(text, true);
  const out: Structure = {};
  let depth = 0;
  for (let kind = scanner.scan(); kind !== SyntaxKind.EOF; kind = scanner.scan()) {
    if (kind === SyntaxKind.LineCommentTrivia || kind === SyntaxKind.BlockCommentTrivia) continue;
    out.firstToken ??= { kind, offset: scanner.getTokenOffset() };
    if (kind === SyntaxKind.OpenBraceToken || kind === SyntaxKind.OpenBracketToken) {
      if (++depth > MAX_NESTING) {
        out.tooDeepAt = scanner.getTokenOffset();
        return out;
      }
    } else if (kind === SyntaxKind.CloseBraceToken || kind === SyntaxKind.CloseBracketToken) depth--;
  }
  return out;
}

/** Whether the innermost open container at `offset` is an array (for "comma or closing ..."). */
function insideArray(text: string, offset: number): boolean {
  const scanner = createScanner(text, true);
  const stack: SyntaxKind[] = [];
  for (let kind = scanner.scan(); kind !== SyntaxKind.EOF && scanner.getTokenOffset() < offset; kind = scanner.scan()) {
    if (kind === SyntaxKind.OpenBraceToken || kind === SyntaxKind.OpenBracketToken) stack.push(kind);
    else if (kind === SyntaxKind.CloseBraceToken || kind === SyntaxKind.CloseBracketToken) stack.pop();
  }
  return stack.at(-1) === SyntaxKind.OpenBracketToken;
}

function describeParseError(text: string, error: ParseError): string {
  if (error.error === ParseErrorCode.CommaExpected) {
    return insideArray(text, error.offset) ? 'expected a comma or closing bracket' : 'expected a comma or closing brace';
  }
  return WORDS[error.error] ?? 'invalid JSON';
}

/** Parses a job file's text; the value is a JSON object. Errors are one ConfigError problem. */
export function parseJsonc(input: string, fileLabel: string): Record<string, unknown> {
  const text = input.replace(/^\uFEFF/, '');
  const fail = (offset: number, message: string): never => {
    const { line, column } = lineAndColumn(text, offset);
    throw new ConfigError([{ path: '', message: `${fileLabel}:${line}:${column}: ${message}` }]);
  };
  const structure = scanStructure(text);
  if (!structure.firstToken) throw new ConfigError([{ path: '', message: `${fileLabel}: the job file is empty` }]);
  if (structure.firstToken.kind !== SyntaxKind.OpenBraceToken) {
    fail(structure.firstToken.offset, 'not a JSON job file: it must be one JSON object, starting with {');
  }
  if (structure.tooDeepAt !== undefined) fail(structure.tooDeepAt, `nested more than ${MAX_NESTING} levels deep`);
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  // The first error explains the file; the ones after it are mostly its echoes.
  if (errors[0]) fail(errors[0].offset, describeParseError(text, errors[0]));
  return value as Record<string, unknown>;
}
