// Supabase Auth in the browser, bundled on its own (supabase-js is larger than the rest of the
// console) and loaded only when the server offers Supabase sign-in. The server verifies the
// access token it gets from here; nothing in this file is trusted by it.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";

import type { SupabaseSignIn } from "./contract";

let client: SupabaseClient | null = null;

function connect(url: string, anonKey: string): SupabaseClient {
  // The session only has to last until it is exchanged for a Parley token.
  client ??= createClient(url, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: true, flowType: "implicit" },
  });
  return client;
}

const signIn: SupabaseSignIn = {
  async withPassword(url, anonKey, email, password) {
    const { data, error } = await connect(url, anonKey).auth.signInWithPassword({ email, password });
    if (error || !data.session) throw new Error(error?.message ?? "Supabase did not sign you in.");
    return data.session.access_token;
  },
  async sendMagicLink(url, anonKey, email, returnTo) {
    const { error } = await connect(url, anonKey).auth.signInWithOtp({
      email,
      options: { emailRedirectTo: returnTo, shouldCreateUser: false },
    });
    if (error) throw new Error(error.message);
  },
  async sessionFromLink(url, anonKey) {
    // A magic link returns here with the session in the URL; supabase-js reads it.
    const { data } = await connect(url, anonKey).auth.getSession();
    return data.session?.access_token ?? null;
  },
};

window.parleySupabase = signIn;
