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
async function signedIn(browser, viewport = { width: 1366, height: 900 }) {
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

/** The first value of a query's first row, through the team's SQL console (its CSV download). */
async function sqlValue(page, team, query) {
  await page.goto(base + team + "/sql");
  await page.getByLabel("Query").fill(query);
  await page.getByRole("button", { name: "Run" }).click();
  await page.locator("table[data-result]").waitFor();
  const csv = await page.request.get(base + await page.getByRole("link", { name: "Download CSV" }).getAttribute("href"));
  const lines = (await csv.text()).trim().split("\n");
  return Number(lines[1].split(",")[0]);
}

/** A full-page screenshot. Headless Chromium now and then refuses one while it is still laying
 * out the page ("Unable to capture screenshot"): it is tried again a moment later, four times at most. */
async function shot(page, name) {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
      return;
    } catch (e) {
      if (attempt === 5 || !/Unable to capture screenshot/.test(String(e))) throw new Error(`screenshot ${name}: ${e}`);
      await page.waitForTimeout(500 * attempt);
    }
  }
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
      // The week's figures arrive once the warehouse has computed them (the page fetches them).
      await page.locator("#figures .chart svg").waitFor();
      await page.locator('#figures [data-finding="top"]').waitFor();
      assert.equal(page.external.length, 0, `no request leaves the server: ${page.external}`);
      await shot(page, "dashboard");
    });

    await t.test("the dashboard compares whole weeks: the last 7 days against the 7 before", async () => {
      await page.goto(base + ops);
      await page.locator('#figures [data-kpi="started"]').waitFor();
      assert.equal(await page.locator("#figures .section-title").textContent(), "The last 7 days");
      // Cases started: those whose first counted event (a completion) is in the last 7 days,
      // counted by SQL over the same events (not this calendar week so far).
      const started = Number((await page.locator('#figures [data-kpi="started"]').textContent()).replace(/\D/g, ""));
      const trend = await page.locator("#figures .kpi").first().locator(".trend").textContent();
      assert.match(trend, /the 7 days before|same as the 7 days before/, trend);
      // No chart point is a partial period.
      assert.equal(await page.locator("#figures .partial-band").count(), 0);
      const counted = await sqlValue(page, ops, "select count(*) as n from (select case_id, min(ts) as first from events " +
        "where source = 'orgata' and lifecycle = 'complete' group by case_id) c where first >= now() - interval '7 days'");
      assert.equal(started, counted, "cases started in the last 7 days");
    });

    await t.test("the top bottleneck is work that delays the outcome, not follow-up work", async () => {
      await page.goto(base + ops);
      const top = await page.locator('#figures [data-finding="top"]').textContent();
      assert.doesNotMatch(top, /post-mortem|follow-up/, top);
      await page.goto(base + ops + "/analytics?tab=bottlenecks");
      const headline = await page.locator('[data-finding="headline"]').textContent();
      assert.doesNotMatch(headline, /Write post-mortem/, headline);
      // The post-mortem is there, labelled as what it is.
      const steps = await page.locator("#acts-heading + ul li").allTextContents();
      const postmortem = steps.find((s) => s.startsWith("Write post-mortem"));
      assert.ok(postmortem, steps.join("\n"));
      assert.match(postmortem, /^Write post-mortem \(follow-up work, after the outcome\):/);
      // Overlapping work is said in words: no negative duration anywhere on the page.
      const text = await page.locator("main").textContent();
      assert.doesNotMatch(text, /[-−]\d+(d|h|m|s)\b/, "a negative duration");
      await page.goto(base + ops + "/analytics?tab=dfg");
      await page.locator(".graph svg").waitFor();
      assert.doesNotMatch(await page.locator("main").textContent(), /[-−]\d+(d|h|m|s)\b/, "a negative duration");
    });

    await t.test("durations read the same in figures and charts, and the chart is their distribution", async () => {
      await page.goto(base + ops + "/analytics");
      const box = page.locator("svg.chart-box");
      await box.waitFor();
      const median = (await page.locator(".kpi", { hasText: "Median duration" }).locator(".figure").textContent()).trim();
      const tips = await box.locator("title").allTextContents();
      assert.ok(tips.some((t) => t.endsWith(`median: ${median}`)), `${median} in ${tips.join(" | ")}`);
      assert.ok(tips.some((t) => t.includes("the middle half:")), tips.join(" | "));
      // No chart on the page counts in hours while the figures are durations.
      assert.doesNotMatch(await page.locator("main svg").allTextContents().then((t) => t.join(" ")), /\bhours\b/);
      await page.goto(base + ops + "/analytics?tab=bottlenecks");
      const ticks = await page.locator("svg.chart-bar .tick-label").allTextContents();
      assert.ok(ticks.length > 1 && ticks.slice(1).every((t) => /^\d+(d|h|m|s)( \d\d(h|m|s))?$/.test(t)), ticks.join(","));
    });

    await t.test("periods still running are marked partial", async () => {
      await page.goto(base + ops + "/analytics?tab=overview&period=day");
      await page.locator("svg.chart-line").waitFor();
      // The demo's history runs to now: today is a partial day.
      assert.equal(await page.locator("svg.chart-line .partial-band").count(), 1);
      assert.match(await page.locator("svg.chart-line desc").textContent(), /Partial periods: /);
    });

    await t.test("the variants list says how many there are and shows them all on request", async () => {
      await page.goto(base + ops + "/analytics?tab=variants");
      const heading = await page.locator("#variants-heading").textContent();
      const count = Number(heading.match(/^([\d,]+) variants/)[1].replace(/,/g, ""));
      const text = await page.locator("main").textContent();
      assert.doesNotMatch(text, /\b1 steps\b/);
      const rows = page.locator("#variants-heading ~ .table-wrap tbody tr");
      const more = page.getByRole("button", { name: /Show the other \d+ variants/ });
      if (count > 15) {
        assert.equal(await rows.count(), 15 + (await more.textContent()).match(/\d+/)[0] * 1);
        assert.equal(await page.locator("#variants-heading ~ .table-wrap tbody tr:visible").count(), 15);
        await more.click();
      }
      assert.equal(await page.locator("#variants-heading ~ .table-wrap tbody tr:visible").count(), Math.min(count, 515));
      const shares = await page.locator("#variants-heading ~ .table-wrap tbody td:nth-child(4)").allTextContents();
      assert.ok(shares.every((s) => s !== "0%"), shares.join(","));
      // The whole table as CSV, figures as numbers.
      const csv = await page.request.get(base + await page.locator("a[data-download]").getAttribute("href"));
      assert.equal(csv.status(), 200);
      const lines = (await csv.text()).trim().split("\n");
      assert.equal(lines[0], "rank,path,steps,cases,share,median_duration_s,mean_duration_s");
      assert.equal(lines.length, count + 1);
    });

    await t.test("unusual processes are named, linked and explained in words", async () => {
      await page.goto(base + ops + "/analytics?tab=anomalies");
      await page.locator('[data-finding="anomaly"]').first().waitFor();
      const findings = await page.locator('[data-finding="anomaly"]').allTextContents();
      assert.ok(findings.length >= 1 && findings.every((f) => f.trim().endsWith(".")), findings.join("\n"));
      const rows = page.locator("table[data-anomalies] tbody tr");
      if (await rows.count() > 0) {
        const link = rows.first().locator("td:first-child a");
        assert.match(await link.getAttribute("href"), /^\/processes\/[0-9a-f-]{36}$/);
        assert.doesNotMatch(await link.textContent(), /^[0-9a-f-]{36}$/, "a title, not an id");
        assert.ok((await rows.first().locator("td:last-child").textContent()).trim().endsWith("."));
      }
      const csv = await page.request.get(base + await page.locator("a[data-download]").getAttribute("href"));
      assert.equal((await csv.text()).split("\n")[0], "case,started,running,duration_s,repeats,unusual,finding");
      // The dashboard's panel leads to the same page.
      await page.goto(base + ops);
      await page.locator("#anomalies-heading").waitFor();
      assert.equal(await page.locator('#figures a[href$="/analytics?tab=anomalies"]').count(), 1);
    });

    await t.test("a comparison of periods reads from the earlier to the later", async () => {
      await page.goto(base + ops + "/analytics?tab=compare");
      await page.locator("#compare-heading ~ .table-wrap th").first().waitFor();
      const headers = await page.locator("#compare-heading ~ .table-wrap th").allTextContents();
      const first = (text) => text.match(/\d{4}-\d{2}-\d{2}/)[0];
      assert.ok(first(headers[1]) < first(headers[2]), headers.join(" | "));
      // A change is the later side against the earlier one.
      const row = page.locator("#compare-heading ~ .table-wrap tbody tr", { hasText: "Cases" }).first();
      const [before, after, change] = (await row.locator("td.num").allTextContents()).map((t) => t.trim());
      const number = (t) => Number(t.replace(/[^\d.]/g, ""));
      if (change !== "—" && number(before) !== number(after)) {
        assert.equal(change.startsWith("+"), number(after) > number(before), `${before} → ${after}: ${change}`);
      }
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
      // A running process has a forecast, or says why there is none yet — never a blank.
      const forecast = (await page.locator("[data-forecast]").textContent()).trim();
      assert.match(forecast, /^Forecast\s+(Expected to finish \d{4}-\d\d-\d\d|.*(no prediction model yet|no events in the warehouse yet))/s, forecast);
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
      // Steps are collapsed to their summary line; open the first.
      const first = page.locator("fieldset#step-0");
      assert.equal(await page.locator("details.step-settings[open]").count(), 0, "long playbooks start collapsed");
      await first.locator("summary").first().click();
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

    await t.test("a condition is read in words and edited with a small form", async () => {
      await page.goto(base + ops + "/playbooks");
      await page.getByRole("link", { name: "Incident response" }).click();
      await page.locator(".graph svg").waitFor();
      const row = page.locator("tbody tr", { hasText: "Escalate to management" });
      assert.match(await row.textContent(), /severity is sev1/);
      assert.doesNotMatch(await page.locator("main").textContent(), /"var"|"op"/, "no condition shown as JSON");
      await page.getByRole("link", { name: "Edit steps" }).click();
      const step = page.locator("fieldset#step-2");
      await step.locator("summary").first().click();
      const rule = step.locator(".rule").first();
      assert.equal(await rule.getByLabel("Field").inputValue(), "input.severity");
      await rule.getByLabel("Test").selectOption("in");
      await rule.getByLabel("Value").fill("sev1, sev2");
      await page.getByLabel("What changed").fill("Escalate severe incidents");
      await page.getByRole("button", { name: "Validate and save version" }).click();
      await page.waitForURL(/\/playbooks\/[^/]+$/);
      assert.match(await page.locator("tbody tr", { hasText: "Escalate to management" }).textContent(), /severity is sev1 or sev2/);
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
      // Every section is in sight: the menu's links wrap rather than scroll away.
      for (const link of await phone.page.locator("nav.sections a").all()) {
        const box = await link.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${await link.textContent()} is in sight`);
      }
      await phone.context.close();
    });

    await t.test("names, not ids: tasks name their process, the audit log its records", async () => {
      await page.goto(base + ops + "/tasks?status=all");
      const processes = await page.locator("tbody tr td:nth-child(5)").allTextContents();
      assert.ok(processes.length > 0 && processes.every((p) => !/^process [0-9a-f]{8}$/.test(p.trim())), processes.join(","));
      await page.goto(base + ops + "/audit");
      const about = await page.locator("tbody tr td:nth-child(4)").allTextContents();
      assert.ok(about.every((a) => !/^(task|process|instance) [0-9a-f]{8}$/.test(a.trim())), about.join(" | "));
      // Newest first.
      await page.goto(base + ops + "/processes?status=all");
      const started = (await page.locator("tbody tr td:nth-child(4)").allTextContents()).map((t) => Date.parse(t.replace(",", "") + " UTC"));
      assert.ok(started.length > 1 && started.every((t) => !Number.isNaN(t)), started.join(","));
      assert.ok(started.every((t, i) => i === 0 || started[i - 1] >= t), "processes newest first");
    });

    await t.test("a person lands on the team they worked in last", async () => {
      const other = await page.locator(".menu ul a").evaluateAll((links, ops) =>
        links.map((a) => a.getAttribute("href")).find((h) => /^\/teams\/[^/]+$/.test(h) && h !== ops), ops);
      assert.ok(other, "a second team");
      await page.goto(base + other);
      await page.goto(base + "/");
      assert.equal(new URL(page.url()).pathname, other);
      await page.goto(base + ops);
      await page.goto(base + "/");
      assert.equal(new URL(page.url()).pathname, ops);
    });

    await t.test("every page at 1366 and at 390 pixels: screenshots, and nothing wider than a phone", async () => {
      const task = await page.goto(base + ops + "/tasks?status=all").then(() => page.locator("tbody a[href^='/tasks/']").first().getAttribute("href"));
      const playbook = await page.goto(base + ops + "/playbooks").then(() => page.locator("a[href^='/playbooks/']", { hasText: "Incident response" }).first().getAttribute("href"));
      const pages = [
        ["dashboard", ops], ["tasks", ops + "/tasks"], ["task", task], ["processes", ops + "/processes"], ["process", new URL(processUrl).pathname],
        ["playbooks", ops + "/playbooks"], ["playbook", playbook], ["playbook-editor", playbook + "/edit"],
        ["analytics", ops + "/analytics"], ["analytics-variants", ops + "/analytics?tab=variants"],
        ["analytics-process-map", ops + "/analytics?tab=dfg"], ["analytics-bottlenecks", ops + "/analytics?tab=bottlenecks"],
        ["analytics-compare", ops + "/analytics?tab=compare"], ["analytics-anomalies", ops + "/analytics?tab=anomalies"],
        ["models", ops + "/models"], ["sql", ops + "/sql"], ["audit", ops + "/audit"],
        ["settings", ops + "/settings"], ["profile", "/profile"], ["organisation", "/organisation"],
      ];
      const phone = await signedIn(browser, { width: 390, height: 844 });
      for (const [name, path] of pages) {
        for (const [who, suffix] of [[page, "-1366"], [phone.page, "-390"]]) {
          await who.goto(base + path);
          // Figures computed in the background arrive by fetch: wait for them.
          await who.waitForFunction(() => !document.querySelector("[data-fragment]"), null, { timeout: 20000 });
          await shot(who, name + suffix);
        }
        const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 390, `${name} fits a phone (scroll width ${width})`);
      }
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
