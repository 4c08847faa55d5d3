// The runs list's runs in flight update themselves: every few seconds their rows are fetched again from
// /runs/live/ (the table's data-live-url) and swapped in, until no row on the page is in flight. Without this
// script the page is just as complete; it only stays as it was loaded.
(() => {
  "use strict";
  const EVERY_MS = 3000;
  const table = document.querySelector("table[data-live-url]");
  if (!table) return;

  const inFlight = () => [...table.querySelectorAll("tr[data-in-flight]")];

  async function refresh(rows) {
    const ids = rows.map((row) => row.dataset.runId);
    const response = await fetch(`${table.dataset.liveUrl}?ids=${encodeURIComponent(ids.join(","))}`, {
      credentials: "same-origin", headers: {Accept: "text/html"}, cache: "no-store",
    });
    if (!response.ok) throw new Error(`${response.status} from ${response.url}`);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const answered = new Map([...fresh.querySelectorAll("tr[data-run-id]")].map((row) => [row.dataset.runId, row]));
    for (const row of rows) {
      const now = answered.get(row.dataset.runId);
      if (now) {
        row.replaceWith(document.importNode(now, true));
      } else {
        delete row.dataset.inFlight; // no longer ours to see (or signed out): stop asking about it
      }
    }
  }

  function tick() {
    const rows = inFlight();
    if (!rows.length) return;
    // A failed poll (the server restarting, say) is simply tried again next time.
    refresh(rows).catch(() => {}).finally(() => setTimeout(tick, EVERY_MS));
  }

  setTimeout(tick, EVERY_MS);
})();
