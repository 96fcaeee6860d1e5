import assert from "node:assert/strict";
import { describeFlags, type FlagSpecs, numberFlag, parseArgs } from "./args.ts";
import { CliError } from "./cli_error.ts";

const SPECS: FlagSpecs = {
  node: { type: "string", short: "n", value: "NAME", description: "node" },
  json: { type: "boolean", description: "json" },
  "max-tokens": { type: "string", value: "N", description: "tokens" },
};

Deno.test("parseArgs: values inline, separate and short; switches; positionals kept in order; -- ends flags", () => {
  assert.deepEqual(parseArgs(["load", "m", "--node=a", "--json"], SPECS), {
    positionals: ["load", "m"],
    flags: { node: "a", json: true },
  });
  assert.deepEqual(parseArgs(["-n", "b", "x", "--max-tokens", "5", "--", "--json", "-n"], SPECS), {
    positionals: ["x", "--json", "-n"],
    flags: { node: "b", "max-tokens": "5" },
  });
  assert.deepEqual(parseArgs(["--json=false", "-"], SPECS), { positionals: ["-"], flags: { json: false } });
  // A value may itself start with a dash when given inline or after the flag.
  assert.deepEqual(parseArgs(["--node", "-weird"], SPECS).flags, { node: "-weird" });
});

Deno.test("parseArgs: unknown options, missing values and valued switches are usage errors naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--nod", "a"], /unknown option --nod/],
    [["-x"], /unknown option -x/],
    [["--node"], /--node needs a value \(NAME\)/],
    [["--json=yes"], /--json is a switch and takes no value, got "yes"/],
  ];
  for (const [args, pattern] of cases) {
    assert.throws(() => parseArgs(args, SPECS), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.equal(error.code, "usage");
      assert.equal(error.exitCode, 2);
      assert.match(error.message, pattern);
      return true;
    });
  }
});

Deno.test("parseArgs property: any mix of flags and positionals round-trips", () => {
  let seed = 42;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 300; round++) {
    const positionals: string[] = [];
    const flags: Record<string, string | boolean> = {};
    const args: string[] = [];
    for (let i = random(6); i > 0; i--) {
      const kind = random(4);
      const value = `v${random(1000)}${random(2) ? "=x" : ""}`;
      if (kind === 0) {
        positionals.push(value);
        args.push(value);
      } else if (kind === 1) {
        flags.node = value;
        args.push(...(random(2) ? ["--node", value] : random(2) ? [`--node=${value}`] : ["-n", value]));
      } else if (kind === 2) {
        flags.json = true;
        args.push("--json");
      } else {
        flags["max-tokens"] = value;
        args.push(`--max-tokens=${value}`);
      }
    }
    assert.deepEqual(parseArgs(args, SPECS), { positionals, flags }, args.join(" "));
  }
});

Deno.test("numberFlag: checks kind and range, names the flag and the bad value", () => {
  const parsed = parseArgs(["--max-tokens", "12"], SPECS);
  assert.equal(numberFlag(parsed, "max-tokens", { min: 1, integer: true }), 12);
  assert.equal(numberFlag(parseArgs([], SPECS), "max-tokens"), undefined);
  for (
    const [raw, range, pattern] of [
      ["1.5", { integer: true }, /expected an integer, got "1.5"/],
      ["0", { min: 1, integer: true }, /expected an integer ≥ 1, got "0"/],
      ["3", { min: 0, max: 2 }, /expected a number in 0\.\.2, got "3"/],
      ["", {}, /expected a number, got ""/],
      ["abc", {}, /--max-tokens: expected a number, got "abc"/],
    ] as const
  ) {
    assert.throws(() => numberFlag(parseArgs([`--max-tokens=${raw}`], SPECS), "max-tokens", range), pattern);
  }
});

Deno.test("describeFlags: aligned help lines with short aliases and placeholders", () => {
  assert.deepEqual(describeFlags(SPECS), [
    "  -n, --node NAME     node",
    "      --json          json",
    "      --max-tokens N  tokens",
  ]);
});
