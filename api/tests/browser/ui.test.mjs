// The web UI end to end in headless Chromium, driven by Playwright (playwright-core from npm).
// Run by api/tests/it/ui.rs against `orgata serve` on a demo history, with:
//   ORGATA_URL, ORGATA_EMAIL, ORGATA_PASSWORD, ORGATA_NAME  the server and the demo administrator
//   ORGATA_PLAYWRIGHT                          the folder whose node_modules holds playwright-core
//   ORGATA_CHROMIUM                            the Chromium binary (Debian's /usr/bin/chromium)
//   ORGATA_SCREENSHOTS                         where the screenshots of the main pages go
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.ORGATA_PLAYWRIGHT, "package.json"));
const { chromium } = require("playwright-core");

const base = process.env.ORGATA_URL;
const shots = process.env.ORGATA_SCREENSHOTS;

/** Opens a fresh browser session (its own cookies) and signs in as the demo administrator. */
async function signedIn(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
  page.external = external;
  await page.goto(base + "/");
  assert.match(page.url(), /\/sign-in/);
  await page.getByLabel("Organisation").fill("acme");
  await page.getByLabel("Email").fill(process.env.ORGATA_EMAIL);
  await page.getByLabel("Password").fill(process.env.ORGATA_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/teams\/[^/]+$/);
  return { context, page };
}

/** The Operations team's path prefix, from the team menu. */
async function teamPath(page, name) {
  const href = await page.locator(".menu ul a", { hasText: name }).first().getAttribute("href");
  assert.ok(href, `team ${name} in the menu`);
  return href;
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

test("the web UI", async (t) => {
  const browser = await chromium.launch({
    executablePath: process.env.ORGATA_CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  try {
    await t.test("a wrong password is refused in words", async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(base + "/sign-in");
      await page.getByLabel("Organisation").fill("acme");
      await page.getByLabel("Email").fill(process.env.ORGATA_EMAIL);
      await page.getByLabel("Password").fill("not the password");
      await page.getByRole("button", { name: "Sign in" }).click();
      await assert.doesNotReject(page.getByRole("alert").getByText("The organisation, email or password is wrong.").waitFor());
      await shot(page, "sign-in");
      await context.close();
    });

    const { context, page } = await signedIn(browser);
    const ops = await teamPath(page, "Operations");

    await t.test("the dashboard shows the demo's work", async () => {
      await page.goto(base + ops);
      await page.getByRole("heading", { level: 1, name: "Operations" }).waitFor();
      const running = Number((await page.locator('[data-kpi="running"]').textContent()).replace(/\D/g, ""));
      assert.ok(running > 0, `active processes: ${running}`);
      // This week's figures arrive once the warehouse has computed them (the page fetches them).
      await page.locator("#figures .chart svg").waitFor();
      await page.locator('#figures [data-finding="top"]').waitFor();
      assert.equal(page.external.length, 0, `no request leaves the server: ${page.external}`);
      await shot(page, "dashboard");
    });

    let processUrl;
    await t.test("start a process from a playbook's start form", async () => {
      await page.goto(base + ops + "/processes/new");
      await page.getByLabel("Playbook", { exact: true }).selectOption({ label: "Incident response" });
      await page.getByRole("button", { name: "Continue" }).click();
      // A summary too short for the schema: the server says so next to the field.
      await page.getByLabel("Service").selectOption("search");
      await page.getByLabel("Severity").selectOption("sev3");
      await page.getByLabel("Summary").fill("slow");
      await page.getByRole("button", { name: "Start" }).click();
      await page.locator(".field-error").first().waitFor();
      assert.match(await page.locator(".field-error").first().textContent(), /Summary/);
      assert.equal(await page.getByLabel("Severity").inputValue(), "sev3", "what was typed is kept");
      await page.getByLabel("Summary").fill("Search results are slow in the EU region");
      await page.getByRole("button", { name: "Start" }).click();
      await page.waitForURL(/\/processes\/[^/]+$/);
      processUrl = page.url();
      await page.getByRole("status").getByText("is started").waitFor();
      assert.ok(await page.locator(".graph svg").count() === 1, "the step graph is drawn");
      await shot(page, "process");
    });

    await t.test("the dashboard updates live when another session completes a task", async () => {
      const watcher = await signedIn(browser);
      await watcher.page.goto(base + ops);
      await watcher.page.locator("#live-status").getByText("Live").waitFor();

      // The other session: take the new incident's triage task and complete it through its form.
      await page.goto(processUrl);
      await page.getByRole("link", { name: "Triage" }).first().click();
      await page.waitForURL(/\/tasks\//);
      const me = await page.locator("#assignee_id option", { hasText: process.env.ORGATA_NAME }).first().getAttribute("value");
      await page.getByLabel("Assign to").selectOption(me);
      await page.getByRole("button", { name: "Assign" }).click();
      await page.getByRole("status").getByText("assigned").waitFor();
      await page.getByLabel("Impact").selectOption("major");
      await page.getByLabel("Category").selectOption("capacity");
      await page.getByLabel("Affected users").fill("60000");
      await page.getByRole("button", { name: "Complete" }).click();
      await page.locator("#e-affected_users").waitFor();
      assert.match(await page.locator("#e-affected_users").textContent(), /50000/);
      await shot(page, "task");
      const first = watcher.page.locator('[data-list="activity"] li').first();
      await watcher.page.waitForFunction(() => /assigned a task/.test(document.querySelector('[data-list="activity"] li')?.textContent));
      const before = await first.textContent();
      await page.getByLabel("Affected users").fill("1200");
      await page.getByRole("button", { name: "Complete" }).click();
      await page.waitForURL(processUrl);
      await page.getByRole("status").getByText("“Triage” is done").waitFor();

      // The watcher's panels were swapped in without a reload.
      await watcher.page.waitForFunction((old) => {
        const text = document.querySelector('[data-list="activity"] li')?.textContent;
        return text !== old && /completed a task/.test(text);
      }, before, { timeout: 15000 });
      assert.match(await watcher.page.locator("#live-status").textContent(), /Updated at/);
      await watcher.context.close();
    });

    await t.test("the task list filters", async () => {
      await page.goto(base + ops + "/tasks?status=completed");
      await page.getByRole("table").waitFor();
      const statuses = await page.locator("tbody .badge").allTextContents();
      assert.ok(statuses.length > 0 && statuses.every((s) => s === "completed"), statuses.join(","));
      await shot(page, "tasks");
    });

    await t.test("the playbook editor shows a precise error and saves nothing", async () => {
      await page.goto(base + ops + "/playbooks");
      await shot(page, "playbooks");
      await page.getByRole("link", { name: "Incident response" }).click();
      await page.locator(".graph svg").waitFor();
      const versions = await page.locator("#versions-heading + ol li").count();
      await shot(page, "playbook");
      await page.getByRole("link", { name: "Edit steps" }).click();
      // The first step now runs after the last: a cycle.
      const first = page.locator("fieldset#step-0");
      await first.getByLabel("close").check();
      await page.getByRole("button", { name: "Validate and save version" }).click();
      await page.getByRole("alert").first().waitFor();
      const text = await page.locator("ul.error").textContent();
      assert.match(text, /Not saved: step `\w+`: dependencies form a cycle/);
      await shot(page, "playbook-editor");
      await page.goto(page.url().replace(/\/edit$/, ""));
      assert.equal(await page.locator("#versions-heading + ol li").count(), versions, "no version was saved");
      // The playbook page leads to its processes, and only its.
      await page.getByRole("link", { name: "Its processes" }).click();
      await page.getByRole("table").waitFor();
      const playbooks = await page.locator("tbody tr td:nth-child(2)").allTextContents();
      assert.ok(playbooks.length > 0 && playbooks.every((p) => p === "Incident response"), playbooks.join(","));
    });

    await t.test("analytics draw charts and the process map", async () => {
      await page.goto(base + ops + "/analytics");
      await page.locator(".chart svg").first().waitFor();
      await shot(page, "analytics");
      await page.getByRole("link", { name: "Process map" }).click();
      await page.locator(".graph svg").waitFor();
      await shot(page, "analytics-process-map");
      await page.getByRole("link", { name: "Bottlenecks" }).click();
      await page.locator(".finding").first().waitFor();
      await shot(page, "analytics-bottlenecks");
    });

    await t.test("SQL: a query's rows, its CSV, and an error in words", async () => {
      await page.goto(base + ops + "/sql");
      await page.getByLabel("Query").fill("select status, count(*) as n from tasks group by status order by status");
      await page.getByRole("button", { name: "Run" }).click();
      await page.locator("table[data-result]").waitFor();
      const headers = await page.locator("table[data-result] th").allTextContents();
      assert.deepEqual(headers, ["status", "n"]);
      assert.ok(await page.locator("table[data-result] tbody tr").count() >= 2);
      const csv = await page.request.get(base + await page.getByRole("link", { name: "Download CSV" }).getAttribute("href"));
      assert.equal(csv.status(), 200);
      assert.match(await csv.text(), /^status,n\n/);
      await shot(page, "sql");
      await page.getByLabel("Query").fill("delete from tasks");
      await page.getByRole("button", { name: "Run" }).click();
      await page.getByRole("heading", { name: "The query failed" }).waitFor();
    });

    await t.test("the audit log and the pages at phone width", async () => {
      await page.goto(base + ops + "/audit");
      await page.getByRole("table").waitFor();
      await shot(page, "audit");
      const phone = await signedIn(browser, { width: 390, height: 844 });
      await phone.page.goto(base + ops);
      const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `the dashboard fits a phone (scroll width ${width})`);
      await shot(phone.page, "dashboard-phone");
      await phone.context.close();
    });

    await t.test("signing out ends the session", async () => {
      await page.locator(".menu summary", { hasText: process.env.ORGATA_NAME }).click();
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(/\/sign-in/);
      await page.goto(base + ops);
      assert.match(page.url(), /\/sign-in/);
    });
    await context.close();
  } finally {
    await browser.close();
  }
});
