// The upload screen's photo: picked from the camera or the gallery, resized
// here and checked against the Gateway's limits before it is sent.
import type { PhotoLimits } from "../../api";
import { h } from "../../dom";
import type { Translate } from "../../i18n";
import { photoProblem, prepareImage, type Prepared } from "../../image";
import { showAlert } from "./shared";

// checkedPhoto: the photo resized, or undefined with why in words on status
// (refused here, with the Gateway's own limits, rather than after the upload
// with its message).
async function checkedPhoto(t: Translate, f: File, limits: PhotoLimits | undefined, status: HTMLElement): Promise<Prepared | undefined> {
  try {
    const p = await prepareImage(f);
    const problem = photoProblem(p.width, p.height, p.blob.size, limits);
    if (!problem) return p;
    showAlert(status, t(problem.key, problem.vars));
  } catch (e) {
    showAlert(status, t("advice_invalid_input"));
    console.warn("prepare", (e as Error).message);
  }
  return undefined;
}

// photoPicker: the file input and the photo's preview. picked(undefined):
// a new photo starts over (the last one's failure and "Try again" go);
// picked(p): it is ready to send.
export function photoPicker(t: Translate, limits: PhotoLimits | undefined, status: HTMLElement, picked: (p: Prepared | undefined) => void) {
  const file = h("input", { id: "photo", type: "file", accept: "image/*", capture: "user", class: "file" });
  const preview = h("img", { class: "preview", alt: "", hidden: true });
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (!f) return;
    // Emptied, so picking the same file again (after a failure) is a
    // change too.
    file.value = "";
    picked(undefined);
    status.setAttribute("role", "status");
    status.textContent = t("preparing");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.removeAttribute("src");
    preview.hidden = true;
    const p = await checkedPhoto(t, f, limits, status);
    if (!p) return;
    preview.src = URL.createObjectURL(p.blob);
    preview.hidden = false;
    status.textContent = `${p.width}×${p.height}, ${Math.round(p.blob.size / 1024)} KB`;
    picked(p);
  });
  return { file, preview, teardown: () => { if (preview.src) URL.revokeObjectURL(preview.src); } };
}
