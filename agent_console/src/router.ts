// Hash routes: #/queue, #/inbox, #/inbox/<conversation id>, #/admin/<page>.
import { useEffect, useState } from "preact/hooks";

export interface Route {
  page: "queue" | "inbox" | "admin";
  id: string | null;
}

export function parse(hash: string): Route {
  const [page, id] = hash.replace(/^#\/?/, "").split("/");
  if (page === "queue" || page === "admin") return { page, id: id || null };
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
