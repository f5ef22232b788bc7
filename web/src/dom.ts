// A tiny DOM helper: h("button", {onclick}, "text").
type Child = Node | string | null | undefined | false;
type Props = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (k === "class") {
      el.className = String(v);
    } else if (k in el && typeof v !== "string") {
      (el as unknown as Record<string, unknown>)[k] = v;
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

export function clear(el: Element, ...children: (Node | string)[]) {
  el.replaceChildren(...children);
}

// emptyThumb is the tile of a job without an image (yet).
export function emptyThumb(): HTMLElement {
  return h("div", { class: "thumb-empty", "aria-hidden": "true" });
}

// thumb is a job's image, or the empty tile once it fails to load (a
// deleted object, a link past its expiry): never a broken-image icon.
export function thumb(src: string, alt: string): HTMLElement {
  const img = h("img", { src, alt, loading: "lazy" });
  img.addEventListener("error", () => img.replaceWith(emptyThumb()), { once: true });
  return img;
}
