// Keeps a progress section current without reloading the page (a timed page reload is an accessibility
// failure, WCAG 2.2.1): every data-refresh seconds, fetch this page again and swap in its section's new
// content, until the server sends the section without data-refresh (the work is finished). The section's
// role="status" element is kept and only its text changed, so screen readers announce the new counts.
import { stackedTables } from "./site.js";

async function refresh(section) {
  const seconds = Number(section.dataset.refresh) || 5;
  await new Promise((resolve) => { setTimeout(resolve, seconds * 1000); });
  try {
    const response = await fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    const fresh = response.ok && new DOMParser().parseFromString(await response.text(), "text/html").getElementById(section.id);
    if (fresh) {
      const status = section.querySelector('[role="status"]');
      const freshStatus = fresh.querySelector('[role="status"]');
      if (status && freshStatus) {
        status.textContent = freshStatus.textContent;
        freshStatus.replaceWith(status);
      }
      section.replaceChildren(...fresh.childNodes);
      if (!fresh.hasAttribute("data-refresh")) section.removeAttribute("data-refresh");
      stackedTables(section);
    }
  } catch {
    // Offline for a moment: try again at the next tick.
  }
  if (section.hasAttribute("data-refresh")) refresh(section);
}

for (const section of document.querySelectorAll("[data-refresh]")) refresh(section);
