// Service-worker registration and the update prompt. A new version never takes over by
// itself: it waits until the user taps "新版本可用 / New version", then the page reloads
// under it. The outbox lives in IndexedDB, which an update does not touch.

/** Register /sw.js; call `onUpdate(apply)` when a new version is waiting. */
export function watchForUpdates(onUpdate, { checkEveryMs = 5 * 60 * 1000 } = {}) {
  if (!("serviceWorker" in navigator)) return;
  // Reload only for an update the user asked for: the first install also changes the
  // controller (clients.claim), and reloading then would wipe a half-typed sign-in.
  let accepted = false;
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!accepted || reloading) return;
    reloading = true;
    location.reload();
  });
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then((reg) => {
    const offer = (worker) => {
      onUpdate(() => {
        accepted = true;
        worker.postMessage({ type: "skip-waiting" });
      });
    };
    // Only an update (a controller already exists) is offered; the first install is silent.
    if (reg.waiting && navigator.serviceWorker.controller) offer(reg.waiting);
    reg.addEventListener("updatefound", () => {
      const worker = reg.installing;
      worker?.addEventListener("statechange", () => {
        if (worker.state === "installed" && navigator.serviceWorker.controller) offer(worker);
      });
    });
    const check = () => reg.update().catch(() => {});
    setInterval(check, checkEveryMs);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") check();
    });
    window.addEventListener("online", check);
  });
}
