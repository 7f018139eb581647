package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/fcm"
	"github.com/heraldpush/herald/internal/store"
)

// Message status (docs/api.md "Message status"): GET
// /v1/projects/{project}/messages/{id} for the app server, with the send
// API's credentials and checks, and GET
// /admin/v1/projects/{project}/messages/{id} with the admin credential.
// Both answer the same document.

// MessageStatus is the status document of one message.
type MessageStatus struct {
	Name   string `json:"name"` // projects/P/messages/ID, as send answered
	State  string `json:"state"`
	Target struct {
		// Token is the registration token's first tokenShown characters
		// and "…": enough to tell tokens apart, not to use one.
		Token     string `json:"token,omitempty"`
		Topic     string `json:"topic,omitempty"`
		Condition string `json:"condition,omitempty"`
	} `json:"target"`
	AcceptTime string         `json:"accept_time"`
	UpdateTime string         `json:"update_time"`
	ExpireTime string         `json:"expire_time,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Counts     *MessageCounts `json:"counts,omitempty"`
}

// MessageCounts are a topic or condition message's counts. Targeted,
// Pending and Expired are absent when the targets were not counted.
type MessageCounts struct {
	Targeted  *int64 `json:"targeted,omitempty"`
	Delivered int64  `json:"delivered"`
	Pending   *int64 `json:"pending,omitempty"`
	Expired   *int64 `json:"expired,omitempty"`
}

// Topic message states beyond the store's: every targeted subscriber got
// it.
const stateCompleted = "completed"

// tokenShown is how much of a registration token a status shows.
const tokenShown = 12

// maxMessageIDLen bounds the message IDs looked up; longer ones are
// unknown.
const maxMessageIDLen = 128

// statusDocument renders st as read at now.
func statusDocument(project string, st store.Status, now time.Time) MessageStatus {
	d := MessageStatus{
		Name:       "projects/" + project + "/messages/" + st.ID,
		State:      string(st.At(now)),
		AcceptTime: rfc3339(st.AcceptedAt),
		UpdateTime: rfc3339(st.UpdatedAt),
		ExpireTime: rfc3339(st.ExpiresAt),
		Reason:     st.Reason,
	}
	expired := !st.ExpiresAt.IsZero() && !now.Before(st.ExpiresAt)
	switch {
	case st.Topic != "" || st.Condition != "":
		d.Target.Topic, d.Target.Condition = st.Topic, st.Condition
		c := &MessageCounts{Delivered: st.Delivered}
		d.Counts = c
		d.State = string(store.StateAccepted)
		if st.Targeted < 0 {
			// Not counted: accepted until it expires.
			if expired {
				d.State = string(store.StateExpired)
			}
			break
		}
		pending, exp := st.Counts(now)
		targeted := st.Targeted
		c.Targeted, c.Pending, c.Expired = &targeted, &pending, &exp
		switch {
		case pending == 0 && exp == 0:
			d.State = stateCompleted
		case exp > 0:
			d.State = string(store.StateExpired)
		}
	default:
		d.Target.Token = shortToken(st.Token)
		if d.State == string(store.StateExpired) {
			d.UpdateTime = d.ExpireTime
		}
	}
	return d
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// shortToken shows the start of a token.
func shortToken(token string) string {
	if len(token) <= tokenShown {
		return token
	}
	return token[:tokenShown] + "…"
}

// shortID bounds an ID quoted in an error.
func shortID(id string) string {
	if len(id) > maxMessageIDLen {
		return id[:maxMessageIDLen] + "…"
	}
	return id
}

// lookupStatus reads message id of project. found is false for an unknown
// ID, a purged one and another project's.
func (a *API) lookupStatus(r *http.Request, project, id string) (doc MessageStatus, found bool, err error) {
	if id == "" || len(id) > maxMessageIDLen || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c == 0x7f }) {
		return doc, false, nil
	}
	st, now, err := a.Hub.MessageStatus(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return doc, false, nil
	}
	if err != nil {
		return doc, false, err
	}
	if st.ProjectID != project {
		return doc, false, nil
	}
	return statusDocument(project, st, now), true, nil
}

// messageStatus is GET /v1/projects/{project}/messages/{id}: FCM's error
// format, the send API's credentials.
func (a *API) messageStatus(w http.ResponseWriter, r *http.Request) {
	project, id := r.PathValue("project"), r.PathValue("id")
	if ferr := a.authorizeSend(r, project); ferr != nil {
		fcm.WriteError(w, ferr)
		return
	}
	doc, found, err := a.lookupStatus(r, project, id)
	switch {
	case errors.Is(err, store.ErrClosed):
		fcm.WriteError(w, fcm.Unavailable(retryAfterShutdown))
	case err != nil:
		a.Logger.Error("reading message status", "project", project, "err", err)
		fcm.WriteError(w, fcm.Internal())
	case !found:
		fcm.WriteError(w, fcm.NotFound("Message "+quote(shortID(id))+" of project "+project+" was not found: unknown, of another project, or older than the status retention."))
	default:
		writeJSON(w, http.StatusOK, doc)
	}
}

// adminMessageStatus is GET /admin/v1/projects/{project}/messages/{id}.
func (a *API) adminMessageStatus(w http.ResponseWriter, r *http.Request) {
	project, id := r.PathValue("project"), r.PathValue("id")
	doc, found, err := a.lookupStatus(r, project, id)
	switch {
	case err != nil:
		a.storeError(w, err, "message status")
	case !found:
		writeStatus(w, http.StatusNotFound, "NOT_FOUND",
			"message "+quote(shortID(id))+" of project "+project+" not found: unknown, of another project, or older than the status retention")
	default:
		writeJSON(w, http.StatusOK, doc)
	}
}
