// The sample site's buttons open the chat; a file rather than inline handlers, so the page
// runs under a Content-Security-Policy without 'unsafe-inline' scripts.
document.addEventListener("click", (event) => {
  const opener = event.target instanceof Element && event.target.closest("[data-parley-open]");
  if (opener && window.Parley) window.Parley.open();
});
