// The browser half of dashboard_test.ts, run by it as a child process: drives /ui in headless
// Chromium with playwright-core. It runs apart because playwright-core probes
// /proc/sys/fs/binfmt_misc at import, which Deno allows only under --allow-all, and the test
// runner's permissions are scoped. Input: CORTEX_UI_URL (the gateway), CORTEX_UI_KEY (an admin
// key), CORTEX_UI_SCREENSHOT (a .png path). Prints one line per step; exits 1 on a failure.
import assert from "node:assert/strict";
import { chromium, type Page } from "playwright-core";
import { chat, post } from "./_fixtures.ts";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

const url = Deno.env.get("CORTEX_UI_URL") ?? "";
const key = Deno.env.get("CORTEX_UI_KEY") ?? "";
const screenshot = Deno.env.get("CORTEX_UI_SCREENSHOT") ?? "";

async function step(name: string, fn: () => Promise<void>): Promise<void> {
  await fn();
  console.log(`ok: ${name}`);
}

async function scenario(page: Page): Promise<void> {
  await page.goto(`${url}/ui`);

  await step(
    "the page asks for a key, refuses a wrong one, and a valid one shows the dashboard",
    async () => {
      await page.locator("#key-form").waitFor({ state: "visible" });
      assert.match(await page.locator("#key-why").textContent() ?? "", /needs an API key/);
      await page.fill("#key-input", "sk-not-a-key-of-this-gateway");
      await page.click("#key-form button[type=submit]");
      await page.locator("#key-why", { hasText: "refused that key" }).waitFor();
      assert.equal(await page.evaluate(() => sessionStorage.getItem("cortex-api-key")), null);
      await page.fill("#key-input", key);
      await page.click("#key-form button[type=submit]");
      await page.locator("#dash").waitFor({ state: "visible" });
      assert.equal(await page.locator("#who").textContent(), "admin key");
      assert.equal(await page.evaluate(() => sessionStorage.getItem("cortex-api-key")), key);
    },
  );

  await step("the node card shows its health and a memory bar", async () => {
    const card = page.locator('.node[data-node="n1"]');
    await card.locator(".badge", { hasText: "healthy" }).waitFor();
    assert.match(await card.textContent() ?? "", /device 0 .*MB used/);
    assert.equal(await card.locator(".bar").count(), 1);
  });

  await step("the models table shows alpha resident and beta loadable", async () => {
    const alpha = page.locator('#models tr[data-model="alpha"][data-node="n1"]');
    await alpha.locator(".badge", { hasText: "loaded" }).waitFor();
    assert.equal(await alpha.locator("button").textContent(), "Unload");
    const beta = page.locator('#models tr[data-model="beta"][data-node="n1"]');
    await beta.locator(".badge", { hasText: "available" }).waitFor();
    assert.equal(await beta.locator("button").textContent(), "Load");
  });

  await step("a streamed request through the gateway appears among the recent requests", async () => {
    const res = await post(`${url}/v1/chat/completions`, chat("alpha", { stream: true }), {
      authorization: `Bearer ${key}`,
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /data: \[DONE\]/);
    const row = page.locator("#recent tbody tr", { hasText: "alpha" }).first();
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.textContent() ?? "", /n1chat200\d+ ms/, "node, dialect, status, then a TTFT");
    await page.locator("#chart-tok polyline").first().waitFor({ state: "attached" });
    await page.locator("#chart-ttft circle, #chart-ttft polyline").first().waitFor({ state: "attached" });
  });

  await step("the Load button loads beta and the page shows it resident", async () => {
    const beta = page.locator('#models tr[data-model="beta"][data-node="n1"]');
    await beta.locator("button", { hasText: "Load" }).click();
    await page.locator("#notice", { hasText: "loaded beta on n1" }).waitFor({ timeout: 30_000 });
    await beta.locator(".badge", { hasText: "loaded" }).waitFor({ timeout: 10_000 });
    assert.equal(await beta.locator("button").textContent(), "Unload");
  });

  await step("a screenshot is written", async () => {
    await page.screenshot({ path: screenshot, fullPage: true });
    assert.ok(Deno.statSync(screenshot).size > 10_000);
  });
}

if (import.meta.main) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  let failed = false;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // GET /ui/state is refused without a key and with the wrong one; that is how the page learns to ask.
      const expected = m.location().url.endsWith("/ui/state") && m.text().includes("status of 401");
      if (m.type() === "error" && !expected) problems.push(`console: ${m.text()} (${m.location().url})`);
    });
    await scenario(page);
    assert.deepEqual(problems, [], "no script error and no CSP violation on the page");
  } catch (error) {
    console.error(error instanceof Error ? error.stack ?? error.message : String(error));
    failed = true;
  } finally {
    await browser.close();
  }
  Deno.exit(failed ? 1 : 0);
}
