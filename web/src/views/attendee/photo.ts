// The upload screen's photo: picked from the camera or the gallery, resized
// here and checked against the Gateway's limits before it is sent.
import type { PhotoLimits } from "../../api";
import { h } from "../../dom";
import type { Translate } from "../../i18n";
import { photoProblem, prepareImage, type Prepared } from "../../image";
import { showAlert } from "./shared";

// checkedPhoto: the photo resized, or why not in words (refused here, with
// the Gateway's own limits, rather than after the upload with its message).
async function checkedPhoto(t: Translate, f: File, limits: PhotoLimits | undefined): Promise<{ photo: Prepared } | { problem: string }> {
  try {
    const p = await prepareImage(f);
    const problem = photoProblem(p.width, p.height, p.blob.size, limits);
    return problem ? { problem: t(problem.key, problem.vars) } : { photo: p };
  } catch (e) {
    console.warn("prepare", (e as Error).message);
    return { problem: t("advice_invalid_input") };
  }
}

// photoPicker: the file input and the photo's preview. picked(undefined):
// a new photo starts over (the last one's failure and "Try again" go);
// picked(p): it is ready to send.
export function photoPicker(t: Translate, limits: PhotoLimits | undefined, status: HTMLElement, picked: (p: Prepared | undefined) => void) {
  const file = h("input", { id: "photo", type: "file", accept: "image/*", capture: "user", class: "file" });
  const preview = h("img", { class: "preview", alt: "", hidden: true });
  // Photos picked in quick succession are checked at once; only the last
  // one's result may show (an earlier photo's refusal arriving late would
  // otherwise stay as the alert over the photo that is ready).
  let latest = 0;
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
    const mine = ++latest;
    const r = await checkedPhoto(t, f, limits);
    if (mine !== latest) return;
    if ("problem" in r) {
      showAlert(status, r.problem);
      return;
    }
    const p = r.photo;
    preview.src = URL.createObjectURL(p.blob);
    preview.hidden = false;
    status.textContent = `${p.width}×${p.height}, ${Math.round(p.blob.size / 1024)} KB`;
    picked(p);
  });
  return { file, preview, teardown: () => { if (preview.src) URL.revokeObjectURL(preview.src); } };
}
