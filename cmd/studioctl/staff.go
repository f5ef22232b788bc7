package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	fbauth "firebase.google.com/go/v4/auth"
	"google.golang.org/api/iterator"

	tigerauth "github.com/tigerstudio/studio/infra/auth"
)

const staffAbout = `Grants or revokes staff rights for this event (EVENT: booth priority, the
booth's board, reading the event's jobs) on the user with EMAIL, keeping the
user's other custom claims and their rights at other events, or lists this
event's staff. Only an address its owner proved is granted: an account
whose email is not verified is refused, since whoever registered the address
first would get the rights. A user's ID token carries its claims until it is
refreshed (at most an hour): a grant shows after the app refreshes its
token; a revoke with --sign-out also revokes the user's refresh tokens, so
the Gateway refuses the old tokens within AUTH_USER_CACHE_TTL.`

func runStaff(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("staff", "staff grant|revoke|list [--sign-out] [EMAIL]", staffAbout)
	signOut := fs.Bool("sign-out", false, "revoke: also revoke the user's refresh tokens (signs them out everywhere)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errors.New("staff: want grant, revoke or list")
	}
	verb, rest := rest[0], rest[1:]
	// Flags may also follow the verb: staff revoke --sign-out EMAIL.
	if err := fs.Parse(rest); err != nil {
		return err
	}
	rest = fs.Args()
	switch {
	case verb == "list" && len(rest) != 0:
		return errors.New("staff list takes no arguments")
	case (verb == "grant" || verb == "revoke") && len(rest) != 1:
		fs.Usage()
		return fmt.Errorf("staff %s: want one EMAIL", verb)
	case verb != "list" && verb != "grant" && verb != "revoke":
		fs.Usage()
		return fmt.Errorf("staff: unknown verb %q (want grant, revoke or list)", verb)
	}
	auth, err := tigerauth.NewClient(ctx, c.cfg.Project)
	if err != nil {
		return err
	}
	switch verb {
	case "list":
		return listStaff(ctx, c, auth)
	default: // grant, revoke
		changed, uid, err := setStaff(ctx, auth, rest[0], c.cfg.Event, verb == "grant")
		if err != nil {
			return err
		}
		if verb == "revoke" && *signOut {
			if err := auth.RevokeRefreshTokens(ctx, uid); err != nil {
				return fmt.Errorf("staff revoke: RevokeRefreshTokens %s: %w", rest[0], err)
			}
		}
		state := "now"
		if !changed {
			state = "already"
		}
		if verb == "grant" {
			fmt.Fprintf(c.stdout, "%s (%s) is %s staff of %s\n", rest[0], uid, state, c.cfg.Event)
		} else {
			fmt.Fprintf(c.stdout, "%s (%s) is %s not staff of %s\n", rest[0], uid, state, c.cfg.Event)
		}
		return nil
	}
}

// listStaff prints the event's staff, a line each.
func listStaff(ctx context.Context, c *cli, auth *fbauth.Client) error {
	users, err := staffUsers(ctx, auth, c.cfg.Event)
	if err != nil {
		return err
	}
	for _, u := range users {
		fmt.Fprintf(c.stdout, "%s\t%s\n", u.Email, u.UID)
	}
	fmt.Fprintf(c.stderr, "%d staff of %s\n", len(users), c.cfg.Event)
	return nil
}

// setStaff grants or revokes the user's staff rights for event, keeping
// their other custom claims (SetCustomUserClaims replaces them all), and
// reports whether anything changed. A grant needs a verified address.
func setStaff(ctx context.Context, auth *fbauth.Client, email, event string, staff bool) (changed bool, uid string, err error) {
	u, err := auth.GetUserByEmail(ctx, email)
	if err != nil {
		if fbauth.IsUserNotFound(err) {
			return false, "", fmt.Errorf("staff: no user with email %s", email)
		}
		return false, "", fmt.Errorf("staff: GetUserByEmail %s: %w", email, err)
	}
	if staff && !u.EmailVerified {
		return false, u.UID, fmt.Errorf("staff: %s has not proven that the address is theirs (email not verified): "+
			"they sign in once with the emailed link (or an operator creates the account with a verified address), then grant again", email)
	}
	claims, changed := tigerauth.WithStaff(u.CustomClaims, event, staff)
	if !changed {
		return false, u.UID, nil
	}
	if err := auth.SetCustomUserClaims(ctx, u.UID, claims); err != nil {
		return false, u.UID, fmt.Errorf("staff: SetCustomUserClaims %s: %w", email, err)
	}
	return true, u.UID, nil
}

type staffUser struct {
	Email string
	UID   string
}

// staffUsers walks every user (the Admin SDK has no query by claim) and
// returns event's staff, by email.
func staffUsers(ctx context.Context, auth *fbauth.Client, event string) ([]staffUser, error) {
	var out []staffUser
	it := auth.Users(ctx, "")
	for {
		u, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("staff list: %w", err)
		}
		if slices.Contains(tigerauth.StaffEvents(u.CustomClaims), event) {
			out = append(out, staffUser{Email: u.Email, UID: u.UID})
		}
	}
	slices.SortFunc(out, func(a, b staffUser) int {
		return cmp.Or(cmp.Compare(a.Email, b.Email), cmp.Compare(a.UID, b.UID))
	})
	return out, nil
}
