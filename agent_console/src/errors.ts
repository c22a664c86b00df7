// What an agent reads when something fails: a sentence about what happened and what to do,
// with the server's error code kept at the end for support (the raw message is for logs).
import { ApiError } from "./api";

/** "10 MB", "1.5 MB", "200 KB": sizes as people say them. */
function size(n: number): string {
  const mb = n / 1024 / 1024;
  if (mb >= 1) return `${Number(mb.toFixed(1))} MB`;
  return `${Math.round(n / 1024)} KB`;
}

function detail(error: ApiError, key: string): number | null {
  const value = error.details[key];
  return typeof value === "number" ? value : null;
}

function sentence(error: ApiError): string {
  switch (error.code) {
    case "too_large": {
      const bytes = detail(error, "max_bytes");
      const length = detail(error, "max_length");
      if (bytes !== null) return `Files can be up to ${size(bytes)}.`;
      if (length !== null) return `Messages can be up to ${length.toLocaleString("en")} characters.`;
      return "That is larger than the server accepts.";
    }
    case "unsupported_media_type":
      return "This type of file cannot be sent. Images, PDFs and common documents can.";
    case "rate_limited": {
      const wait = detail(error, "retry_after");
      return wait !== null ? `Too many attempts. Try again in ${Math.ceil(wait)} seconds.` : "Too many attempts. Try again shortly.";
    }
    case "not_found":
      return "It is gone, or you no longer have access to it. Reload to see the current state.";
    case "forbidden":
      return "You are not allowed to do that. An admin can change your role.";
    case "unauthorized":
      return "Your session has ended. Sign in again.";
    case "internal":
    case "unavailable":
      return "Something went wrong on the server. Try again; if it keeps failing, tell your admin.";
    case "bad_request":
    case "unknown_field":
      return "The console sent something the server did not understand. Reload the page and try again.";
    case "network":
    case "timeout":
    case "offline":
      return error.message; // written by the console itself
    default:
      // conflict, validation_failed: the server explains the situation in words for people.
      return error.message;
  }
}

/** A failure as shown to agents and admins. */
export function humanError(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong. Try again.";
  const local = error.code === "network" || error.code === "timeout" || error.code === "offline";
  return local ? sentence(error) : `${sentence(error)} (code: ${error.code})`;
}
