package notify_test

import (
	"strings"
	"testing"

	"github.com/tigerstudio/studio/infra/firestoreevent"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

const phone = "+821012345678"

// TestChosenChannels: each channel the owner chose is sent once, and one
// not chosen is not, whatever else the owner has (a verified address, a
// registered device); a booth job never texts or pushes the kiosk's staff
// account, only the number staff typed.
func TestChosenChannels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		priority                jobs.Priority
		notify                  jobs.Notify
		devices                 bool
		mails, pushes, texts    int
		wantLink, wantNotLinked string
	}{
		{name: "text only", notify: jobs.Notify{Phone: phone, Channels: []string{"phone"}}, devices: true, texts: 1, wantLink: "https://studio.example/#/job/"},
		{name: "push only", notify: jobs.Notify{Push: true, Channels: []string{"push"}}, devices: true, pushes: 1},
		{name: "all three", notify: jobs.Notify{Email: "o@example.test", Phone: phone, Push: true, Channels: []string{"email", "phone", "push"}}, devices: true, mails: 1, pushes: 1, texts: 1},
		{name: "email only, device registered", notify: jobs.Notify{Email: "o@example.test", Channels: []string{"email"}}, devices: true, mails: 1},
		{name: "from before the choice: email and devices", notify: jobs.Notify{Email: "o@example.test"}, devices: true, mails: 1, pushes: 1},
		{name: "push chosen, no device", notify: jobs.Notify{Push: true, Channels: []string{"push"}}},
		// The kiosk's staff account owns booth jobs: its devices are not
		// the attendee's; the typed number is, and gets the download link
		// (Notify never knows the pick-up code).
		{name: "booth, staff typed a number", priority: jobs.Booth, notify: jobs.Notify{Phone: phone, Push: true, Channels: []string{"phone", "push"}}, devices: true, texts: 1,
			wantLink: "sketch-a1-0.jpg", wantNotLinked: "#/job/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			prio := tc.priority
			if prio == "" {
				prio = jobs.Online
			}
			id := f.jobWith(t, testenv.Unique("uid"), prio, tc.notify, jobs.Succeeded)
			if tc.devices {
				f.devices(t, id, "token-1")
			}
			e := f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)
			for range 2 { // a duplicate delivery sends nothing more
				if err := f.svc.Handle(testenv.Ctx(t), e); err != nil {
					t.Fatal(err)
				}
			}
			texts := f.sms.messages(t)
			if m, p, x := len(f.sink.mails(t)), len(f.push.all()), len(texts); m != tc.mails || p != tc.pushes || x != tc.texts {
				t.Fatalf("mails %d, pushes %d, texts %d; want %d, %d, %d", m, p, x, tc.mails, tc.pushes, tc.texts)
			}
			for _, m := range texts {
				if m.To != phone || !strings.Contains(m.Body, id) || !strings.Contains(m.Body, tc.wantLink) ||
					(tc.wantNotLinked != "" && strings.Contains(m.Body, tc.wantNotLinked)) {
					t.Errorf("text %+v: want to %s with the job id and %q", m, phone, tc.wantLink)
				}
			}
		})
	}
}

// TestTextDrills: the provider refusing with 429 or 5xx, or accepting a
// message whose answer is lost (as when Notify dies between the provider's
// answer and the ledger's record): the trigger's retries end with exactly
// one message. A number the provider refuses for good ends the delivery
// without a message and without endless retries.
func TestTextDrills(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		status, count int
		failures      int
		want          int
	}{
		{"429 twice", 429, 2, 2, 1},
		{"500", 500, 1, 1, 1},
		{"503 three times", 503, 3, 3, 1},
		{"answer lost", 0, 1, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			id := f.jobWith(t, testenv.Unique("uid"), jobs.Online, jobs.Notify{Email: "o@example.test", Phone: phone, Channels: []string{"email", "phone"}}, jobs.Succeeded)
			f.sms.fault(t, tc.status, tc.count)
			e := f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)
			failed := 0
			for range 10 {
				if err := f.svc.Handle(testenv.Ctx(t), e); err == nil {
					break
				}
				failed++
			}
			if failed != tc.failures {
				t.Errorf("%d failed deliveries, want %d (each a trigger retry)", failed, tc.failures)
			}
			// Redeliveries after the success send nothing more.
			if err := f.svc.Handle(testenv.Ctx(t), e); err != nil {
				t.Fatal(err)
			}
			if n := len(f.sms.messages(t)); n != tc.want {
				t.Errorf("%d texts, want %d", n, tc.want)
			}
			if n := len(f.sink.mails(t)); n != 1 {
				t.Errorf("%d mails, want 1 (the text's retries do not resend the mail)", n)
			}
		})
	}
	t.Run("number refused for good", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		id := f.jobWith(t, testenv.Unique("uid"), jobs.Online, jobs.Notify{Phone: "+1", Channels: []string{"phone"}}, jobs.Succeeded)
		if err := f.svc.Handle(testenv.Ctx(t), f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)); err != nil {
			t.Fatalf("a refused number made the trigger retry: %v", err)
		}
		if n := len(f.sms.messages(t)); n != 0 {
			t.Errorf("%d texts", n)
		}
	})
}

// TestRejectedPushTokensRemoved: tokens FCM rejects leave devices/{uid};
// the others stay.
func TestRejectedPushTokensRemoved(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.push.reject = []string{"revoked"}
	id := f.jobWith(t, testenv.Unique("uid"), jobs.Online, jobs.Notify{Push: true, Channels: []string{"push"}}, jobs.Succeeded)
	f.devices(t, id, "live", "revoked")
	if err := f.svc.Handle(testenv.Ctx(t), f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)); err != nil {
		t.Fatal(err)
	}
	d, err := store.NewReader(f.fs).Devices(testenv.Ctx(t), f.request(t, id).UID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Tokens, ",") != "live" {
		t.Errorf("tokens after the send = %v, want [live]", d.Tokens)
	}
	if p := f.push.all(); len(p) != 1 || p[0].push.Data["style"] != "sketch" {
		t.Errorf("pushes %+v, want one naming the style (the service worker shows its preview)", p)
	}
}

// TestNothingChosen: an owner who chose no channel (["none"], not the
// absent list of older requests) gets nothing, though the account has a
// verified address and a device.
func TestNothingChosen(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	id := f.jobWith(t, user.UID, jobs.Online, jobs.Notify{Channels: []string{"none"}}, jobs.Succeeded)
	f.devices(t, id, "token-1")
	if err := f.svc.Handle(testenv.Ctx(t), f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)); err != nil {
		t.Fatal(err)
	}
	if m, p, x := len(f.sink.mails(t)), len(f.push.all()), len(f.sms.messages(t)); m+p+x != 0 {
		t.Errorf("mails %d, pushes %d, texts %d for an owner who chose none", m, p, x)
	}
}
