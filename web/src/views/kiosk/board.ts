// The kiosk's board: the event's booth jobs from every kiosk (staff only),
// kept fresh by polling (and at once when this kiosk submits or a job of its
// finishes); a tap shows a job's QR code again. An item whose status did not
// change is kept as it is, so its image is not fetched again and a tap in
// progress is not lost. Its teardown stops the polling; an answer that comes
// after draws nothing.
import type { Api, Job } from "../../api";
import { emptyThumb, h, thumb } from "../../dom";
import type { Translate } from "../../i18n";

// BOARD_POLL_MS: how often the board asks for the booth's jobs (each answer
// signs its images' download URLs).
export const BOARD_POLL_MS = 5000;

export interface Board {
  list: HTMLElement;
  start(): void;
  refresh(): Promise<void>;
  teardown(): void;
}

export function board(t: Translate, api: Pick<Api, "boothJobs">, onPick: (job: Job) => void): Board {
  const list = h("ul", { class: "board", "aria-label": t("recent_jobs") });
  const items = new Map<string, { status: string; li: HTMLElement }>();
  const listening = new AbortController();
  let poll: ReturnType<typeof setInterval> | undefined;
  let stopped = false;

  const item = (j: Job) => {
    const out = j.outputs?.[0];
    const button = h("button", { type: "button", class: "board-item", "aria-label": `${t("show_job")}: ${t(j.status)} ${new Date(j.createdAt).toLocaleTimeString()}` },
      out ? thumb(out.url, "") : emptyThumb(),
      h("span", { class: "badge", "data-status": j.status }, t(j.status)),
    );
    button.addEventListener("click", () => onPick(j), { signal: listening.signal });
    return h("li", { "data-job": j.id }, button);
  };
  const refresh = async () => {
    try {
      const { jobs } = await api.boothJobs(12);
      if (stopped) return;
      const next = jobs.map((j: Job) => {
        const kept = items.get(j.id);
        if (kept && kept.status === j.status) return [j.id, kept] as const;
        return [j.id, { status: j.status, li: item(j) }] as const;
      });
      items.clear();
      for (const [id, it] of next) items.set(id, it);
      list.replaceChildren(...next.map(([, it]) => it.li));
    } catch { /* the next refresh tries again */ }
  };

  return {
    list,
    refresh,
    start() {
      if (stopped) return;
      poll = setInterval(refresh, BOARD_POLL_MS);
      void refresh();
    },
    teardown() {
      stopped = true;
      clearInterval(poll);
      listening.abort();
    },
  };
}
