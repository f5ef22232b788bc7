package notify

import (
	"context"
	"fmt"

	fbauth "firebase.google.com/go/v4/auth"
)

// AuthOwners finds a job owner's address in Firebase Auth: the address the
// account verified since it submitted the job. A guest (anonymous account)
// who confirms an address through an email link, or signs in with Google,
// after submitting is mailed that way; a request names an address only when
// the Gateway saw a verified one (or staff typed it).
type AuthOwners struct {
	Client *fbauth.Client
}

// VerifiedEmail is uid's verified address, or "" when it has none (or the
// account is gone).
func (o AuthOwners) VerifiedEmail(ctx context.Context, uid string) (string, error) {
	u, err := o.Client.GetUser(ctx, uid)
	if fbauth.IsUserNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up the owner's account: %w", err)
	}
	if !u.EmailVerified || u.Disabled {
		return "", nil
	}
	return u.Email, nil
}
