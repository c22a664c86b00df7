// What the separately loaded Supabase bundle offers the console (see supabase/signin.ts).

export interface SupabaseSignIn {
  /** Email and password; resolves to the Supabase access token. */
  withPassword(url: string, anonKey: string, email: string, password: string): Promise<string>;
  /** Emails a magic link that comes back to `returnTo`. */
  sendMagicLink(url: string, anonKey: string, email: string, returnTo: string): Promise<void>;
  /** The access token a magic link brought back in this page's URL, if any. */
  sessionFromLink(url: string, anonKey: string): Promise<string | null>;
}

export interface SupabaseProject {
  url: string;
  anon_key: string;
}

export interface SignInMethods {
  password: boolean;
  supabase: SupabaseProject | null;
}

declare global {
  interface Window {
    parleySupabase?: SupabaseSignIn;
  }
}

/** Load the Supabase bundle named by the page (once). */
export function loadSupabase(): Promise<SupabaseSignIn> {
  if (window.parleySupabase) return Promise.resolve(window.parleySupabase);
  const src = document.querySelector<HTMLMetaElement>('meta[name="parley-supabase"]')?.content;
  if (!src) return Promise.reject(new Error("This console was built without Supabase sign-in."));
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = () =>
      window.parleySupabase ? resolve(window.parleySupabase) : reject(new Error("Supabase sign-in did not load."));
    script.onerror = () => reject(new Error("Supabase sign-in could not be loaded."));
    document.head.append(script);
  });
}
