// face-classifier review: the page. It shows the state /api/state returns and sends every
// change as a JSON POST to /api/change with the token of the page's URL. No framework, no build.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const UNKNOWNS = "unknowns";
const SET_ASIDE = ".set-aside";
const NEW_PERSON = "\u0000new";   // the "new person" choice; no folder name can hold a NUL
const POLL_MS = 3000;
const LAZY_FROM = 400;           // with more faces than this, images load as they scroll into view

let state = null;
const selection = new Map();     // face file name -> the folder it was selected in
let pending = false;             // a change is on its way
let pollTimer = null;
let lazy = "eager";

// --- small helpers ---------------------------------------------------------------------
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

const $ = (id) => document.getElementById(id);
const imageUrl = (face) => `${face.img}&token=${encodeURIComponent(TOKEN)}`;
const thumbUrl = (face) => `${imageUrl(face)}&thumb=1`;  // a small JPEG: tiles load at once
const fixed = (x) => (x == null ? "" : Number(x).toFixed(3));
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function banner(kind, text) {
  const node = $("banner");
  node.hidden = !text;
  node.className = kind;
  node.textContent = text || "";
}

// --- talking to the server -------------------------------------------------------------
async function loadState() {
  try {
    const response = await fetch(`/api/state?token=${encodeURIComponent(TOKEN)}`, {cache: "no-store"});
    const data = await response.json();
    if (!response.ok) { banner("error", data.error); return; }
    render(data);
  } catch (error) {
    banner("error", `The review server does not answer (${error.message}): is face-classifier review still running?`);
  }
}

async function send(change) {
  if (pending) return;
  pending = true;
  document.body.classList.add("pending");
  try {
    const response = await fetch("/api/change", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({token: TOKEN, ...change}),
    });
    const data = await response.json();
    if (data.state) render(data.state);
    if (response.ok) banner("ok", data.message);
    else banner(response.status === 409 ? "busy" : "error", data.error);
  } catch (error) {
    banner("error", `The change was not confirmed (${error.message}): reload to see the result as it is.`);
  } finally {
    pending = false;
    document.body.classList.remove("pending");
  }
}

function poll(on) {
  if (on && !pollTimer) pollTimer = setInterval(loadState, POLL_MS);
  if (!on && pollTimer) { clearInterval(pollTimer); pollTimer = null; }
}

// --- the page --------------------------------------------------------------------------
function render(newState) {
  if (state && state.suggestions && newState.generation === state.generation) {
    newState.suggestions = state.suggestions;  // the same load: its suggestions stand
  }
  state = newState;
  $("result").textContent = state.result || "";
  $("lock-policy").textContent = state.lock_policy || "";
  const readOnly = Boolean(state.busy);
  document.body.classList.toggle("busy", readOnly);
  poll(readOnly);
  if (readOnly) banner("busy", state.busy);
  else if ($("banner").className === "busy") banner("", "");
  if (!state.loaded) {
    $("summary").textContent = state.unusable ? "this result cannot be used" : "waiting for the run to end";
    return;
  }
  $("summary").textContent = state.summary;
  const faces = state.persons.reduce((n, p) => n + p.faces.length, state.unknowns.length);
  lazy = faces > LAZY_FROM ? "lazy" : "eager";
  $("threshold").textContent = state.threshold;

  const present = new Map();
  for (const person of state.persons) for (const face of person.faces) present.set(face.name, person.name);
  for (const face of state.unknowns) present.set(face.name, UNKNOWNS);
  for (const face of state.set_aside) present.set(face.name, SET_ASIDE);
  for (const [name, folder] of [...selection]) {
    if (present.get(name) !== folder) selection.delete(name);
  }

  renderSuggestions();
  renderPersons();
  fillFaces($("unknowns"), state.unknowns, UNKNOWNS);
  $("unknown-count").textContent = `(${state.unknowns.length})`;
  fillFaces($("set-aside"), state.set_aside, SET_ASIDE);
  $("set-aside-count").textContent = `(${state.set_aside.length})`;
  renderActions();
  for (const control of document.querySelectorAll(".changes button, .changes select, .changes input, #actions button, #actions select")) {
    control.disabled = readOnly;
  }
}

function facesOf(name) {
  if (name === UNKNOWNS) return state.unknowns;
  const person = state.persons.find((p) => p.name === name);
  return person ? person.faces : [];
}

function faceNamed(name) {
  for (const list of [state.unknowns, state.set_aside, ...state.persons.map((p) => p.faces)]) {
    const face = list.find((f) => f.name === name);
    if (face) return face;
  }
  return null;
}

function thumbs(faces, count = 3) {
  return el("span", {class: "thumbs"}, ...faces.slice(0, count).map(
    (face) => el("img", {src: thumbUrl(face), alt: face.name, title: face.name, loading: lazy})));
}

// the suggestions come apart from the state: on a thousand persons they take seconds, and the
// persons are shown meanwhile
let suggestionsOf = null;         // the state generation whose suggestions were asked for

async function loadSuggestions(generation) {
  suggestionsOf = generation;
  try {
    const response = await fetch(`/api/suggestions?token=${encodeURIComponent(TOKEN)}`, {cache: "no-store"});
    const found = await response.json();
    if (!response.ok || found.generation !== state.generation) return;  // a newer state is coming
    state.suggestions = found;
    renderSuggestions();
    for (const control of document.querySelectorAll("#suggestions .changes button")) {
      control.disabled = Boolean(state.busy);
    }
  } catch (error) {
    banner("error", `The suggestions did not come (${error.message}): reload to try again.`);
  }
}

function renderSuggestions() {
  const s = state.suggestions;
  if (!s) {
    $("suggestion-count").textContent = "(finding them\u2026)";
    for (const id of ["merge-suggestions", "unknown-suggestions", "misplaced-suggestions"]) {
      $(id).replaceChildren(el("li", {class: "none", text: "Finding suggestions\u2026"}));
    }
    if (suggestionsOf !== state.generation) loadSuggestions(state.generation);
    return;
  }
  $("suggestion-count").textContent = `(${s.merges.length + s.unknowns.length + s.misplaced.length})`;
  fillList($("merge-suggestions"), s.merges, "No two persons look like one.", (m) => [
    thumbs(facesOf(m.kept)), el("span", {class: "who", text: m.kept}), "and",
    thumbs(facesOf(m.absorbed)), el("span", {class: "who", text: m.absorbed}),
    el("span", {class: "distance", text: `distance ${fixed(m.distance)}`}),
    el("span", {class: "detail", text: `averages ${fixed(m.average_distance)} apart; ` +
      `${m.joining} of ${plural(m.smaller, "face")} of the smaller within ${state.threshold}`}),
  ], (m) => ({label: `Merge into ${m.kept}`, change: {action: "merge", kept: m.kept, absorbed: m.absorbed}}));
  fillList($("unknown-suggestions"), s.unknowns, "No unknown face is near a person.", (u) => [
    thumbs([faceNamed(u.face)].filter(Boolean)), el("span", {class: "why", text: u.face}), "is near",
    thumbs(facesOf(u.person)), el("span", {class: "who", text: u.person}),
    el("span", {class: "distance", text: `distance ${fixed(u.distance)}`}),
  ], (u) => ({label: `Move to ${u.person}`, change: {action: "move", faces: [u.face], to: u.person}}));
  fillList($("misplaced-suggestions"), s.misplaced, "Every face is near its person.", (m) => [
    thumbs([faceNamed(m.face)].filter(Boolean)), el("span", {class: "why", text: m.face}), "in",
    el("span", {class: "who", text: m.person}),
    el("span", {class: "distance", text: `distance ${fixed(m.distance)} from the others`}),
    el("span", {class: "detail", text: m.move_to === UNKNOWNS ? "nearer to nobody else"
      : `nearer to ${m.move_to} (${fixed(m.move_to_distance)})`}),
  ], (m) => ({label: `Move to ${m.move_to}`, change: {action: "move", faces: [m.face], to: m.move_to}}));
}

function fillList(list, items, emptyText, describe, accept) {
  list.replaceChildren();
  if (!items.length) { list.append(el("li", {class: "none", text: emptyText})); return; }
  for (const item of items) {
    const {label, change} = accept(item);
    list.append(el("li", {"data-key": item.key, "data-kind": item.kind},
      el("div", {class: "row"}, ...describe(item),
        el("span", {class: "buttons changes"},
          el("button", {type: "button", class: "primary accept", text: label,
                        onclick: () => send(change)}),
          el("button", {type: "button", class: "dismiss", text: "Dismiss",
                        title: "Never suggest this again",
                        onclick: () => send({action: "dismiss", key: item.key})})))));
  }
}

const FEW_FACES = 2;              // persons with at most this many faces are folded apart,
const FOLD_FROM = 20;             // when there are more persons than this
const EAGER_OPTIONS = 200;        // with more persons, a merge list is filled when opened
let foldOpen = false;             // the fold stays as the user left it across renders

function renderPersons() {
  const box = $("persons");
  box.replaceChildren();
  $("person-count").textContent = `(${state.persons.length})`;
  const folding = state.persons.length > FOLD_FROM;
  const few = folding ? state.persons.filter((p) => p.faces.length <= FEW_FACES) : [];
  for (const person of state.persons) {
    if (!folding || person.faces.length > FEW_FACES) box.append(personBlock(person));
  }
  if (!few.length) return;
  // strangers in the background, seen once or twice, do not bury the people that matter
  const faces = few.reduce((n, p) => n + p.faces.length, 0);
  const fold = el("details", {id: "seen-few"},
    el("summary", {text: `Seen once or twice: ${plural(few.length, "person")}, ${plural(faces, "face")}`}));
  fold.open = foldOpen || few.some((p) => p.faces.some((f) => selection.has(f.name)));
  fold.addEventListener("toggle", () => { foldOpen = fold.open; });
  fold.append(...few.map(personBlock));  // their images load only once it is open
  box.append(fold);
}

function mergeList(person) {
  const select = el("select", {class: "merge-target", "aria-label": `merge ${person.name} into`});
  const fill = () => {
    if (select.options.length > 1 || state.persons.length < 2) return;
    const chosen = select.value;
    select.replaceChildren(...state.persons.filter((p) => p.name !== person.name)
      .map((p) => el("option", {value: p.name, text: p.name})));
    if (chosen) select.value = chosen;
  };
  // a thousand persons would make a million options: the list is made when it is opened
  if (state.persons.length <= EAGER_OPTIONS) fill();
  else {
    const first = state.persons.find((p) => p.name !== person.name);
    if (first) select.append(el("option", {value: first.name, text: first.name}));
    for (const kind of ["focus", "pointerdown"]) select.addEventListener(kind, fill);
  }
  return select;
}

function personBlock(person) {
  const others = state.persons.length > 1;
  const mergeTarget = mergeList(person);
  const name = el("span", {class: "name", text: person.name});
  const head = el("div", {class: "person-head"}, name,
    el("span", {class: "count", text: plural(person.faces.length, "face")}),
    person.automatic ? null : el("span", {class: "user-named", text: "named by you"}),
    el("span", {class: "tools changes"},
      el("button", {type: "button", class: "rename", text: "Rename",
                    onclick: () => startRename(head, name, person.name)}),
      others ? el("label", {text: "merge into "}, mergeTarget) : null,
      others ? el("button", {type: "button", class: "merge", text: "Merge",
        title: "All its faces join the chosen person, whose name stays",
        onclick: () => send({action: "merge", kept: mergeTarget.value, absorbed: person.name})}) : null));
  const faces = el("div", {class: "faces", "data-person": person.name});
  fillFaces(faces, person.faces, person.name);
  return el("div", {class: "person", "data-person": person.name}, head, faces);
}

function startRename(head, nameNode, oldName) {
  const input = el("input", {type: "text", class: "new-name", value: oldName, maxLength: 100,
                             "aria-label": `new name for ${oldName}`});
  const save = () => {
    const newName = input.value.trim();
    if (newName && newName !== oldName) send({action: "rename", person: oldName, new_name: newName});
    else render(state);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") save();
    if (event.key === "Escape") render(state);
  });
  const form = el("span", {class: "rename-form changes"}, input,
    el("button", {type: "button", class: "primary save-name", text: "Save", onclick: save}),
    el("button", {type: "button", text: "Cancel", onclick: () => render(state)}));
  nameNode.replaceWith(form);
  input.focus();
  input.select();
}

function fillFaces(box, faces, folder) {
  box.replaceChildren();
  for (const face of faces) {
    const source = face.source.split(/[\\/]/).pop();  // the file's name; its folder in the title
    const title = [face.name, [face.source, face.when].filter(Boolean).join(" at ")].join("\n");
    const figure = el("figure", {class: "face", role: "checkbox", tabIndex: 0, "data-face": face.name,
                                 "aria-checked": String(selection.has(face.name)), title},
      el("img", {src: thumbUrl(face), alt: face.name, loading: lazy, width: 114, height: 114}),
      // the time first, whole; the names after it, cut to the tile when too long
      el("figcaption", {}, el("div", {class: "when", text: face.when || (face.source ? "photo" : "added by you")}),
        el("div", {class: "source", text: source}), el("div", {class: "file", text: face.name}),
        // a face the tool never sorts, and why (faces.csv's unfit column)
        face.unfit ? el("div", {class: "unfit", text: `not fit to sort: ${face.unfit}`}) : null));
    const toggle = () => {
      if (selection.has(face.name)) selection.delete(face.name);
      else selection.set(face.name, folder);
      figure.setAttribute("aria-checked", String(selection.has(face.name)));
      renderActions();
    };
    figure.addEventListener("click", toggle);
    figure.addEventListener("keydown", (event) => {
      if (event.key === " " || event.key === "Enter") { event.preventDefault(); toggle(); }
    });
    box.append(figure);
  }
  if (!faces.length) box.append(el("span", {class: "empty", text: "none"}));
}

function renderActions() {
  const bar = $("actions");
  bar.hidden = selection.size === 0;
  if (!selection.size) return;
  const folders = new Set(selection.values());
  const setAside = folders.has(SET_ASIDE);
  $("selected-count").textContent = `${plural(selection.size, "face")} selected`;
  $("move-controls").hidden = setAside;
  $("restore").hidden = !setAside;
  $("restore").disabled = Boolean(state.busy) || folders.size > 1;
  $("restore").title = folders.size > 1 ? "Select only set-aside faces to bring them back" : "Back to the person they were set aside from";
  const target = $("move-target");
  const chosen = target.value;
  target.replaceChildren(
    ...state.persons.map((p) => el("option", {value: p.name, text: p.name})),
    el("option", {value: UNKNOWNS, text: "unknowns"}),
    el("option", {value: NEW_PERSON, text: "a new person\u2026"}));
  const options = [...target.options];
  if (options.some((o) => o.value === chosen) && !folders.has(chosen)) target.value = chosen;
  else target.value = (options.find((o) => !folders.has(o.value)) || options[0]).value;
  $("new-name").hidden = target.value !== NEW_PERSON;
}

// --- the controls that are always there ---------------------------------------------------
function selectedFaces() { return [...selection.keys()]; }

function wire() {
  $("reload").addEventListener("click", loadState);
  $("clear").addEventListener("click", () => { selection.clear(); render(state); });
  $("move-target").addEventListener("change", () => {
    $("new-name").hidden = $("move-target").value !== NEW_PERSON;
    if (!$("new-name").hidden) $("new-name").focus();
  });
  $("move").addEventListener("click", () => {
    const to = $("move-target").value;
    if (to === NEW_PERSON) send({action: "new_person", faces: selectedFaces(), name: $("new-name").value.trim()});
    else send({action: "move", faces: selectedFaces(), to});
  });
  $("new-name").addEventListener("keydown", (event) => { if (event.key === "Enter") $("move").click(); });
  $("set-aside-button").addEventListener("click", () => send({action: "set_aside", faces: selectedFaces()}));
  $("restore").addEventListener("click", () => send({action: "restore", faces: selectedFaces()}));
  if (!TOKEN) banner("error", "This address has no token: open the URL that face-classifier review printed.");
  loadState();
}

document.addEventListener("DOMContentLoaded", wire);
