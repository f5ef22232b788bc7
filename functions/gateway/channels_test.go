package gateway

import (
	"reflect"
	"testing"

	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/jobs"
)

func TestNotifyChoice(t *testing.T) {
	const own, other = "+821011112222", "+821033334444"
	attendee := auth.User{UID: "a", Email: "a@example.test", EmailVerified: true, Phone: own}
	unproved := auth.User{UID: "g", Anonymous: true}
	staff := auth.User{UID: "s", Email: "s@example.test", EmailVerified: true, Phone: other, StaffEvents: []string{"gala"}}
	tests := []struct {
		name     string
		sub      submission
		email    string
		user     auth.User
		priority jobs.Priority
		want     jobs.Notify
		status   int // 0: accepted
	}{
		{name: "no choice: the old defaults", email: "a@example.test", user: attendee,
			want: jobs.Notify{Email: "a@example.test"}},
		{name: "text to the verified number", sub: submission{notify: "phone"}, email: "a@example.test", user: attendee,
			want: jobs.Notify{Phone: own, Channels: []string{"phone"}}},
		{name: "all three", sub: submission{notify: "email, phone,push,push"}, email: "a@example.test", user: attendee,
			want: jobs.Notify{Email: "a@example.test", Phone: own, Push: true, Channels: []string{"email", "phone", "push"}}},
		{name: "push only: no email", sub: submission{notify: "push"}, email: "a@example.test", user: attendee,
			want: jobs.Notify{Push: true, Channels: []string{"push"}}},
		{name: "nothing chosen", sub: submission{notify: "none"}, email: "a@example.test", user: attendee,
			want: jobs.Notify{Channels: []string{"none"}}},
		{name: "an empty list", sub: submission{notify: " , "}, email: "a@example.test", user: attendee,
			want: jobs.Notify{Channels: []string{"none"}}},
		{name: "own number typed", sub: submission{notify: "phone", phone: own}, user: attendee,
			want: jobs.Notify{Phone: own, Channels: []string{"phone"}}},
		{name: "another number typed by an attendee", sub: submission{notify: "phone", phone: other}, user: attendee, status: 403},
		{name: "a guest's typed number", sub: submission{notify: "phone", phone: other}, user: unproved, status: 403},
		{name: "text without a verified number", sub: submission{notify: "phone"}, user: unproved, status: 400},
		// A guest who asked for the email link: Notify mails the address
		// verified later.
		{name: "email without an address yet", sub: submission{notify: "email"}, user: unproved,
			want: jobs.Notify{Channels: []string{"email"}}},
		{name: "unknown channel", sub: submission{notify: "kakao"}, user: attendee, status: 400},
		{name: "not a number", sub: submission{phone: "010-1111-2222"}, user: staff, status: 400},
		{name: "staff type the attendee's number at the kiosk", sub: submission{notify: "phone", phone: own}, user: staff, priority: jobs.Booth,
			want: jobs.Notify{Phone: own, Channels: []string{"phone"}}},
		// The kiosk's account is not the attendee: its own number is never
		// the default, and its devices are the kiosk's.
		{name: "booth without a typed number", sub: submission{notify: "phone"}, user: staff, priority: jobs.Booth, status: 400},
		{name: "booth push", sub: submission{notify: "push"}, user: staff, priority: jobs.Booth, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prio := tc.priority
			if prio == "" {
				prio = jobs.Online
			}
			got, apiErr := notifyChoice(tc.sub, tc.email, tc.user, prio, tc.user.StaffOf("gala"))
			switch {
			case tc.status != 0 && (apiErr == nil || apiErr.status != tc.status):
				t.Errorf("got %+v, %v; want HTTP %d", got, apiErr, tc.status)
			case tc.status == 0 && apiErr != nil:
				t.Errorf("refused: %v", apiErr)
			case tc.status == 0 && !reflect.DeepEqual(got, tc.want):
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
