// Package authblock is the AuthBlocking function: Identity Platform's
// blocking functions (beforeCreate, beforeSignIn) for the project's
// accounts, so that an address nobody has proven cannot be taken over.
//
// The attack it stops (issue 25): someone registers an attendee's address
// with a password of their own before the attendee ever signs in; the
// attendee later signs in with an emailed link (or Google), lands in that
// account, and everything they bring (their guest photos, their new jobs)
// is readable with the password set beforehand. So:
//
//   - beforeCreate refuses accounts created by a client with a password:
//     attendees sign in with an emailed link, Google or as guests, and
//     staff accounts are made by the operator (the Admin SDK, which no
//     blocking function sees).
//   - beforeSignIn, when an account that holds a password and no staff
//     rights is signed in to by a proof of the address (an email link,
//     Google), removes the password and revokes every earlier session
//     before the new session's token is issued, so whoever set the
//     password is out and the owner is in.
//
// A guest upgraded by linking an email and password credential is not a
// creation, so no beforeCreate sees it; the beforeSignIn rule still takes
// that password away the first time the address's owner proves it.
package authblock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/logging"
)

// The blocking token's event_type values (firebase-functions maps them to
// providers/cloud.auth/eventTypes/user.beforeCreate and so on).
const (
	BeforeCreate = "beforeCreate"
	BeforeSignIn = "beforeSignIn"
)

// Event is what a blocking request's token says, once verified.
type Event struct {
	Type         string
	SignInMethod string // "password", "emailLink", "google.com", "anonymous", ...
	UID          string
	Claims       map[string]any // the account's custom claims
}

// Decoder verifies a blocking request's token.
type Decoder interface {
	Decode(ctx context.Context, jwt string) (Event, error)
}

// Accounts is what the function does to an account.
type Accounts interface {
	// HasPassword reports whether the account has a password set.
	HasPassword(ctx context.Context, uid string) (bool, error)
	// RemovePassword deletes the account's password and revokes its
	// sessions.
	RemovePassword(ctx context.Context, uid string) error
}

// Handler answers Identity Platform's blocking requests.
type Handler struct {
	decoder  Decoder
	accounts Accounts
	log      *slog.Logger
}

// New builds the handler.
func New(d Decoder, a Accounts, log *slog.Logger) *Handler {
	return &Handler{decoder: d, accounts: a, log: log}
}

// errBadRequest marks a request that is not a valid blocking request.
var errBadRequest = errors.New("not a valid blocking request")

// Refusal messages, shown to whoever tried.
const (
	noPasswordSignUp = "accounts are made by signing in with an emailed link, Google or as a guest; staff accounts are made by the event's operator"
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "POST a blocking request")
		return
	}
	var req struct {
		Data struct {
			JWT string `json:"jwt"`
		} `json:"data"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || req.Data.JWT == "" {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "want {\"data\": {\"jwt\": ...}}")
		return
	}
	ev, err := h.decoder.Decode(r.Context(), req.Data.JWT)
	if err != nil {
		h.log.WarnContext(r.Context(), "blocking request refused", "err", err)
		writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "the blocking request's token is not valid")
		return
	}
	log := h.log.With("uid", ev.UID, "event", ev.Type, "signInMethod", ev.SignInMethod)
	ctx := logging.WithLogger(r.Context(), log)
	refusal, err := h.decide(ctx, ev)
	switch {
	case err != nil:
		log.ErrorContext(ctx, "blocking function failed", "err", err)
		writeError(w, http.StatusInternalServerError, "INTERNAL", "the sign-in could not be checked; try again")
	case refusal != "":
		log.InfoContext(ctx, "refused")
		writeError(w, http.StatusBadRequest, "PERMISSION_DENIED", refusal)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}
}

// decide applies the rules of the package comment: a refusal message, or
// "" to let the creation or sign-in go ahead.
func (h *Handler) decide(ctx context.Context, ev Event) (string, error) {
	switch ev.Type {
	case BeforeCreate:
		if ev.SignInMethod == "password" {
			return noPasswordSignUp, nil
		}
		return "", nil
	case BeforeSignIn:
		if !provesAddress(ev.SignInMethod) || len(auth.StaffEvents(ev.Claims)) > 0 {
			return "", nil
		}
		has, err := h.accounts.HasPassword(ctx, ev.UID)
		if err != nil || !has {
			return "", err
		}
		if err := h.accounts.RemovePassword(ctx, ev.UID); err != nil {
			return "", err
		}
		logging.FromContext(ctx).WarnContext(ctx, "a password set before the address was proven was removed and the account's earlier sessions revoked")
		return "", nil
	default:
		return "", fmt.Errorf("%w: event type %q", errBadRequest, ev.Type)
	}
}

// provesAddress reports whether a sign-in method proves the account's
// address belongs to whoever signs in.
func provesAddress(method string) bool {
	return method == "emailLink" || method == "google.com"
}

// writeError answers in the shape Identity Platform reads from a blocking
// function (the callable functions' error body).
func writeError(w http.ResponseWriter, code int, status, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"status": status, "message": message}})
}
