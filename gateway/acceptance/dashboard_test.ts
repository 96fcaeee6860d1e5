// Acceptance: the dashboard at /ui in headless Chromium (playwright-core against Debian's
// /usr/bin/chromium) over a real gateway with API keys and a real neuron serving two tiny
// models: the page asks for a key, shows the node and its models, lists a request, and loads a
// model from its button. The browser side is _dashboard_browser.ts, run as a child process
// (see there why). The screenshot goes to .cache/ui/ (gitignored); its path is printed.
import assert from "node:assert/strict";
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { havePlugin, TINY } from "./_fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const ADMIN_KEY = "sk-dashboard-admin-0123";
const ROOT = new URL("../../", import.meta.url).pathname;
const SCREENSHOT = `${ROOT}.cache/ui/dashboard.png`;
const BROWSER_SIDE = new URL("./_dashboard_browser.ts", import.meta.url).pathname;

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

const chromiumMissing = !haveChromium();
if (chromiumMissing) {
  console.warn(`dashboard_test: skipped: ${CHROMIUM} is absent (Debian: apt-get install -y chromium)`);
}

Deno.test({
  name: chromiumMissing
    ? `acceptance: dashboard in headless Chromium (skipped: ${CHROMIUM} is absent)`
    : "acceptance: dashboard in headless Chromium — key prompt, node, models, a load from the page",
  ignore: !havePlugin() || chromiumMissing,
  async fn() {
    const neuron = await spawnNeuron({
      models: { alpha: TINY.f32, beta: TINY.bf16 },
      defaultModels: ["alpha"],
    });
    const gateway = await spawnGateway({
      neurons: [{ name: "n1", endpoint: neuron.url }],
      models: [{ id: "alpha", vram_mb: 3 }, { id: "beta", vram_mb: 3 }],
      gateway: { keys: [{ name: "ops", key: ADMIN_KEY, admin: true }] },
    });
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    try {
      await gateway.waitFor(async () => (await gateway.fleet(auth)).nodes[0].healthy, 20_000, "n1 healthy");
      const beta = async () =>
        (await gateway.fleet(auth)).nodes[0].models.find((m) => m.id === "beta")?.status;
      assert.equal(await beta(), "available", "beta starts unloaded");
      await Deno.mkdir(`${ROOT}.cache/ui`, { recursive: true });
      await Deno.remove(SCREENSHOT).catch(() => {});
      const browser = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", `${ROOT}deno.json`, BROWSER_SIDE],
        cwd: ROOT,
        env: { CORTEX_UI_URL: gateway.url, CORTEX_UI_KEY: ADMIN_KEY, CORTEX_UI_SCREENSHOT: SCREENSHOT },
        stdin: "null",
      }).output();
      const out = new TextDecoder().decode(browser.stdout);
      const err = new TextDecoder().decode(browser.stderr);
      console.log(out.trimEnd());
      assert.equal(browser.code, 0, `the browser side failed:\n${err}\ngateway stderr:\n${gateway.stderr()}`);
      assert.equal((out.match(/^ok: /gm) ?? []).length, 6, "every browser step ran");
      assert.equal(await beta(), "loaded", "the page's Load button loaded beta on the node");
      assert.ok(Deno.statSync(SCREENSHOT).size > 10_000);
      console.log(`dashboard screenshot: ${SCREENSHOT}`);
    } finally {
      await gateway.stop();
      await neuron.stop();
    }
  },
});
