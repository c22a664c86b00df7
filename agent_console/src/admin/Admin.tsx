export function Admin({ page }: { page: string | null }) {
  return (
    <section class="admin">
      <p class="muted">Admin pages ({page ?? "overview"}) are coming.</p>
    </section>
  );
}
