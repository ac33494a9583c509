// The service worker: the app shell precached under a versioned cache, so the app starts
// with no network. API calls are never touched (the page's sync loop owns them), nor the
// command-center view and the core modules it loads unbuilt from /core/. A new version
// installs next to the old one and waits for the user.
const VERSION = "__QINGLING_VERSION__";
const SHELL = __QINGLING_SHELL__;
const CACHE = `qingling-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith("qingling-shell-") && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "skip-waiting") self.skipWaiting();
});

function ours(url) {
  return (
    url.origin === self.location.origin &&
    !url.pathname.startsWith("/api/") &&
    !url.pathname.startsWith("/command") &&
    !url.pathname.startsWith("/core/") &&
    !url.pathname.startsWith("/schema")
  );
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!ours(url)) return;
  if (request.mode === "navigate") {
    // The shell of this version, always: it matches the scripts this worker cached.
    event.respondWith(
      caches.match("/index.html", { cacheName: CACHE }).then((hit) => hit || fetch(request)),
    );
    return;
  }
  event.respondWith(
    caches.match(request, { cacheName: CACHE }).then((hit) => hit || fetch(request)),
  );
});
