// Native open/save dialogs, opened by the app's Rust side so that it knows which paths the user
// chose: the commands that read or write files accept only those (and, for targets, paths in
// the project's folder).
import { commands, type PickMode } from "../bindings";
import { call } from "./call";

/** The paths the user chose (none when the dialog was cancelled). */
export function pick(
  mode: PickMode,
  filters: [string, string[]][] = [],
  fileName: string | null = null,
): Promise<string[]> {
  return call(commands.pickPaths({ mode, filters, file_name: fileName }));
}
