// One job's live status from Firestore, for every view that shows a job
// (the attendee's status screen, the kiosk's panel): its outcome documents
// (responses/, errors/), which the rules let the owner and the event's staff
// read, and the status derived from them.
import { doc, onSnapshot, type Firestore } from "firebase/firestore";
import { deriveStatus, type ErrorDoc, type ResponseDoc, type Status } from "./status";

export interface JobDocs {
  status: Status;
  response: ResponseDoc | null;
  error: ErrorDoc | null;
}

// watchJob calls onChange each time one of the job's documents changes; the
// function it returns ends both listeners (a view's teardown calls it).
export function watchJob(db: Firestore, id: string, onChange: (d: JobDocs) => void, onError: (e: Error) => void = () => {}): () => void {
  let response: ResponseDoc | null = null;
  let error: ErrorDoc | null = null;
  const changed = () => onChange({ status: deriveStatus(response, error), response, error });
  const unsubs = [
    onSnapshot(doc(db, "responses", id), (d) => { response = (d.data() as ResponseDoc | undefined) ?? null; changed(); }, onError),
    onSnapshot(doc(db, "errors", id), (d) => { error = (d.data() as ErrorDoc | undefined) ?? null; changed(); }, onError),
  ];
  return () => unsubs.forEach((u) => u());
}
