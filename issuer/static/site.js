// Progressive enhancements shared by every page (loaded as a module: CSP script-src 'self').
// Without JavaScript the menu stays open and wraps, and wide tables scroll inside themselves.

const NARROW = window.matchMedia("(max-width: 47.99rem)");

function collapsibleMenu() {
  const header = document.querySelector("header.site");
  const toggle = header && header.querySelector(".menu-toggle");
  const menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (!menu) return;
  const setOpen = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    header.classList.toggle("menu-open", open);
  };
  toggle.hidden = false;
  header.classList.add("has-menu-toggle");
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  // Escape closes the open menu and gives focus back to its button.
  header.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && header.classList.contains("menu-open") && NARROW.matches) {
      setOpen(false);
      toggle.focus();
    }
  });
  NARROW.addEventListener("change", () => setOpen(false));
}

// Tables become stacked cards on phones (CSS, table[data-stack="cards"]): each cell shows its column's
// name from data-label. Templates may set data-label themselves; this fills in the ones they did not,
// from the <th scope="col"> headers, and gives the cells explicit ARIA roles so screen readers keep the
// table's rows and columns when CSS changes how it is displayed.
export function stackedTables(root = document.querySelector("main")) {
  if (!root) return;
  for (const table of root.querySelectorAll("table")) {
    if (table.dataset.stack && table.dataset.stack !== "cards") continue;  // e.g. data-stack="off"
    const head = table.tHead && table.tHead.rows[0];
    if (!head) continue;
    const labels = [];
    for (const cell of head.cells) {
      const text = cell.textContent.trim();
      for (let n = 0; n < cell.colSpan; n += 1) labels.push(text);
    }
    table.setAttribute("role", "table");
    table.tHead.setAttribute("role", "rowgroup");
    head.setAttribute("role", "row");
    for (const cell of head.cells) cell.setAttribute("role", "columnheader");
    // Rowspans shift later rows' cells to the right: count how many more rows each column stays taken.
    const taken = labels.map(() => 0);
    for (const body of table.tBodies) {
      body.setAttribute("role", "rowgroup");
      for (const row of body.rows) {
        row.setAttribute("role", "row");
        const busy = taken.map((rows) => rows > 0);
        for (let n = 0; n < taken.length; n += 1) if (taken[n] > 0) taken[n] -= 1;
        let column = 0;
        for (const cell of row.cells) {
          while (busy[column]) column += 1;
          cell.setAttribute("role", cell.tagName === "TH" ? "rowheader" : "cell");
          const label = labels[column];
          if (label && !cell.hasAttribute("data-label") && cell.colSpan < labels.length) cell.dataset.label = label;
          for (let n = 0; n < cell.colSpan; n += 1) if (cell.rowSpan > 1) taken[column + n] = cell.rowSpan - 1;
          column += cell.colSpan;
        }
      }
    }
    table.dataset.stack = "cards";
  }
}

collapsibleMenu();
stackedTables();
