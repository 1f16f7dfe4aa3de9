// vibed service worker: each Web Push message is a new release, shown as a notification.
// The message is the JSON of vibed/push/message.py: {event_id, title, artists, cover, url, language, kind}.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let release = {};
  try {
    release = event.data ? event.data.json() : {};
  } catch (e) {
    release = { title: event.data ? event.data.text() : "" };
  }
  const title = release.title || "New release";
  const artists = Array.isArray(release.artists) ? release.artists.join(", ") : "";
  const options = {
    body: [artists, release.kind].filter(Boolean).join(" · "),
    tag: release.event_id ? `release-${release.event_id}` : undefined,  // a repeat replaces, never doubles
    data: { url: release.url || "/" },
  };
  if (release.cover) options.icon = release.cover;
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.openWindow(url));
});
