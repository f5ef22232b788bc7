package gateway

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/jobs"
)

// e164 is a phone number as Firebase Auth stores a verified one and SMS
// providers take it: +, country code, subscriber number, 8 to 15 digits.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// The channels the notify field may name (DESIGN.md's notify); "none"
// (or an empty list) chooses none.
var channelNames = []string{"email", "phone", "push"}

// notifyChoice is where the owner hears about the job. Without a notify
// field (clients from before the choice) it is the address notifyAddress
// found, and a number if one was sent; with one, exactly the channels it
// names, each with what it needs: an address, a number, or (push) nothing
// here, the devices being registered through POST /v1/devices.
//
// A number is the caller's own verified one (the token's phone_number,
// which Firebase sets only once the code was confirmed), or one the
// event's staff typed for an attendee, as they type an email. A booth
// job's owner is the kiosk's staff account, so it never falls back to the
// account's own number, nor pushes to the kiosk's devices.
func notifyChoice(sub submission, email string, user auth.User, priority jobs.Priority, staff bool) (jobs.Notify, *apiError) {
	phone, apiErr := notifyPhone(sub.phone, user, staff)
	if apiErr != nil {
		return jobs.Notify{}, apiErr
	}
	if sub.notify == "" {
		return jobs.Notify{Email: email, Phone: phone}, nil
	}
	var chosen []string
	for c := range strings.SplitSeq(sub.notify, ",") {
		c = strings.TrimSpace(c)
		if c == "" || c == "none" || slices.Contains(chosen, c) {
			continue
		}
		if !slices.Contains(channelNames, c) {
			return jobs.Notify{}, answerErr(api.CodeInvalidArgument, fmt.Sprintf("notify: unknown channel %q; choose from email, phone, push", c))
		}
		chosen = append(chosen, c)
	}
	n := jobs.Notify{Channels: chosen}
	if chosen == nil {
		// Firestore would read an empty list back as "no choice made".
		n.Channels = []string{"none"}
	}
	if slices.Contains(chosen, "email") {
		// Without a verified address yet (a guest who asked for the email
		// link), Notify mails the address the owner verifies later.
		n.Email = email
	}
	if slices.Contains(chosen, "phone") {
		if phone == "" && priority != jobs.Booth {
			phone = user.Phone
		}
		if phone == "" {
			return jobs.Notify{}, answerErr(api.CodeInvalidArgument, "notify: text message chosen, but no verified phone number; verify your number first")
		}
		n.Phone = phone
	}
	if slices.Contains(chosen, "push") {
		if priority == jobs.Booth {
			return jobs.Notify{}, answerErr(api.CodeInvalidArgument, "notify: push goes to the owner's devices, and a booth job's owner is the kiosk; choose email or phone for the attendee")
		}
		n.Push = true
	}
	return n, nil
}

// notifyPhone checks the phone field: empty, the caller's own verified
// number, or any valid number when staff typed it.
func notifyPhone(field string, user auth.User, staff bool) (string, *apiError) {
	field = strings.TrimSpace(field)
	if field == "" {
		return "", nil
	}
	if !e164.MatchString(field) {
		return "", answerErr(api.CodeInvalidArgument, "phone: not a phone number in international form (+ country code and number, digits only, e.g. +821012345678)")
	}
	if !staff && field != user.Phone {
		return "", answerErr(api.CodePermissionDenied, "phone: texts go to the number you verified; only booth staff may enter another")
	}
	return field, nil
}
