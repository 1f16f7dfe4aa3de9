// vibed page: the follow box.  Search the artist index, follow and unfollow; the follows are kept in a
// watch (POST /api/watches) whose id and token this browser keeps in localStorage.  With the "Following"
// chip pressed, the grid and the stream ask for ?watch=<id> (app.js's query()): the server narrows both.
"use strict";

(() => {
  const KEY = "vibed.watch";  // {"id", "token"}
  const input = document.getElementById("artist-q");
  const results = document.getElementById("artist-results");
  const followed = document.getElementById("followed");
  const chip = document.getElementById("following-chip");
  if (!input || !chip) return;
  let artists = [];  // [{id, name}] the watch follows
  let pending = null;  // the search waiting for the typing to stop

  function stored() {
    try { return JSON.parse(localStorage.getItem(KEY) || "null"); } catch { return null; }
  }

  function request(method, watch, body) {
    const headers = { Accept: "application/json", Authorization: `Bearer ${watch.token}` };
    if (body) headers["Content-Type"] = "application/json";
    return fetch(`/api/watches/${encodeURIComponent(watch.id)}`, { method, headers, cache: "no-store",
      body: body ? JSON.stringify(body) : undefined });
  }

  // a list item holding one artist's button (a followed chip, or a search result); text, never HTML
  function artistItem(className, id, text) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.className = className;
    button.dataset.id = id;
    button.textContent = text;
    item.append(button);
    return { item, button };
  }

  function show() {
    followed.replaceChildren(...artists.map((a) => {
      const { item, button } = artistItem("chip followed-artist", a.id, `${a.name} ×`);
      button.title = `Unfollow ${a.name}`;
      button.setAttribute("aria-label", `Unfollow ${a.name}`);  // not "… times"
      return item;
    }));
    chip.hidden = artists.length === 0;
    if (!artists.length && state.following) { state.following = false; refilter(); }  // eslint-disable-line no-undef
    state.syncChips();  // eslint-disable-line no-undef
    for (const button of results.querySelectorAll("button")) {
      button.disabled = artists.some((a) => String(a.id) === button.dataset.id);
    }
  }

  async function save(ids) {
    let watch = stored();
    let response = watch ? await request("PATCH", watch, { artists: ids }) : null;
    if (!response || response.status === 404 || response.status === 401) {  // none yet, or it is gone
      response = await fetch("/api/watches", { method: "POST", cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ name: "Following", artists: ids }) });
      if (!response.ok) throw new Error(`watch answered ${response.status}`);
      const made = await response.json();
      watch = { id: made.id, token: made.token };
      localStorage.setItem(KEY, JSON.stringify(watch));
      return made;
    }
    if (!response.ok) throw new Error(`watch answered ${response.status}`);
    return response.json();
  }

  async function change(ids, focus) {
    const body = await save(ids);
    artists = body.artists;
    state.watch = body.id;  // eslint-disable-line no-undef
    if (focus) state.following = true;  // eslint-disable-line no-undef
    show();
    if (state.following) refilter();  // eslint-disable-line no-undef
  }

  async function search(q) {
    if (!q.trim()) { results.replaceChildren(); return; }
    const response = await fetch(`/api/artists?${new URLSearchParams({ q, limit: "8" })}`,
      { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const found = (await response.json()).data;
    results.replaceChildren(...found.map((a) => {
      const { item, button } = artistItem("result", a.id, `Follow ${a.name}`);
      button.disabled = artists.some((f) => f.id === a.id);
      return item;
    }));
  }

  input.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(() => search(input.value).catch(() => {}), 200);
  });
  results.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const id = Number(button.dataset.id);
    // the pressed button is disabled now: the keyboard goes back to the search, not to the page's start
    change([...artists.map((a) => a.id), id], true).then(() => keepFocus(input)).catch(() => {});
  });
  followed.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const at = [...followed.querySelectorAll("button")].indexOf(button);
    change(artists.filter((a) => String(a.id) !== button.dataset.id).map((a) => a.id), false).then(() => {
      const left = followed.querySelectorAll("button");  // the chip is gone: its neighbour, or the search
      keepFocus(left[Math.min(at, left.length - 1)] || input);
    }).catch(() => {});
  });

  // focus that was on a control now gone or disabled lands here, never on the page's start
  function keepFocus(element) {
    const current = document.activeElement;
    if (!current || current === document.body || current.disabled || !current.isConnected) element.focus();
  }

  const watch = stored();
  if (watch) {
    request("GET", watch).then(async (response) => {
      if (response.status === 404 || response.status === 401) { localStorage.removeItem(KEY); return; }
      if (!response.ok) return;
      const body = await response.json();
      artists = body.artists;
      state.watch = body.id;  // eslint-disable-line no-undef
      // someone who follows sees them first, unless the address names languages or kinds (a reload keeps it)
      if (artists.length && !state.languages.size && !state.kinds.size) state.following = true;  // eslint-disable-line no-undef
      show();
      if (state.following) refilter();  // eslint-disable-line no-undef
    }).catch(() => {});
  }
})();
