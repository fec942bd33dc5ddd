/** The `nullspace` command line: one sub-command per concern, each registered from its own module. */
import { Command, CommanderError } from "commander";
import { UserError } from "../util/errors.js";
import { registerCommands } from "./commands.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("nullspace")
    .description("Reproduce and extend 'What Makes and Breaks Safety Fine-tuning?' (Jain et al., NeurIPS 2024)")
    .version("0.1.0")
    .showHelpAfterError(false)
    .exitOverride();
  registerCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (help, version or a usage error).
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof UserError) {
      process.stderr.write(`nullspace: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
