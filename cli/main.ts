/**
 * The `cortex` command line (placeholder until the CLI issue lands).
 * @module
 */
if (import.meta.main) {
  console.error(`cortex ${Deno.args.join(" ")}: not implemented yet`);
  Deno.exit(2);
}
