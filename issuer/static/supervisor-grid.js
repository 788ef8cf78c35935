// The supervisor's grid, enhanced: record statements without reloading the page.
//
// Without this file every level's form posts normally and the server answers with a redirect. With it, the form
// is posted with fetch (its CSRF token travels in the form data), the rows are replaced in place, a polite live
// region says what was recorded and focus moves to the next statement not yet met. What the person has ticked
// and typed is kept in sessionStorage, so an expired session (sign in again) or a failed request loses nothing.

const DRAFT_PREFIX = "issuer.grid-draft:";
const FIELDS = ["observed_on", "note", "evidence_url"];

const announcer = document.getElementById("grid-announcer");

function announce(message) {
  if (!announcer) return;
  announcer.textContent = "";
  // A new text node a moment later is announced even when the words are the same as last time.
  window.setTimeout(() => { announcer.textContent = message; }, 50);
}

function draftKey(form) {
  return `${DRAFT_PREFIX}${window.location.pathname}:${form.dataset.level}`;
}

function boxes(form) {
  return [...form.querySelectorAll('input[type="checkbox"][name="statement_ids"]')];
}

function readDraft(form) {
  const draft = { ids: boxes(form).filter((box) => box.checked).map((box) => box.value) };
  for (const name of FIELDS) {
    const field = form.elements.namedItem(name);
    if (field) draft[name] = field.value;
  }
  return draft;
}

function isEmpty(form, draft) {
  const date = form.elements.namedItem("observed_on");
  return draft.ids.length === 0 && !draft.note && !draft.evidence_url
    && (!date || draft.observed_on === date.defaultValue);
}

function saveDraft(form) {
  const draft = readDraft(form);
  try {
    if (isEmpty(form, draft)) sessionStorage.removeItem(draftKey(form));
    else sessionStorage.setItem(draftKey(form), JSON.stringify(draft));
  } catch {
    // Storage may be full or refused (private mode): the form still works, the draft is simply not kept.
  }
}

function clearDraft(form) {
  try { sessionStorage.removeItem(draftKey(form)); } catch { /* nothing kept, nothing to clear */ }
}

function restoreDraft(form) {
  let draft;
  try { draft = JSON.parse(sessionStorage.getItem(draftKey(form)) || "null"); } catch { draft = null; }
  if (!draft || typeof draft !== "object") return false;
  let restored = false;
  const ids = Array.isArray(draft.ids) ? draft.ids.map(String) : [];
  for (const box of boxes(form)) {
    if (ids.includes(box.value) && !box.checked) { box.checked = true; restored = true; }
  }
  for (const name of FIELDS) {
    const field = form.elements.namedItem(name);
    if (field && typeof draft[name] === "string" && draft[name] && field.value !== draft[name]) {
      field.value = draft[name];
      restored = true;
    }
  }
  return restored;
}

function updateCount(form) {
  const count = form.querySelector(".selected-count");
  if (!count) return;
  const n = boxes(form).filter((box) => box.checked).length;
  count.textContent = n ? ` (${n})` : "";
}

function fragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content;
}

// ---- errors next to their field -----------------------------------------------------------------------------

function errorId(form, name) {
  return `err-${form.dataset.level}-${name}`;
}

function clearErrors(form) {
  for (const message of form.querySelectorAll(".field-error")) message.remove();
  for (const field of form.querySelectorAll('[aria-invalid="true"]')) {
    field.removeAttribute("aria-invalid");
    field.removeAttribute("aria-describedby");
  }
  const set = form.querySelector(".statements-set");
  if (set) set.removeAttribute("aria-describedby");
  const formError = form.querySelector(".form-error");
  if (formError) { formError.hidden = true; formError.textContent = ""; }
}

function showFormError(form, message) {
  const formError = form.querySelector(".form-error");
  if (!formError) return null;
  formError.textContent = message;
  formError.hidden = false;
  return formError;
}

function showFieldError(form, name, message) {
  const text = document.createElement("p");
  text.className = "field-error";
  text.id = errorId(form, name);
  text.textContent = message;
  if (name === "statement_ids") {
    const set = form.querySelector(".statements-set");
    set.querySelector("legend").after(text);
    set.setAttribute("aria-describedby", text.id);
    return boxes(form)[0] || set;
  }
  const field = form.elements.namedItem(name);
  if (!field) {
    showFormError(form, message);
    return form.querySelector(".form-error");
  }
  field.setAttribute("aria-invalid", "true");
  field.setAttribute("aria-describedby", text.id);
  field.after(text);
  return field;
}

// ---- after a request ----------------------------------------------------------------------------------------

function replaceRows(form, rows) {
  const ticked = new Set(boxes(form).filter((box) => box.checked).map((box) => box.value));
  for (const [id, html] of Object.entries(rows)) {
    const row = form.querySelector(`#statement-${CSS.escape(id)}`);
    if (!row) continue;
    const replacement = fragment(html).firstElementChild;
    const box = replacement.querySelector('input[name="statement_ids"]');
    if (box && ticked.has(box.value)) box.checked = true;
    row.replaceWith(replacement);
  }
}

function updateProgress(form, data) {
  const bar = form.querySelector(".bar-progress");
  if (bar) bar.replaceChildren(fragment(data.progress));
  const count = form.closest("section")?.querySelector(".level-count");
  if (count) count.textContent = `(${data.met}/${data.total} met)`;
  if (data.met === data.total) {
    // Nothing left to record in this level: the fields and the record button go, the bar keeps "Complete".
    form.querySelector(".observation")?.remove();
    form.querySelector(".record-submit")?.remove();
  }
}

function focusNext(form, recorded) {
  const rows = [...form.querySelectorAll("li.statement")];
  const last = Math.max(-1, ...recorded.map((id) => rows.findIndex((row) => row.dataset.statement === String(id))));
  const unmet = rows.filter((row) => row.classList.contains("unmet"));
  const next = unmet.find((row) => rows.indexOf(row) > last) || unmet[0];
  const target = next?.querySelector('input[name="statement_ids"]') || form.querySelector(".complete-link");
  if (target) target.focus();
}

function markRecorded(form, recorded) {
  for (const id of recorded) {
    form.querySelector(`#statement-${CSS.escape(String(id))}`)?.classList.add("just-recorded");
  }
}

function refreshTokens(token) {
  for (const input of document.querySelectorAll('input[name="csrf_token"]')) input.value = token;
}

async function post(form) {
  return fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: { Accept: "application/json" },
    credentials: "same-origin",
    redirect: "manual",
  });
}

async function readJson(response) {
  try { return await response.json(); } catch { return {}; }
}

async function submit(form, button) {
  clearErrors(form);
  let response;
  let data;
  try {
    response = await post(form);
    data = await readJson(response);
    if (response.status === 400 && data.error === "form_expired" && data.csrfToken) {
      refreshTokens(data.csrfToken); // the page was open longer than a token lives: send it once more
      response = await post(form);
      data = await readJson(response);
    }
  } catch {
    showFormError(form, "Nothing was saved: the connection failed. What you ticked and typed is kept; try again.");
    button?.focus();
    return;
  }
  if (response.ok) {
    clearDraft(form);
    replaceRows(form, data.rows || {});
    updateProgress(form, data);
    for (const name of ["note", "evidence_url", "evidence_file"]) {
      const field = form.elements.namedItem(name);
      if (field) field.value = "";
    }
    updateCount(form);
    markRecorded(form, data.recorded || []);
    announce(data.message || "Recorded.");
    focusNext(form, data.recorded || []);
    return;
  }
  if (response.status === 401 && data.login) {
    saveDraft(form);
    announce(data.message || "Your session has ended. Sign in to continue; your draft is kept.");
    window.location.assign(data.login);
    return;
  }
  if (response.status === 409 && data.rows) {
    replaceRows(form, data.rows);
    updateProgress(form, data);
    updateCount(form);
  }
  if (data.fields) {
    let first = null;
    for (const [name, message] of Object.entries(data.fields)) {
      const target = showFieldError(form, name, message);
      first = first || target;
    }
    first?.focus();
    return;
  }
  const shown = showFormError(form, data.message || `Nothing was saved (the server answered ${response.status}).`);
  if (shown) { shown.tabIndex = -1; shown.focus(); }
}

function enhance(form) {
  if (restoreDraft(form)) announce("Your unsaved selection and note are back in the form.");
  updateCount(form);
  form.addEventListener("input", () => saveDraft(form));
  form.addEventListener("change", () => { saveDraft(form); updateCount(form); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (form.dataset.busy) return; // a double click sends one request
    form.dataset.busy = "1";
    const button = form.querySelector(".record-submit");
    button?.setAttribute("aria-disabled", "true");
    try {
      await submit(form, button);
    } finally {
      delete form.dataset.busy;
      button?.removeAttribute("aria-disabled");
    }
  });
}

for (const form of document.querySelectorAll("form.record-form")) enhance(form);
