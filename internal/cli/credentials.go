package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
)

// Vendor credentials of a project: herald credentials create-vapid |
// set-apns | set-fcm | show | delete, through the admin API's
// /admin/v1/projects/{p}/credentials routes (docs/api.md).

// Credentials is what the admin API shows of a project's credentials: no
// private key, ever.
type Credentials struct {
	ProjectID string `json:"project_id"`
	VAPID     *struct {
		PublicKey string `json:"public_key"`
		Subject   string `json:"subject"`
	} `json:"vapid"`
	APNs *struct {
		KeyID  string `json:"key_id"`
		TeamID string `json:"team_id"`
	} `json:"apns"`
	FCM *struct {
		ProjectID   string `json:"project_id"`
		ClientEmail string `json:"client_email"`
	} `json:"fcm"`
	UpdatedAt string `json:"updated_at"`
}

func credentialsPath(project string) string {
	return "/admin/v1/projects/" + url.PathEscape(project) + "/credentials"
}

// credentialCommand is the shape shared by the credentials subcommands:
// parse the flags (the admin flags, --project and --json are added), then
// call the server.
func credentialCommand(ctx context.Context, env *Env, args []string, name, usage, about, example string,
	flags func(f *flagSet), positional []string,
	call func(ctx context.Context, c *apiClient, project string, pos []string) (Credentials, []byte, error),
	print func(c Credentials),
) error {
	f := newFlagSet(name, usage, about, example)
	p, err := parseProjectCommand(env, name, f, args, flags, jsonUsage, positional...)
	if err != nil {
		return err
	}
	c, err := p.client(env)
	if err != nil {
		return err
	}
	creds, raw, err := call(ctx, c, p.project, p.args)
	if err != nil {
		return p.admin.explainAdmin(err)
	}
	if p.json {
		return writeRaw(env.Stdout, raw)
	}
	print(creds)
	return nil
}

func runCredentialsCreateVAPID(ctx context.Context, env *Env, args []string) error {
	const name = "credentials create-vapid"
	var (
		subject string
		replace bool
	)
	return credentialCommand(ctx, env, args, name, "herald credentials create-vapid --project ID --subject CONTACT [flags]",
		"Have the server generate the project's VAPID key (RFC 8292) for Web Push and print\n"+
			"its public key. The web app passes the public key as applicationServerKey to\n"+
			"pushManager.subscribe, then registers the subscription with the app key\n"+
			"(docs/platforms.md). The private key never leaves the server.",
		"herald credentials create-vapid --project demo --subject mailto:ops@example.com",
		func(f *flagSet) {
			f.String(&subject, "subject", "", "", "`CONTACT` for the push services' operators: mailto:… or an https URL")
			f.Bool(&replace, "replace", false, "", "replace an existing key (subscriptions made with the old one stop working)")
		}, nil,
		func(ctx context.Context, c *apiClient, project string, _ []string) (Credentials, []byte, error) {
			if subject == "" {
				return Credentials{}, nil, usageErrorf(name, "--subject is required, e.g. --subject mailto:ops@example.com")
			}
			var out Credentials
			out.VAPID = &struct {
				PublicKey string `json:"public_key"`
				Subject   string `json:"subject"`
			}{}
			raw, err := c.do(ctx, http.MethodPost, credentialsPath(project)+"/vapid",
				map[string]any{"subject": subject, "replace": replace}, out.VAPID)
			return out, raw, err
		},
		func(c Credentials) {
			fmt.Fprintf(env.Stdout, "public_key: %s\nsubject: %s\n", c.VAPID.PublicKey, c.VAPID.Subject)
			fmt.Fprintln(env.Stderr, "Give the public key to the web app as applicationServerKey (pushManager.subscribe).")
		})
}

func runCredentialsSetAPNs(ctx context.Context, env *Env, args []string) error {
	const name = "credentials set-apns"
	var keyFile, keyID, teamID string
	return credentialCommand(ctx, env, args, name, "herald credentials set-apns --project ID --key-file FILE --key-id ID --team-id ID [flags]",
		"Store the project's APNs token signing key (the .p8 file from the Apple developer\n"+
			"account), with which the server sends to registrations of platform apns. The\n"+
			"server keeps it encrypted and never shows it again.",
		"herald credentials set-apns --project demo --key-file AuthKey_ABCDE12345.p8 --key-id ABCDE12345 --team-id TEAM123456",
		func(f *flagSet) {
			f.String(&keyFile, "key-file", "", "", "the .p8 `FILE`: a PKCS #8 EC P-256 private key in PEM")
			f.String(&keyID, "key-id", "", "", "the key's 10-character Key `ID`")
			f.String(&teamID, "team-id", "", "", "the 10-character Team `ID` of the developer account")
		}, nil,
		func(ctx context.Context, c *apiClient, project string, _ []string) (Credentials, []byte, error) {
			if keyFile == "" || keyID == "" || teamID == "" {
				return Credentials{}, nil, usageErrorf(name, "--key-file, --key-id and --team-id are required")
			}
			pem, err := os.ReadFile(keyFile)
			if err != nil {
				return Credentials{}, nil, fmt.Errorf("read --key-file: %w", err)
			}
			return putCredential(ctx, c, project, "apns", map[string]string{"key_id": keyID, "team_id": teamID, "key_pem": string(pem)})
		},
		func(c Credentials) { printCredentials(env, c) })
}

func runCredentialsSetFCM(ctx context.Context, env *Env, args []string) error {
	const name = "credentials set-fcm"
	var file string
	return credentialCommand(ctx, env, args, name, "herald credentials set-fcm --project ID --file FILE [flags]",
		"Store the service account of the project's own Firebase project (the JSON key\n"+
			"file from the Firebase console), with which the server relays messages to\n"+
			"registrations of platform fcm. The server keeps it encrypted and shows only\n"+
			"its project_id and client_email.",
		"herald credentials set-fcm --project demo --file my-firebase-project-adminsdk.json",
		func(f *flagSet) {
			f.String(&file, "file", "", "", "the service-account JSON `FILE`")
		}, nil,
		func(ctx context.Context, c *apiClient, project string, _ []string) (Credentials, []byte, error) {
			if file == "" {
				return Credentials{}, nil, usageErrorf(name, "--file is required: the service-account JSON file")
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return Credentials{}, nil, fmt.Errorf("read --file: %w", err)
			}
			if !json.Valid(b) {
				return Credentials{}, nil, fmt.Errorf("%s is not JSON: want the service-account key file", file)
			}
			return putCredential(ctx, c, project, "fcm", json.RawMessage(b))
		},
		func(c Credentials) { printCredentials(env, c) })
}

func runCredentialsShow(ctx context.Context, env *Env, args []string) error {
	const name = "credentials show"
	return credentialCommand(ctx, env, args, name, "herald credentials show --project ID [flags]",
		"Show which vendor credentials the project has: the VAPID public key and subject,\n"+
			"the APNs key and team IDs, the FCM service account's project and e-mail.\n"+
			"Private keys are never shown.",
		"herald credentials show --project demo",
		nil, nil,
		func(ctx context.Context, c *apiClient, project string, _ []string) (Credentials, []byte, error) {
			var out Credentials
			raw, err := c.do(ctx, http.MethodGet, credentialsPath(project), nil, &out)
			return out, raw, err
		},
		func(c Credentials) { printCredentials(env, c) })
}

func runCredentialsDelete(ctx context.Context, env *Env, args []string) error {
	const name = "credentials delete"
	return credentialCommand(ctx, env, args, name, "herald credentials delete --project ID KIND [flags]",
		"Delete one kind of the project's vendor credentials: vapid, apns or fcm. Messages\n"+
			"to registrations of that platform then fail (reason: credentials) until new\n"+
			"ones are set.",
		"herald credentials delete --project demo apns",
		nil, []string{"KIND (vapid, apns or fcm)"},
		func(ctx context.Context, c *apiClient, project string, pos []string) (Credentials, []byte, error) {
			switch pos[0] {
			case "vapid", "apns", "fcm":
			default:
				return Credentials{}, nil, usageErrorf(name, "unknown kind %q: want vapid, apns or fcm", pos[0])
			}
			raw, err := c.do(ctx, http.MethodDelete, credentialsPath(project)+"/"+pos[0], nil, nil)
			return Credentials{}, raw, err
		},
		func(Credentials) { fmt.Fprintln(env.Stderr, "Deleted.") })
}

// putCredential stores one kind of credentials and returns the project's.
func putCredential(ctx context.Context, c *apiClient, project, kind string, body any) (Credentials, []byte, error) {
	var out Credentials
	raw, err := c.do(ctx, http.MethodPut, credentialsPath(project)+"/"+kind, body, &out)
	return out, raw, err
}

// printCredentials prints what a project has, one line per field.
func printCredentials(env *Env, c Credentials) {
	w := env.Stdout
	if c.VAPID == nil && c.APNs == nil && c.FCM == nil {
		fmt.Fprintf(env.Stderr, "Project %s has no vendor credentials yet (herald credentials create-vapid, set-apns, set-fcm).\n", c.ProjectID)
		return
	}
	if c.VAPID != nil {
		fmt.Fprintf(w, "vapid.public_key: %s\nvapid.subject: %s\n", c.VAPID.PublicKey, c.VAPID.Subject)
	}
	if c.APNs != nil {
		fmt.Fprintf(w, "apns.key_id: %s\napns.team_id: %s\n", c.APNs.KeyID, c.APNs.TeamID)
	}
	if c.FCM != nil {
		fmt.Fprintf(w, "fcm.project_id: %s\nfcm.client_email: %s\n", c.FCM.ProjectID, c.FCM.ClientEmail)
	}
}
