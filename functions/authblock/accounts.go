package authblock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	fbauth "firebase.google.com/go/v4/auth"
)

// AdminAccounts reads accounts through Identity Toolkit's accounts:lookup
// (the Admin SDK's user record does not say whether a password is set: an
// email-link account has the same "password" provider) and changes them
// through the Admin SDK.
type AdminAccounts struct {
	admin   *fbauth.Client
	lookup  string // accounts:lookup URL
	bearer  string // the emulator's admin credential; empty in the cloud
	client  *http.Client
	project string
}

// NewAdminAccounts builds the account operations; base is Identity
// Toolkit's v1 URL, client is authorised as the function's service
// account (in the emulator, any client: bearer "owner" is its admin).
func NewAdminAccounts(admin *fbauth.Client, project, base, bearer string, client *http.Client) *AdminAccounts {
	return &AdminAccounts{admin: admin, project: project, bearer: bearer, client: client,
		lookup: fmt.Sprintf("%s/projects/%s/accounts:lookup", base, project)}
}

// HasPassword implements Accounts.
func (a *AdminAccounts) HasPassword(ctx context.Context, uid string) (bool, error) {
	body, _ := json.Marshal(map[string]any{"localId": []string{uid}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.lookup, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+a.bearer)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("authblock.HasPassword: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("authblock.HasPassword: accounts:lookup: %s", resp.Status)
	}
	var out struct {
		Users []struct {
			PasswordHash      string `json:"passwordHash"`
			PasswordUpdatedAt int64  `json:"passwordUpdatedAt"`
		} `json:"users"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return false, fmt.Errorf("authblock.HasPassword: %w", err)
	}
	if len(out.Users) == 0 {
		return false, nil // a new account: nothing set before
	}
	u := out.Users[0]
	return u.PasswordHash != "" || u.PasswordUpdatedAt != 0, nil
}

// RemovePassword implements Accounts: the password provider goes (the
// address stays, so email links keep working) and every refresh token
// issued so far is revoked.
func (a *AdminAccounts) RemovePassword(ctx context.Context, uid string) error {
	if _, err := a.admin.UpdateUser(ctx, uid, (&fbauth.UserToUpdate{}).ProvidersToDelete([]string{"password"})); err != nil {
		return fmt.Errorf("authblock.RemovePassword: %w", err)
	}
	if err := a.admin.RevokeRefreshTokens(ctx, uid); err != nil {
		return fmt.Errorf("authblock.RemovePassword: revoke: %w", err)
	}
	return nil
}
