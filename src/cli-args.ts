// Reading a command's arguments with node:util's parseArgs, but with errors a person can act
// on: parseArgs' own messages ("Unknown option '--x'. To specify a positional argument
// starting with a '-', place it at the end of the command after '--', as in '-- \"--x\"'")
// speak its own terms. The arguments are first read loosely (tokens), each problem said in
// our words, and then parsed strictly for the typed values.
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

/** Bad usage: the message says what is wrong; the caller adds the command's usage (exit 64). */
export class UsageError extends Error {}

const HELP_FLAGS = new Set(['--help', '-h']);

/** Whether the arguments ask for help (`--help` or `-h` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => HELP_FLAGS.has(arg));
}

export function parseCommandLine<T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
  allowPositionals = false,
) {
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional' && !allowPositionals) {
      throw new UsageError(`unexpected argument ${JSON.stringify(token.value)}`);
    }
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    if (spec === undefined) throw new UsageError(`unknown option ${token.rawName}`);
    const { value, inlineValue } = token;
    // "--config --user" would take "--user" as the file name: a forgotten value, not a file.
    // "-" alone is a value (explain's "--token -" reads stdin).
    const missing = value === undefined || (!inlineValue && value.startsWith('-') && value !== '-');
    if (spec.type === 'string' && missing) throw new UsageError(`${token.rawName} needs a value`);
    if (spec.type === 'boolean' && value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
  }
  return parseArgs({ args, options, strict: true, allowPositionals });
}
