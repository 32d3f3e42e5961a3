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

// "Show more" buttons: reveal the element they name, then go (delegated: fragments arrive later).
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-reveal]");
  if (!button) return;
  const target = document.getElementById(button.dataset.reveal);
  if (target) target.hidden = false;
  button.remove();
});

// Graphs (process maps) are drawn at their natural size; one wider than its card is fitted to
// it, with buttons to zoom in and out, and dragging (or scrolling) pans.
function zoomable(container) {
  const svg = container.querySelector("svg");
  if (!svg || container.dataset.zoomable) return;
  container.dataset.zoomable = "1";
  const box = svg.viewBox.baseVal;
  if (!box || !box.width) return;
  let scale = 1;
  const apply = () => {
    svg.setAttribute("width", String(Math.round(box.width * scale)));
    svg.setAttribute("height", String(Math.round(box.height * scale)));
  };
  const fit = () => { scale = Math.min(1, (container.clientWidth - 2) / box.width); apply(); };
  const controls = document.createElement("div");
  controls.className = "zoom-controls";
  for (const [text, label, act] of [["−", "Zoom out", () => { scale /= 1.25; apply(); }],
                                    ["Fit", "Fit the map to the card", fit],
                                    ["+", "Zoom in", () => { scale *= 1.25; apply(); }]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = text;
    button.setAttribute("aria-label", label);
    button.addEventListener("click", act);
    controls.appendChild(button);
  }
  container.before(controls);
  let drag = null;
  container.addEventListener("pointerdown", (e) => {
    if (e.target.closest("a")) return;
    drag = { x: e.clientX, y: e.clientY, left: container.scrollLeft, top: container.scrollTop };
    container.classList.add("panning");
  });
  window.addEventListener("pointermove", (e) => {
    if (!drag) return;
    container.scrollLeft = drag.left - (e.clientX - drag.x);
    container.scrollTop = drag.top - (e.clientY - drag.y);
  });
  window.addEventListener("pointerup", () => { drag = null; container.classList.remove("panning"); });
  fit();
}

function zoomables() { document.querySelectorAll(".graph").forEach(zoomable); }
document.addEventListener("DOMContentLoaded", zoomables);
document.addEventListener("orgata:loaded", zoomables);

// The SQL console's history: each query run is kept in this browser, per person and team (the
// newest 30), and listed beside the console; choosing one puts it back in the query box.
document.addEventListener("DOMContentLoaded", () => {
  const list = document.getElementById("query-history");
  const form = document.querySelector("form[data-history-form]");
  if (!list || !form) return;
  const key = list.dataset.key;
  const load = () => { try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; } };
  const show = () => {
    const queries = load();
    if (!queries.length) return;
    list.replaceChildren(...queries.map((q) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = q;
      button.addEventListener("click", () => { form.querySelector("textarea").value = q; form.querySelector("textarea").focus(); });
      item.appendChild(button);
      return item;
    }));
  };
  form.addEventListener("submit", () => {
    const q = form.querySelector("textarea").value.trim();
    if (!q) return;
    const queries = [q, ...load().filter((x) => x !== q)].slice(0, 30);
    try { localStorage.setItem(key, JSON.stringify(queries)); } catch (e) { /* storage full or off */ }
  });
  show();
});
