package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MessageStatus is a message's status as the admin API returns it
// (docs/api.md "Message status").
type MessageStatus struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Target struct {
		Token     string `json:"token"`
		Topic     string `json:"topic"`
		Condition string `json:"condition"`
	} `json:"target"`
	AcceptTime string `json:"accept_time"`
	UpdateTime string `json:"update_time"`
	ExpireTime string `json:"expire_time"`
	Reason     string `json:"reason"`
	Counts     *struct {
		Targeted  *int64 `json:"targeted"`
		Delivered int64  `json:"delivered"`
		Pending   *int64 `json:"pending"`
		Expired   *int64 `json:"expired"`
	} `json:"counts"`
}

func (c *apiClient) messageStatus(ctx context.Context, project, id string) (MessageStatus, []byte, error) {
	var st MessageStatus
	raw, err := c.do(ctx, "GET", "/admin/v1/projects/"+url.PathEscape(project)+"/messages/"+url.PathEscape(id), nil, &st)
	return st, raw, err
}

func runStatus(ctx context.Context, env *Env, args []string) error {
	const name = "status"
	var (
		admin   adminFlags
		project string
		jsonOut bool
	)
	f := newFlagSet(name, "herald status (NAME | ID --project P) [flags]",
		"Print a message's status: accepted, then delivered (acked by the device),\n"+
			"collapsed, dropped, failed or expired; for a topic or condition message,\n"+
			"how many devices it targeted and how many got it, are pending or expired.\n"+
			"NAME is what herald send printed (projects/P/messages/ID); an ID alone\n"+
			"needs --project. Status is kept for a while after the message ended\n"+
			"(herald serve --status-retention).",
		"herald status projects/demo/messages/3f9c2a1b7e4d0000000001")
	admin.register(f)
	f.String(&project, "project", "", "HERALD_PROJECT", "`ID` of the message's project (not needed with a NAME)")
	f.Bool(&jsonOut, "json", false, "", "print the API's JSON answer")
	rest, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if err := positionalArgs(name, rest, "message name or ID"); err != nil {
		return err
	}
	id := rest[0]
	if p, msg, ok := strings.Cut(strings.TrimPrefix(id, "projects/"), "/messages/"); ok && strings.HasPrefix(id, "projects/") {
		if project != "" && project != p {
			return usageErrorf(name, "--project %s does not match the name's project %s", project, p)
		}
		project, id = p, msg
	}
	if project == "" {
		return usageErrorf(name, "--project is required with a message ID (or give the name projects/P/messages/ID)")
	}
	if id == "" || strings.Contains(id, "/") {
		return usageErrorf(name, "%q is not a message ID or name", rest[0])
	}
	c, err := admin.client(env, name)
	if err != nil {
		return err
	}
	st, raw, err := c.messageStatus(ctx, project, id)
	if err != nil {
		return admin.explainAdmin(err)
	}
	if jsonOut {
		return writeRaw(env.Stdout, raw)
	}
	printStatus(env, st)
	return nil
}

// printStatus prints a status as "field: value" lines.
func printStatus(env *Env, st MessageStatus) {
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	line("name", st.Name)
	line("state", st.State)
	switch {
	case st.Target.Token != "":
		line("target", "token "+st.Target.Token)
	case st.Target.Topic != "":
		line("target", "topic "+st.Target.Topic)
	case st.Target.Condition != "":
		line("target", "condition "+st.Target.Condition)
	}
	line("reason", st.Reason)
	line("accepted", st.AcceptTime)
	line("updated", st.UpdateTime)
	line("expires", st.ExpireTime)
	if c := st.Counts; c != nil {
		count := func(k string, n *int64) {
			if n != nil {
				line(k, strconv.FormatInt(*n, 10))
			}
		}
		count("targeted", c.Targeted)
		count("delivered", &c.Delivered)
		count("pending", c.Pending)
		count("expired", c.Expired)
		if c.Targeted == nil {
			line("note", "the devices this condition targets were not counted (see docs/api.md)")
		}
	}
	fmt.Fprint(env.Stdout, b.String())
}
