// Hash routes: #/queue, #/inbox, #/inbox/<conversation id>, #/quick, #/admin/<page>, and
// #/reset-password?token=<token> (an admin's one-time link; no sign-in needed).
import { useEffect, useState } from "preact/hooks";

export interface Route {
  page: "queue" | "inbox" | "admin" | "quick" | "reset-password";
  id: string | null;
}

export function parse(hash: string): Route {
  const [path, query] = hash.replace(/^#\/?/, "").split("?");
  if (path === "reset-password") return { page: path, id: new URLSearchParams(query ?? "").get("token") };
  const [page, id] = path.split("/");
  if (page === "queue" || page === "admin" || page === "quick") return { page, id: id || null };
  return { page: "inbox", id: id || null };
}

export function go(path: string): void {
  location.hash = `#/${path}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const update = () => setRoute(parse(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}
