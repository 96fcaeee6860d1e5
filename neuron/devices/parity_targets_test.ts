// parityTargets() and assertGreedyIds(): how the parity suites choose CPU paths or a CUDA device and
// judge greedy ids there (the switch `deno task test:cuda` relies on).
import assert from "node:assert/strict";
import { Plugin } from "./mod.ts";
import { assertGreedyIds, type ParityTarget, parityTargets } from "./_test_helpers.ts";

function fakeTarget(cuda: boolean): ParityTarget {
  return {
    label: cuda ? "cuda:0" : "scalar",
    cuda,
    open: (): Plugin => Plugin.open(),
    device: (): number => 0,
    tolerance: (cpu: number, gpu: number): number => cuda ? gpu : cpu,
  };
}

// Three steps over a vocabulary of 3; our logits at step 1 nearly tie ids 1 and 2.
const ours = { ids: [0, 1, 2], logits: new Float32Array([5, 1, 0, 0, 2.0004, 2.0, 0, 0, 3]) };

Deno.test("assertGreedyIds: a CPU path must match exactly", () => {
  const cpu = fakeTarget(false);
  assert.equal(assertGreedyIds(cpu, ours, [0, 1, 2], 3, 1e-3, "same"), 3);
  assert.throws(() => assertGreedyIds(cpu, ours, [0, 2, 2], 3, 1e-3, "flip"), /greedy ids differ/);
});

Deno.test("assertGreedyIds: a GPU may part only at a near-tie of its own logits", () => {
  const gpu = fakeTarget(true);
  assert.equal(assertGreedyIds(gpu, ours, [0, 1, 2], 3, 1e-3, "same"), 3);
  assert.equal(assertGreedyIds(gpu, ours, [0, 2, 0], 3, 1e-3, "near-tie"), 1);
  assert.throws(() => assertGreedyIds(gpu, ours, [1, 1, 2], 3, 1e-3, "clear lead"), /ours leads it by 4/);
  assert.throws(() => assertGreedyIds(gpu, ours, [0, 1], 3, 1e-3, "length"), /3 greedy ids, reference 2/);
});

Deno.test("parityTargets: CPU paths by default, tolerances by target", () => {
  const targets = parityTargets("");
  assert.ok(targets.length >= 1 && targets.every((target) => !target.cuda));
  assert.equal(targets.at(-1)?.label, "scalar");
  assert.equal(targets[0].tolerance(1e-4, 5e-4), 1e-4);
  const plugin = targets[0].open();
  try {
    assert.equal(plugin.devices()[targets[0].device(plugin)].backend, "cpu");
  } finally {
    plugin.close();
  }
});

Deno.test("parityTargets: a CUDA target is a CUDA device, or a 'no CUDA device' error", () => {
  assert.throws(() => parityTargets("gpu"), /CORTEX_TEST_DEVICE must be cpu, cuda or cuda:N/);
  const probe = Plugin.open({ cpuThreadsPerDevice: 1 });
  const gpus = probe.devices().filter((device) => device.backend === "cuda").length;
  probe.close();
  assert.throws(
    () => parityTargets(`cuda:${gpus}`),
    /^Error: no CUDA device: CORTEX_TEST_DEVICE=cuda:\d+ but the plugin found/,
  );
  if (gpus === 0) return;
  const [target] = parityTargets("cuda");
  assert.equal(target.label, "cuda:0");
  assert.equal(target.tolerance(1e-4, 5e-4), 5e-4);
  const plugin = target.open();
  try {
    assert.equal(plugin.devices()[target.device(plugin)].backend, "cuda");
  } finally {
    plugin.close();
  }
});
