package notify

import (
	"context"
	"fmt"
	"log/slog"

	"firebase.google.com/go/v4/messaging"
)

// FCMMessenger sends push notifications with Firebase Cloud Messaging
// through the Admin SDK.
type FCMMessenger struct {
	Client *messaging.Client
	Logger *slog.Logger
}

// Send delivers p to every token. Tokens FCM reports as unregistered are
// logged and skipped (Notify may not write devices/); any other failure is
// returned so the trigger retries.
func (f *FCMMessenger) Send(ctx context.Context, tokens []string, p Push) error {
	resp, err := f.Client.SendEachForMulticast(ctx, &messaging.MulticastMessage{
		Tokens:       tokens,
		Notification: &messaging.Notification{Title: p.Title, Body: p.Body},
		Data:         p.Data,
	})
	if err != nil {
		return fmt.Errorf("fcm: %w", err)
	}
	retry := 0
	for i, r := range resp.Responses {
		if r.Success {
			continue
		}
		if messaging.IsUnregistered(r.Error) || messaging.IsInvalidArgument(r.Error) {
			f.Logger.Warn("push token rejected; skipping it", "device", i, "err", r.Error)
			continue
		}
		retry++
	}
	if retry > 0 {
		return fmt.Errorf("fcm: %d of %d sends failed", retry, len(tokens))
	}
	return nil
}

// LogMessenger stands in for FCM in the local stack, which has no FCM
// emulator: it logs what would be pushed (not the tokens).
type LogMessenger struct {
	Logger *slog.Logger
}

// Send logs the notification.
func (l *LogMessenger) Send(ctx context.Context, tokens []string, p Push) error {
	l.Logger.InfoContext(ctx, "push (local stand-in for FCM)", "devices", len(tokens), "title", p.Title, "data", p.Data)
	return nil
}
