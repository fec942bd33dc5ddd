/** Registry of sub-commands; each concern adds its own `register*` here. */
import type { Command } from "commander";

export function registerCommands(program: Command): void {
  void program;
}
