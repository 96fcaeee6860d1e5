// A lint over the gateway's sources: the scheduler is the one owner of fleet state. No file
// outside it assigns a NodeState field, calls a NodeState transition, builds or writes the
// residency book, or holds a writable residency record.
import assert from "node:assert/strict";

const GATEWAY = new URL("../", import.meta.url);

/** The scheduler's own files (and the state classes themselves). */
const OWNERS = new Set([
  "fleet/scheduler.ts",
  "fleet/_scheduler_jobs.ts",
  "fleet/_scheduler_plan.ts",
  "fleet/_scheduler_drains.ts",
  "fleet/_scheduler_unload.ts",
  "fleet/_scheduler_idle.ts",
  "fleet/_scheduler_types.ts",
  "fleet/node_state.ts",
  "fleet/residency.ts",
  "fleet/residency_book.ts",
]);

const NODE_FIELDS =
  "healthy|draining|consecutiveFailures|lastPollMs|lastError|discovery|health|models|cycles";

const RULES: { name: string; pattern: RegExp; tests: boolean }[] = [
  {
    name: "assigns a NodeState field",
    pattern: new RegExp(`\\b(?:node|n|state|down)\\.(?:${NODE_FIELDS})\\s*(?:=(?![=>])|\\+\\+|--|[-+]=)`),
    tests: true,
  },
  {
    name: "writes a node's model map",
    pattern: /\b(?:node|n)\.models\.(?:set|delete|clear)\(/,
    tests: true,
  },
  {
    name: "calls a NodeState transition",
    pattern: /\.(?:applyPoll|recordFailure|markUnreachable)\(/,
    tests: false,
  },
  {
    name: "builds or writes the residency book",
    pattern: /new ResidencyBook\b|\bbook\.(?:put|remove)\(/,
    tests: true,
  },
  {
    name: "holds a writable residency record",
    pattern: /\bMutableResidency\b/,
    tests: true,
  },
];

async function* _sources(dir: URL, prefix = ""): AsyncGenerator<[string, string]> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      if (entry.name === "node_modules") continue;
      yield* _sources(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`);
    } else if (entry.name.endsWith(".ts")) {
      yield [`${prefix}${entry.name}`, await Deno.readTextFile(new URL(entry.name, dir))];
    }
  }
}

function _isTest(path: string): boolean {
  return path.endsWith("_test.ts") || path.includes("/_test_") || path.includes("/_fake_") ||
    path.startsWith("testing/") || path.startsWith("acceptance/");
}

Deno.test("only the scheduler changes fleet state: NodeState fields, transitions and residency", async () => {
  const offences: string[] = [];
  let files = 0;
  for await (const [path, text] of _sources(GATEWAY)) {
    if (OWNERS.has(path) || path === "fleet/ownership_test.ts") continue;
    files++;
    const test = _isTest(path);
    text.split("\n").forEach((line, i) => {
      for (const rule of RULES) {
        if ((rule.tests || !test) && rule.pattern.test(line)) {
          offences.push(`gateway/${path}:${i + 1} ${rule.name}: ${line.trim()}`);
        }
      }
    });
  }
  assert.ok(files > 50, `only ${files} files read`);
  assert.deepEqual(offences, []);
});

Deno.test("the ownership lint catches what it is for", () => {
  const caught = (line: string) => RULES.filter((r) => r.pattern.test(line)).map((r) => r.name);
  assert.deepEqual(caught("  node.healthy = true;"), ["assigns a NodeState field"]);
  assert.deepEqual(caught("node.cycles++;"), ["assigns a NodeState field"]);
  assert.deepEqual(caught('node.models.set("m", info);'), ["writes a node's model map"]);
  assert.deepEqual(caught("ctx.fleet.node(a)!.markUnreachable(msg);"), ["calls a NodeState transition"]);
  assert.deepEqual(caught("this.book.put(node, record);"), ["builds or writes the residency book"]);
  assert.deepEqual(caught("if (node.healthy === false) return;"), []);
});
