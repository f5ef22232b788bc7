// English and Korean, chosen from the browser's language.
const en = {
  tagline: "AI portraits, made at the event. Pick a style, take a photo, get your picture in a minute.",
  styles: "Styles",
  start: "Take my portrait",
  my_photos: "My photos",
  sign_in_title: "Sign in",
  sign_in_why: "Sign in so we can show your photos and send them to you.",
  continue_guest: "Continue as guest",
  guest_email_note: "As a guest you can still get your portrait by mail: give your email with the photo and open the link we send to confirm it.",
  signed_in_guest: "Signed in as guest",
  sign_out: "Sign out",
  sign_in_email: "Sign in with email",
  sign_in_google: "Sign in with Google",
  send_link: "Email me a sign-in link",
  link_sent: "Check your email: we sent a sign-in link to {email}. Open it on this device.",
  guest_keep: "You are signed in as a guest. Sign in to keep your photos on any device and get them by mail.",
  finish_title: "Signing you in",
  finish_confirm: "Confirm your email to finish signing in",
  finish_button: "Finish signing in",
  signed_in_as: "Signed in as {email}",
  link_resent: "{email} already has an account. We sent a new link to {email}: open it on this device to sign in to that account; your guest photos come along.",
  email_confirmed: "{email} is confirmed: we mail your portraits there.",
  result_email: "Email me the result (optional)",
  result_email_note: "We send a link to this address. Open it on this phone to confirm it: your portrait is mailed there, and your photos are kept in an account.",
  confirm_email_sent: "We sent a link to {email}. Open it on this phone to get your portrait by mail.",
  confirm_email_failed: "We could not send the link; you can still see your portrait here.",
  guest_moved: "Your guest photos ({count}) are now in this account.",
  guest_move_failed: "Signed in, but your guest photos could not be moved to this account.",
  or: "or",
  consent_title: "Before your photo",
  consent_1: "Your photo is turned into a portrait by an AI model, on our servers, for this event only.",
  consent_2: "We keep your photo and the portrait for {days} days, then delete them. Nobody else sees them unless you share them.",
  consent_3: "Your photo is not used to train any model.",
  consent_accept: "I agree",
  consent_decline: "Not now",
  upload_title: "Your photo",
  choose_style: "Style",
  hosted_tag: "Drawn by a hosted model",
  // hosted_short marks a generated style in a closed select, which cannot
  // wrap: short enough for a 360 px phone.
  hosted_short: "AI model",
  consent_hosted: "This style is drawn by a hosted model: your photo, cropped to your face and shoulders, is sent to the model on {processor} to draw it, and is not used to train its models.",
  consent_hosted_accept: "I agree that my photo is sent to {processor} to draw it",
  kiosk_agree_hosted: "This style sends the photo to a hosted model: the attendee reads the consent above and ticks it again first.",
  budget_spent: "Portraits drawn by the hosted model are used up at this event. Pick one of these styles; your photo is kept.",
  take_photo: "Take or choose a photo",
  preparing: "Preparing your photo…",
  submit: "Make my portrait",
  submitting: "Sending…",
  waiting_network: "Waiting for the network… we will send it as soon as we can (it will not be sent twice).",
  retry: "Try again",
  status_title: "Your portrait",
  queued: "Queued",
  queue_ahead: "{n} ahead of yours, ready in about {eta}",
  queue_ahead_only: "{n} ahead of yours",
  queue_next: "Yours is next, ready in about {eta}",
  queue_next_only: "Yours is next",
  running: "Generating…",
  succeeded: "Done",
  failed: "Failed",
  advice_no_face: "We could not find a face. Retake the photo with your face clearly visible.",
  advice_invalid_input: "The photo could not be read. Please send another photo.",
  advice_retry: "Something went wrong on our side. Please try again.",
  download: "Download",
  share: "Share",
  new_photo: "Another photo",
  no_photos: "No photos yet.",
  back: "Back",
  error: "Something went wrong",
  seconds: "{n} s",
  minutes: "{n} min",
  kiosk: "Kiosk",
  kiosk_title: "Photo booth",
  kiosk_forbidden: "The kiosk is for event staff. Sign in with a staff account.",
  attendee_email: "Attendee's email",
  capture: "Take photo",
  kiosk_consent: "The attendee has read this and agrees",
  retake: "Retake",
  scan_to_get: "Scan to get your portrait",
  open_pickup: "Pick-up link",
  pickup_invalid: "This pick-up link does not work: the photo may have been deleted. Ask the booth staff.",
  show_job: "Show",
  poster: "Event poster",
  poster_scan: "Scan for your AI portrait",
  poster_qr: "QR code of the event's app",
  pickup_reload: "Reload the page to see whether your portrait is ready.",
  recent_jobs: "Recent booth photos",
  print: "Print",
  camera_error: "The camera is not available.",
  result_image: "Your AI portrait",
  preview_of: "Example of {name}",
  language: "Language",
  staff_sign_in: "Staff sign-in",
  email: "Email",
  password: "Password",
  camera_preview: "Camera preview",
  captured_photo: "The photo just taken",
  photo_too_small: "This photo is too small ({w}×{h} pixels). Choose one at least {min} pixels on each side, such as a photo from your camera.",
  photo_too_elongated: "This photo is too long and narrow ({w}×{h} pixels). Choose one whose long side is at most {ratio} times its short side.",
  photo_too_large: "This photo is too large. Choose one under {mb} MB.",
  err_network: "The studio could not be reached. Check your connection and try again.",
  err_photo: "This photo cannot be used. Please choose another photo.",
  err_email: "Check the email address: it does not look right.",
  err_request: "The studio did not accept this. Reload the page and try again.",
  err_too_large: "This photo is too large. Please choose a smaller one.",
  err_unsupported: "This file is not a photo we can read. Send a JPEG, PNG or WebP photo.",
  err_signin: "Your sign-in has expired. Please sign in again.",
  err_forbidden: "This account may not do that.",
  err_busy_user: "Too many photos in a short time. Wait a minute, then try again.",
  err_unavailable: "The studio cannot take photos right now. Please try again in a moment.",
  attendee_email_optional: "Attendee's email (optional: the QR code needs none)",
  signin_wrong: "Wrong email or password. Check both and try again.",
  signin_too_many: "Too many tries. Wait a few minutes, or reset the password.",
  signin_disabled: "This account is disabled. Ask the event's organiser.",
  signin_invalid_email: "That is not an email address.",
  signin_failed: "Could not sign in. Check the connection and try again.",
  guest_leave_title: "Sign out and lose your photos?",
  guest_leave_body: "You are signed in as a guest. A guest cannot sign in again: once you sign out, your photos and portraits here are gone for good. To keep them, sign in with your email first: we send you a link, and your photos move to that address.",
  guest_leave_keep: "Keep my photos: sign in with email",
  guest_leave_anyway: "Sign out and lose them",
  guest_leave_cancel: "Cancel",
  running_for: "Making your portrait: {time} so far",
  progress: "Progress",
  download_failed: "The download did not work. Try again, or press and hold the image to save it.",
  notify_legend: "Tell me when it's ready",
  notify_email: "By email",
  notify_text: "By text message",
  notify_text_to: "By text message to {phone}",
  notify_push: "With a notification on this device",
  phone_number: "Your mobile number, with the country code",
  phone_send_code: "Send me a code",
  phone_sending: "Sending the code…",
  phone_code_sent: "We sent a code to {phone}.",
  phone_code: "Code",
  phone_confirm: "Confirm",
  phone_invalid: "Write the number with + and the country code, e.g. +82 10 1234 5678.",
  phone_failed: "Could not send the code. Check the number and try again.",
  phone_in_use: "This number belongs to another account.",
  phone_wrong_code: "That code is not right. Check it and try again.",
  push_ask: "Tell me when it's ready",
  push_on: "We will tell this device when your portrait is ready.",
  push_off: "Notifications are off for this site, so we will not notify you on this device. This page shows the result when it is ready.",
  push_failed: "Could not turn on notifications here. This page shows the result when it is ready.",
  push_home_screen: "On iPhone and iPad, notifications need the app on your Home Screen: tap Share, then Add to Home Screen, and open it from there.",
  kiosk_phone: "Attendee's mobile number (optional, for a text with the link)",
} as const;

export type Key = keyof typeof en;

const ko: Record<Key, string> = {
  tagline: "행사장에서 만드는 AI 인물 사진. 스타일을 고르고 사진을 찍으면 1분 안에 받아보세요.",
  styles: "스타일",
  start: "내 사진 만들기",
  my_photos: "내 사진",
  sign_in_title: "로그인",
  sign_in_why: "로그인하면 사진을 보여드리고 보내드릴 수 있습니다.",
  continue_guest: "게스트로 계속하기",
  guest_email_note: "게스트도 사진을 메일로 받을 수 있습니다. 사진과 함께 이메일을 입력하고 보내 드리는 링크를 열어 확인하세요.",
  signed_in_guest: "게스트로 로그인됨",
  sign_out: "로그아웃",
  sign_in_email: "이메일로 로그인",
  send_link: "로그인 링크 받기",
  link_sent: "이메일을 확인하세요. {email}(으)로 로그인 링크를 보냈습니다. 이 기기에서 여세요.",
  guest_keep: "게스트로 로그인되어 있습니다. 로그인하면 어느 기기에서나 사진을 보고 메일로 받을 수 있습니다.",
  finish_title: "로그인 중",
  finish_confirm: "로그인을 마치려면 이메일을 확인해 주세요",
  finish_button: "로그인 완료",
  signed_in_as: "{email}(으)로 로그인됨",
  link_resent: "{email}은(는) 이미 계정이 있습니다. {email}(으)로 새 링크를 보냈습니다. 이 기기에서 열면 그 계정으로 로그인되고 게스트 사진도 함께 옮겨집니다.",
  sign_in_google: "Google로 로그인",
  email_confirmed: "{email} 주소가 확인되었습니다. 사진을 이 주소로 보내 드립니다.",
  result_email: "결과를 이메일로 받기 (선택)",
  result_email_note: "이 주소로 링크를 보냅니다. 이 휴대폰에서 열어 주소를 확인하면 사진을 메일로 보내 드리고, 사진은 계정에 보관됩니다.",
  confirm_email_sent: "{email}(으)로 링크를 보냈습니다. 이 휴대폰에서 열면 사진을 메일로 받을 수 있습니다.",
  confirm_email_failed: "링크를 보내지 못했습니다. 사진은 여기에서 볼 수 있습니다.",
  guest_moved: "게스트 사진 {count}장이 이 계정으로 옮겨졌습니다.",
  guest_move_failed: "로그인되었지만 게스트 사진을 이 계정으로 옮기지 못했습니다.",
  or: "또는",
  consent_title: "사진을 보내기 전에",
  consent_1: "사진은 이 행사만을 위해 저희 서버의 AI 모델로 인물 사진으로 만들어집니다.",
  consent_2: "사진과 결과물은 {days}일간 보관한 뒤 삭제합니다. 직접 공유하지 않는 한 다른 사람은 볼 수 없습니다.",
  consent_3: "사진은 모델 학습에 사용되지 않습니다.",
  consent_accept: "동의합니다",
  consent_decline: "나중에",
  upload_title: "사진",
  choose_style: "스타일",
  hosted_tag: "외부 AI 모델이 그림",
  hosted_short: "AI 모델",
  consent_hosted: "이 스타일은 외부 AI 모델이 그립니다. 얼굴과 어깨 부분으로 자른 사진이 {processor}의 모델로 전송되어 그림을 그리며, 모델 학습에는 사용되지 않습니다.",
  consent_hosted_accept: "그림을 그리기 위해 사진을 {processor}(으)로 보내는 데 동의합니다",
  kiosk_agree_hosted: "이 스타일은 사진을 외부 AI 모델로 보냅니다. 참가자가 위의 동의 내용을 읽고 다시 체크해야 합니다.",
  budget_spent: "이 행사에서 외부 모델이 그리는 사진이 모두 소진되었습니다. 아래 스타일 중 하나를 고르세요. 사진은 그대로 있습니다.",
  take_photo: "사진 찍기 또는 선택",
  preparing: "사진을 준비하는 중…",
  submit: "인물 사진 만들기",
  submitting: "보내는 중…",
  waiting_network: "네트워크를 기다리는 중… 연결되면 바로 보냅니다(중복 전송되지 않습니다).",
  retry: "다시 시도",
  status_title: "내 인물 사진",
  queued: "대기 중",
  queue_ahead: "앞에 {n}장 대기 중, 약 {eta} 후 완성",
  queue_ahead_only: "앞에 {n}장 대기 중",
  queue_next: "다음 차례입니다, 약 {eta} 후 완성",
  queue_next_only: "다음 차례입니다",
  running: "만드는 중…",
  succeeded: "완료",
  failed: "실패",
  advice_no_face: "얼굴을 찾지 못했습니다. 얼굴이 잘 보이게 다시 찍어 주세요.",
  advice_invalid_input: "사진을 읽을 수 없습니다. 다른 사진을 보내 주세요.",
  advice_retry: "문제가 생겼습니다. 다시 시도해 주세요.",
  download: "내려받기",
  share: "공유",
  new_photo: "다른 사진",
  no_photos: "아직 사진이 없습니다.",
  back: "뒤로",
  error: "문제가 생겼습니다",
  seconds: "{n}초",
  minutes: "{n}분",
  kiosk: "키오스크",
  kiosk_title: "포토 부스",
  kiosk_forbidden: "키오스크는 행사 스태프용입니다. 스태프 계정으로 로그인하세요.",
  attendee_email: "참가자 이메일",
  capture: "촬영",
  kiosk_consent: "참가자가 위 내용을 읽고 동의했습니다",
  retake: "다시 찍기",
  scan_to_get: "스캔해서 사진 받기",
  open_pickup: "받기 링크",
  pickup_invalid: "이 받기 링크는 사용할 수 없습니다. 사진이 삭제되었을 수 있습니다. 부스 직원에게 문의하세요.",
  show_job: "보기",
  poster: "행사 포스터",
  poster_scan: "스캔하고 AI 프로필 사진을 받으세요",
  poster_qr: "행사 앱 QR 코드",
  pickup_reload: "사진이 준비되었는지 보려면 페이지를 새로 고치세요.",
  recent_jobs: "최근 부스 사진",
  print: "인쇄",
  camera_error: "카메라를 사용할 수 없습니다.",
  result_image: "AI 인물 사진",
  preview_of: "{name} 예시",
  language: "언어",
  staff_sign_in: "스태프 로그인",
  email: "이메일",
  password: "비밀번호",
  camera_preview: "카메라 미리보기",
  captured_photo: "방금 찍은 사진",
  photo_too_small: "사진이 너무 작습니다({w}×{h}픽셀). 가로와 세로가 모두 {min}픽셀 이상인 사진(카메라로 찍은 사진 등)을 골라 주세요.",
  photo_too_elongated: "사진이 너무 가늘고 깁니다({w}×{h}픽셀). 긴 쪽이 짧은 쪽의 {ratio}배를 넘지 않는 사진을 골라 주세요.",
  photo_too_large: "사진이 너무 큽니다. {mb}MB보다 작은 사진을 골라 주세요.",
  err_network: "스튜디오에 연결할 수 없습니다. 네트워크를 확인하고 다시 시도해 주세요.",
  err_photo: "이 사진은 사용할 수 없습니다. 다른 사진을 골라 주세요.",
  err_email: "이메일 주소를 확인해 주세요. 올바르지 않은 것 같습니다.",
  err_request: "스튜디오가 요청을 받지 않았습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요.",
  err_too_large: "사진이 너무 큽니다. 더 작은 사진을 골라 주세요.",
  err_unsupported: "읽을 수 있는 사진 파일이 아닙니다. JPEG, PNG 또는 WebP 사진을 보내 주세요.",
  err_signin: "로그인이 만료되었습니다. 다시 로그인해 주세요.",
  err_forbidden: "이 계정으로는 할 수 없는 작업입니다.",
  err_busy_user: "짧은 시간에 사진이 너무 많습니다. 1분 뒤에 다시 시도해 주세요.",
  err_unavailable: "지금은 스튜디오가 사진을 받을 수 없습니다. 잠시 후 다시 시도해 주세요.",
  attendee_email_optional: "참가자 이메일 (선택: QR 코드로 받을 때는 필요 없음)",
  signin_wrong: "이메일 또는 비밀번호가 틀렸습니다. 둘 다 확인하고 다시 시도해 주세요.",
  signin_too_many: "시도 횟수가 너무 많습니다. 몇 분 뒤에 다시 시도하거나 비밀번호를 재설정하세요.",
  signin_disabled: "사용이 중지된 계정입니다. 행사 주최자에게 문의하세요.",
  signin_invalid_email: "올바른 이메일 주소가 아닙니다.",
  signin_failed: "로그인하지 못했습니다. 네트워크를 확인하고 다시 시도해 주세요.",
  guest_leave_title: "로그아웃하면 사진이 사라집니다. 계속할까요?",
  guest_leave_body: "게스트로 로그인되어 있습니다. 게스트는 다시 로그인할 수 없어 로그아웃하면 여기의 사진과 결과물을 다시 볼 수 없습니다. 사진을 남기려면 먼저 이메일로 로그인하세요. 보내 드리는 링크를 열면 사진이 그 주소의 계정으로 옮겨집니다.",
  guest_leave_keep: "사진 남기기: 이메일로 로그인",
  guest_leave_anyway: "로그아웃하고 사진 버리기",
  guest_leave_cancel: "취소",
  running_for: "인물 사진을 만드는 중: {time} 경과",
  progress: "진행 상황",
  download_failed: "내려받지 못했습니다. 다시 시도하거나 이미지를 길게 눌러 저장하세요.",
  notify_legend: "완성되면 알려 주세요",
  notify_email: "이메일로",
  notify_text: "문자 메시지로",
  notify_text_to: "{phone}(으)로 문자 메시지",
  notify_push: "이 기기의 알림으로",
  phone_number: "휴대폰 번호 (국가 번호 포함)",
  phone_send_code: "인증번호 받기",
  phone_sending: "인증번호를 보내는 중…",
  phone_code_sent: "{phone}(으)로 인증번호를 보냈습니다.",
  phone_code: "인증번호",
  phone_confirm: "확인",
  phone_invalid: "+와 국가 번호를 붙여 적어 주세요. 예: +82 10 1234 5678",
  phone_failed: "인증번호를 보내지 못했습니다. 번호를 확인하고 다시 시도해 주세요.",
  phone_in_use: "다른 계정에 등록된 번호입니다.",
  phone_wrong_code: "인증번호가 맞지 않습니다. 확인하고 다시 입력해 주세요.",
  push_ask: "완성되면 알려 주세요",
  push_on: "사진이 완성되면 이 기기로 알려 드립니다.",
  push_off: "이 사이트의 알림이 꺼져 있어 이 기기로는 알려 드리지 않습니다. 완성되면 이 화면에 결과가 나타납니다.",
  push_failed: "이 기기에서 알림을 켜지 못했습니다. 완성되면 이 화면에 결과가 나타납니다.",
  push_home_screen: "iPhone과 iPad에서는 앱을 홈 화면에 추가해야 알림을 받을 수 있습니다. 공유 버튼을 누르고 '홈 화면에 추가'를 고른 뒤 거기서 여세요.",
  kiosk_phone: "참가자 휴대폰 번호 (선택: 링크를 문자로 보냄)",
};

export type Lang = "en" | "ko";

export function pickLang(langs: readonly string[]): Lang {
  for (const l of langs) {
    const p = l.toLowerCase().split("-")[0];
    if (p === "ko") return "ko";
    if (p === "en") return "en";
  }
  return "en";
}

// The language a user chose with the header's switch is kept on the
// device (LANG_KEY), so a reload does not fall back to the browser's.
export const LANG_KEY = "lang";

// initialLang: the stored choice when there is a valid one, else the
// browser's languages.
export function initialLang(stored: string | null, langs: readonly string[]): Lang {
  return stored === "ko" || stored === "en" ? stored : pickLang(langs);
}

function storedLang(): string | null {
  try {
    return typeof localStorage !== "undefined" ? localStorage.getItem(LANG_KEY) : null;
  } catch {
    return null; // storage off (private mode)
  }
}

// deviceLang: the language this device asks for (initialLang of the stored
// choice and the browser's languages).
export function deviceLang(): Lang {
  return initialLang(storedLang(), typeof navigator !== "undefined" ? navigator.languages ?? [navigator.language] : []);
}

export type Vars = Record<string, string | number>;
// Translate: a key's text in the app's language, with vars filled in.
export type Translate = (key: Key, vars?: Vars) => string;

export function translate(lang: Lang, key: Key, vars: Vars = {}): string {
  const s: string = (lang === "ko" ? ko : en)[key];
  return s.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ""));
}

// I18n: the language the app speaks, one per start of the app (start()
// keeps it on the context, ctx.i18n), which the header's switch changes.
// t is bound to it, so a view takes it as `const { t } = ctx.i18n` and
// hands it to the helpers that draw words.
export class I18n {
  constructor(private current: Lang) {}

  get lang(): Lang {
    return this.current;
  }

  // choose: the user's own choice, remembered on the device.
  choose(l: Lang) {
    this.current = l;
    try {
      localStorage.setItem(LANG_KEY, l);
    } catch {
      // Storage off: the choice lasts until the page is left.
    }
  }

  readonly t: Translate = (key, vars) => translate(this.current, key, vars);
}

// clock: an elapsed time as m:ss.
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// duration: a wait in words, seconds or minutes.
export function duration(t: Translate, seconds: number): string {
  return seconds < 90 ? t("seconds", { n: Math.max(1, Math.round(seconds)) }) : t("minutes", { n: Math.round(seconds / 60) });
}
