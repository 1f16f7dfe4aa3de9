// vibed page: the "Notify me" control.  Subscribes this browser to Web Push with the page's current
// filter (app.js's query(): the languages chosen, or the watch followed); pressed again, unsubscribes.
"use strict";

(() => {
  const button = document.getElementById("notify");
  if (!button) return;
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    button.hidden = true;  // no Web Push in this browser
    return;
  }

  function keyBytes(base64url) {
    const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(text, (c) => c.charCodeAt(0));
  }

  function currentFilter() {
    const body = {};
    const params = typeof query === "function" ? query() : new URLSearchParams();  // eslint-disable-line no-undef
    for (const [key, value] of params) {
      if (["language", "source", "kind", "artist", "watch"].includes(key)) body[key] = value;
    }
    return body;
  }

  function show(text, subscribed) {
    button.textContent = text;
    button.setAttribute("aria-pressed", subscribed ? "true" : "false");
  }

  async function subscribe() {
    const registration = await navigator.serviceWorker.register("/sw.js");
    await navigator.serviceWorker.ready;
    if (Notification.permission !== "granted" && (await Notification.requestPermission()) !== "granted") {
      show("Notifications blocked", false);
      return;
    }
    const answer = await fetch("/api/push/vapid-public-key", { cache: "no-cache" });
    const { public_key: key } = await answer.json();
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: keyBytes(key) });
    const saved = await fetch("/api/push/subscriptions", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...subscription.toJSON(), ...currentFilter() }) });
    if (!saved.ok) throw new Error(`subscribe: ${saved.status}`);
    show("Notifying ✓", true);
  }

  async function existing() {
    const registration = await navigator.serviceWorker.getRegistration("/");
    return registration ? registration.pushManager.getSubscription() : null;
  }

  async function unsubscribe() {
    const subscription = await existing();
    if (subscription) {
      await fetch("/api/push/subscriptions", {
        method: "DELETE", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ endpoint: subscription.endpoint }) });
      await subscription.unsubscribe();
    }
    show("Notify me", false);
  }

  button.hidden = false;
  existing().then((subscription) => { if (subscription) show("Notifying ✓", true); }).catch(() => {});
  button.addEventListener("click", () => {
    button.disabled = true;
    const pressed = button.getAttribute("aria-pressed") === "true";
    (pressed ? unsubscribe() : subscribe())
      .catch((error) => show(pressed ? "Notifying ✓" : "Notify me (failed, retry)", pressed) || console.warn(error))
      .finally(() => { button.disabled = false; });
  });
})();
