// Small DOM helpers: elements are built with text nodes only, so nothing the server sends is ever parsed as HTML.
import { t } from "./i18n.js";

/** h("button.primary", { onclick }, "text", child...) */
export function h(tag, props = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const element = document.createElement(name);
  if (classes.length) element.className = classes.join(" ");
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key in element && !key.includes("-") && key !== "list") element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

let toastTimer;
export function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("show"), 3000);
}

/** A labelled field: the label names the control for assistive technology. */
export function field(labelText, control) {
  control.id ||= `f-${Math.random().toString(36).slice(2)}`;
  return h("div", {}, h("label", { htmlFor: control.id }, labelText), control);
}

export function errorText(error) {
  return h("p.error", { role: "alert" }, t("error", error.message));
}
