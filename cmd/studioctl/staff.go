package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	fbauth "firebase.google.com/go/v4/auth"
	"google.golang.org/api/iterator"
)

// staffClaim is the custom claim that allows booth priority and reading
// other users' jobs.
const staffClaim = "staff"

const staffAbout = `Grants or revokes the custom claim staff: true (booth priority, reading any
job) on the user with EMAIL, keeping the user's other custom claims, or lists
the users holding it. A user's ID token carries its claims until it is
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
	auth, err := openAuth(ctx, c.cfg)
	if err != nil {
		return err
	}
	switch verb {
	case "list":
		users, err := staffUsers(ctx, auth)
		if err != nil {
			return err
		}
		for _, u := range users {
			fmt.Fprintf(c.stdout, "%s\t%s\n", u.Email, u.UID)
		}
		fmt.Fprintf(c.stderr, "%d staff\n", len(users))
		return nil
	default: // grant, revoke
		changed, uid, err := setStaff(ctx, auth, rest[0], verb == "grant")
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
			fmt.Fprintf(c.stdout, "%s (%s) is %s staff\n", rest[0], uid, state)
		} else {
			fmt.Fprintf(c.stdout, "%s (%s) is %s not staff\n", rest[0], uid, state)
		}
		return nil
	}
}

// setStaff sets or clears the claim on the user with email, keeping their
// other custom claims (SetCustomUserClaims replaces them all), and reports
// whether anything changed.
func setStaff(ctx context.Context, auth *fbauth.Client, email string, staff bool) (changed bool, uid string, err error) {
	u, err := auth.GetUserByEmail(ctx, email)
	if err != nil {
		if fbauth.IsUserNotFound(err) {
			return false, "", fmt.Errorf("staff: no user with email %s", email)
		}
		return false, "", fmt.Errorf("staff: GetUserByEmail %s: %w", email, err)
	}
	claims := maps.Clone(u.CustomClaims)
	if claims == nil {
		claims = map[string]any{}
	}
	if isStaff(claims) == staff {
		return false, u.UID, nil
	}
	if staff {
		claims[staffClaim] = true
	} else {
		delete(claims, staffClaim)
	}
	if err := auth.SetCustomUserClaims(ctx, u.UID, claims); err != nil {
		return false, u.UID, fmt.Errorf("staff: SetCustomUserClaims %s: %w", email, err)
	}
	return true, u.UID, nil
}

func isStaff(claims map[string]any) bool {
	v, ok := claims[staffClaim].(bool)
	return ok && v
}

type staffUser struct {
	Email string
	UID   string
}

// staffUsers walks every user (the Admin SDK has no query by claim) and
// returns those with the claim, by email.
func staffUsers(ctx context.Context, auth *fbauth.Client) ([]staffUser, error) {
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
		if isStaff(u.CustomClaims) {
			out = append(out, staffUser{Email: u.Email, UID: u.UID})
		}
	}
	slices.SortFunc(out, func(a, b staffUser) int {
		return cmp.Or(cmp.Compare(a.Email, b.Email), cmp.Compare(a.UID, b.UID))
	})
	return out, nil
}
