// vibed live page: the latest releases, new ones arriving on top over Server-Sent Events.
"use strict";

const NAMES = { ml: "Malayalam", hi: "Hindi", ta: "Tamil", te: "Telugu", kn: "Kannada", bn: "Bengali",
  mr: "Marathi", gu: "Gujarati", pa: "Punjabi", en: "English", bho: "Bhojpuri", ur: "Urdu", or: "Odia",
  as: "Assamese", hr: "Haryanvi", raj: "Rajasthani" };
const KINDS = { album: "Albums", song: "Songs" };  // what vibed keeps (vibed/vocab/messages.py KINDS)
const LIMIT = 60;
const configured = (document.body.dataset.languages || "").split(",").filter(Boolean);
// a simulated catalogue's covers are made-up CDN addresses: draw them (initials) and ask no CDN
const drawnCovers = document.body.dataset.covers === "drawn";
// the languages and kinds chosen live in the address (?language=ml,hi&kind=album), so a reload or a
// shared link keeps them
const address = new URLSearchParams(location.search);
const chosen = (address.get("language") || "").split(",");
const chosenKinds = (address.get("kind") || "").split(",").filter((kind) => kind in KINDS);
// following: the page shows the browser's watch (follow.js) instead of languages; watch: its id.
// held: while the list loads, the stream's arrivals wait here (the stream opens first: no gap between them)
const state = { languages: new Set(chosen.filter((code) => configured.includes(code))), ids: new Set(),
  kinds: new Set(chosenKinds.length < Object.keys(KINDS).length ? chosenKinds : []),
  source: null, lastId: null, retries: 0, following: false, watch: null, held: null, loads: 0, heard: [] };
const grid = document.getElementById("releases");
const template = document.getElementById("card");

function setConnection(kind, text) {
  const el = document.getElementById("connection");
  el.dataset.state = kind;
  el.querySelector(".label").textContent = text;
}

function query() {
  const params = new URLSearchParams();
  if (state.following && state.watch) params.set("watch", state.watch);  // the watch is the whole filter
  else {
    if (state.languages.size) params.set("language", [...state.languages].join(","));
    if (state.kinds.size) params.set("kind", [...state.kinds].join(","));
  }
  return params;
}

function initials(title) {
  const words = title.split(/\s+/).map((w) => w.replace(/[^\p{L}\p{N}]/gu, "")).filter(Boolean);
  return words.slice(0, 2).map((w) => w[0]).join("").toUpperCase() || "♪";
}

function formatDate(iso) {
  if (!iso) return "";
  const d = new Date(iso + "T00:00:00Z");
  return d.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
}

function card(release, fresh) {
  const node = template.content.firstElementChild.cloneNode(true);
  node.dataset.id = release.id;
  node.dataset.language = release.language || "";
  const link = node.querySelector(".cover");
  if (release.url) link.href = release.url; else link.removeAttribute("href");
  link.setAttribute("aria-label", `${release.title} by ${release.artists.join(", ")}`);
  const img = node.querySelector("img");
  img.addEventListener("error", () => img.classList.add("broken"));
  if (release.image && !drawnCovers) img.src = release.image; else img.classList.add("broken");
  node.querySelector(".initials").textContent = initials(release.title);
  node.querySelector(".kind").textContent = release.kind;
  node.querySelector(".title").textContent = release.title;
  node.querySelector(".title").title = release.title;
  node.querySelector(".artists").textContent = release.artists.join(", ") || "Various artists";
  const lang = node.querySelector(".lang");
  if (release.language) lang.textContent = NAMES[release.language] || release.language;
  else lang.remove();  // Spotify carries no language; never invent one
  const date = node.querySelector(".date");
  date.textContent = formatDate(release.release_date);
  if (release.release_date) date.dateTime = release.release_date;
  node.querySelector(".source").textContent = release.source === "spotify" ? "Spotify" : "JioSaavn";
  if (fresh) node.classList.add("fresh");
  return node;
}

function refreshCount() {
  const n = grid.children.length;
  document.getElementById("count").textContent = `${n} release${n === 1 ? "" : "s"}`;
  document.getElementById("empty").hidden = n > 0;
}

// screen readers hear one short line per burst of arrivals, never the grid itself
function announce(release) {
  state.heard.unshift(release.title);
  clearTimeout(state.announcing);
  state.announcing = setTimeout(() => {
    const titles = state.heard.splice(0);
    document.getElementById("announce").textContent = titles.length === 1 ? `New release: ${titles[0]}`
      : `${titles.length} new releases: ${titles.slice(0, 3).join(", ")}${titles.length > 3 ? ", …" : ""}`;
  }, 1000);
}

function prepend(release) {
  if (state.ids.has(release.id)) return;
  if (!state.following && state.languages.size && !state.languages.has(release.language)) return;
  if (!state.following && state.kinds.size && !state.kinds.has(release.kind)) return;
  state.ids.add(release.id);
  grid.prepend(card(release, true));
  while (grid.children.length > LIMIT * 2) grid.lastElementChild.remove();
  refreshCount();
  announce(release);
}

// the list again; the stream's arrivals meanwhile are held, then shown on top of it (those in it once).
// A newer load (the filter changed again) makes an older one's answer moot: it is dropped, not shown.
async function reloadList() {
  if (!state.held) state.held = [];
  const mine = ++state.loads;
  try {
    const params = query();
    params.set("limit", String(LIMIT));
    // no-cache: revalidate (a 304 when unchanged), never a list older than the stream that follows it
    const response = await fetch(`/api/new-releases?${params}`, { cache: "no-cache", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`list answered ${response.status}`);
    const body = await response.json();
    if (mine !== state.loads) return;
    grid.replaceChildren(...body.data.map((r) => card(r, false)));
    state.ids = new Set(body.data.map((r) => r.id));
    refreshCount();
  } finally {
    if (mine === state.loads) {
      const held = state.held || [];
      state.held = null;
      held.forEach(prepend);
      if (state.source && state.source.readyState === EventSource.OPEN) setConnection("live", "live");
    }
  }
}

function connect() {
  if (state.source) state.source.close();
  const params = query();
  if (state.lastId !== null) params.set("last_event_id", state.lastId);
  const qs = params.toString();
  const source = new EventSource(`/api/new-releases/stream${qs ? "?" + qs : ""}`);
  state.source = source;
  // "live" once the grid is current too: while the list loads, the page is still connecting
  source.onopen = () => { state.retries = 0; if (!state.held) setConnection("live", "live"); };
  source.addEventListener("new_release", (event) => {
    state.lastId = event.lastEventId;
    const release = JSON.parse(event.data);
    if (state.held) state.held.push(release); else prepend(release);
  });
  source.addEventListener("reset", (event) => {
    // the server could not replay what we missed: start over from the list
    if (event.lastEventId) state.lastId = event.lastEventId;
    reloadList().catch(() => {});
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      // the browser gave up (a non-200, e.g. a proxy's error page): reconnect ourselves, with back-off.
      // A new EventSource starts without the old one's resume point: from the last event we showed, or,
      // having shown none, after reloading the list, so nothing published meanwhile is missing.
      setConnection("offline", "offline — retrying");
      state.retries += 1;
      const again = () => (state.lastId !== null ? connect() : start());
      setTimeout(again, Math.min(30000, 1000 * 2 ** state.retries));
    } else {
      setConnection("reconnecting", "reconnecting…");
    }
  };
}

// A connection can die without closing (a laptop asleep, a router's idle timeout): EventSource then waits
// for ever and the page says "live". So every two of the server's heartbeats (data-check seconds) the page
// asks the list for its newest release. A stream that has not brought it by the next check, a check with no
// answer, or a stream still opening after two checks is opened again: from the last event shown, the
// server replays what it missed (a release the stream never carries, e.g. a backfill's, is asked once).
const CHECK_MS = Math.max(1000, 1000 * Number(document.body.dataset.check || 30));
const checks = { missing: null, reopenedFor: null, opening: 0 };

function reopen(why) {
  checks.opening = 0;
  setConnection("reconnecting", "reconnecting…");
  if (state.lastId !== null) connect(); else start();
  document.getElementById("connection").dataset.reopened = why;
}

async function check() {
  const source = state.source;
  if (document.hidden || !source || state.held) return;
  if (source.readyState !== EventSource.OPEN) {
    if (source.readyState === EventSource.CONNECTING && ++checks.opening >= 2) reopen("still opening");
    return;
  }
  checks.opening = 0;
  const params = query();
  params.set("limit", "1");
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), CHECK_MS / 2);
  let newest;
  try {
    const response = await fetch(`/api/new-releases?${params}`, { cache: "no-cache", signal: abort.signal,
      headers: { Accept: "application/json" } });
    if (!response.ok) return;  // the server is there; the stream's own errors say the rest
    newest = (await response.json()).data.map((r) => r.id)[0];
  } catch (error) {
    if (source === state.source) reopen("no answer");
    return;
  } finally {
    clearTimeout(timer);
  }
  if (source !== state.source || newest === undefined || state.ids.has(newest)) {
    checks.missing = null;
  } else if (checks.missing === newest && checks.reopenedFor !== newest) {
    checks.reopenedFor = newest;
    reopen("missed a release");
  } else {
    checks.missing = newest;
  }
}

setInterval(() => { check().catch(() => {}); }, CHECK_MS);

// the grid and the stream start over with the current filter (the page opened, a chip pressed, an artist
// followed): the stream first, then the list once the stream is open, so nothing stored between the two
// is missing (the stream's arrivals wait for the list and are shown on top of it, those in it once)
function start() {
  state.lastId = null;
  state.held = [];
  connect();
  const opened = state.source;
  let listed = false;
  const list = () => {
    if (listed || state.source !== opened) return;
    listed = true;
    reloadList().catch(() => setConnection("offline", "offline — retrying"));
  };
  opened.addEventListener("open", list);
  opened.addEventListener("error", () => { if (opened.readyState === EventSource.CLOSED) list(); });
}

function refilter() {
  const url = new URL(location.href);
  for (const [key, picked] of [["language", state.languages], ["kind", state.kinds]]) {
    if (!state.following && picked.size) url.searchParams.set(key, [...picked].join(","));
    else url.searchParams.delete(key);
  }
  history.replaceState(history.state, "", url);
  start();
}

function chips() {
  const box = document.getElementById("languages");
  const all = document.createElement("button");
  all.className = "chip";
  all.textContent = "All";
  all.dataset.code = "";
  box.append(all);
  for (const code of configured) {
    const chip = document.createElement("button");
    chip.className = "chip";
    chip.dataset.code = code;
    chip.textContent = NAMES[code] || code;
    box.append(chip);
  }
  const following = document.createElement("button");  // shown by follow.js once an artist is followed
  following.className = "chip following";
  following.id = "following-chip";
  following.textContent = "Following";
  following.hidden = true;
  box.prepend(following);
  const kinds = document.getElementById("kinds");  // none pressed: both
  for (const [kind, label] of Object.entries(KINDS)) {
    const chip = document.createElement("button");
    chip.className = "chip";
    chip.dataset.kind = kind;
    chip.textContent = label;
    kinds.append(chip);
  }
  const sync = () => {
    for (const chip of box.children) {
      const on = chip === following ? state.following
        : !state.following && (chip.dataset.code ? state.languages.has(chip.dataset.code) : state.languages.size === 0);
      chip.setAttribute("aria-pressed", String(on));
    }
    for (const chip of kinds.children) {
      chip.setAttribute("aria-pressed", String(!state.following && state.kinds.has(chip.dataset.kind)));
    }
  };
  kinds.addEventListener("click", (event) => {
    const chip = event.target.closest(".chip");
    if (!chip) return;
    state.following = false;
    if (state.kinds.has(chip.dataset.kind)) state.kinds.delete(chip.dataset.kind);
    else state.kinds.add(chip.dataset.kind);
    if (state.kinds.size === Object.keys(KINDS).length) state.kinds.clear();  // both is no narrowing
    sync();
    refilter();
  });
  box.addEventListener("click", (event) => {
    const chip = event.target.closest(".chip");
    if (!chip) return;
    if (chip === following) state.following = !state.following;
    else {
      state.following = false;
      const code = chip.dataset.code;
      if (!code) state.languages.clear();
      else if (state.languages.has(code)) state.languages.delete(code);
      else state.languages.add(code);
    }
    sync();
    refilter();
  });
  state.syncChips = sync;
  sync();
}

chips();
start();
