// The app's routes live in the URL's hash (#/incident/<id>, #/mediation/new?incident=<id>,
// #/mediation/<record id>, #/outbox, #/settings; 督办 and 通报: #/desk, #/order/<id>,
// #/notice/<id>; anything else is "my work"). `key` is
// the tab that stays lit.

export function parseRoute(hash) {
  const [path, query] = (hash || "#/").slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "incident" && parts[1]) return { name: "incident", id: parts[1], key: "#/" };
  if (parts[0] === "mediation" && parts[1] === "new")
    return { name: "mediation", incidentId: params.get("incident"), key: "#/mediation/new" };
  if (parts[0] === "mediation" && parts[1]) return { name: "mediation", recordId: parts[1], key: "#/mediation/new" };
  if (parts[0] === "desk") return { name: "desk", key: "#/desk" };
  if (parts[0] === "order" && parts[1]) return { name: "order", id: parts[1], key: "#/desk" };
  if (parts[0] === "notice" && parts[1]) return { name: "notice", id: parts[1], key: "#/desk" };
  if (parts[0] === "outbox") return { name: "outbox", key: "#/outbox" };
  if (parts[0] === "settings") return { name: "settings", key: "#/settings" };
  return { name: "work", key: "#/" };
}
