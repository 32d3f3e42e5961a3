// Orgata's web UI script: everything works without it; with it, the dashboard updates live and
// a few forms get keyboard shortcuts and confirmations.
"use strict";

// Live panels: follow the team's event stream and reload the panels when something changes.
function followLive(root) {
  const status = document.getElementById("live-status");
  let pending = null;
  let source = null;
  const say = (text) => { if (status) status.textContent = text; };
  const reload = async () => {
    pending = null;
    try {
      const response = await fetch(root.dataset.panels, { headers: { "accept": "text/html" }, credentials: "same-origin" });
      if (response.redirected || !response.ok) {
        say("Live updates stopped: reload the page to sign in again.");
        if (source) source.close();
        return;
      }
      root.innerHTML = await response.text();
      say("Updated at " + new Date().toLocaleTimeString() + ".");
      root.dispatchEvent(new CustomEvent("orgata:updated"));
    } catch (e) {
      say("Live updates paused: the server cannot be reached.");
    }
  };
  source = new EventSource(root.dataset.live);
  const changed = () => { if (!pending) pending = setTimeout(reload, 300); };
  // Every named event (task.completed, instance.started, …) means the panels may be stale.
  // Every named event of the team's stream (task.completed, instance.started, …) means the
  // panels may be stale.
  ["task.created", "task.skipped", "task.assigned", "task.started", "task.completed", "task.rejected",
   "task.cancelled", "instance.started", "instance.completed", "instance.cancelled", "comment.created",
   "member.added", "member.changed", "member.removed"].forEach((name) => source.addEventListener(name, changed));
  source.addEventListener("message", changed);
  source.addEventListener("open", () => say("Live: updates as work happens."));
  source.addEventListener("error", () => say("Live updates reconnecting…"));
}

// Sections whose figures the server is still computing: fetched once ready, then swapped in.
async function loadFragment(section) {
  try {
    const response = await fetch(section.dataset.fragment, { headers: { "accept": "text/html" }, credentials: "same-origin" });
    if (!response.ok || response.redirected) throw new Error(String(response.status));
    section.innerHTML = await response.text();
    section.removeAttribute("data-fragment");
    section.dispatchEvent(new CustomEvent("orgata:loaded", { bubbles: true }));
  } catch (e) {
    const note = section.querySelector("[role=status]");
    if (note) note.textContent = "The figures could not be loaded. Reload the page to try again.";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-fragment]").forEach(loadFragment);
  const live = document.querySelector("[data-live]");
  if (live && window.EventSource) followLive(live);

  // Forms (or one of their buttons) that ask before doing something that cannot be undone.
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      const question = (event.submitter && event.submitter.dataset.confirm) || form.dataset.confirm;
      if (question && !window.confirm(question)) event.preventDefault();
    });
  });

  // Ctrl+Enter (or Cmd+Enter) runs a query or sends a form from a text area.
  document.querySelectorAll("textarea[data-submit-shortcut]").forEach((area) => {
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        area.form.requestSubmit();
      }
    });
  });
});
