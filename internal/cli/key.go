package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func runKeyCreate(ctx context.Context, env *Env, args []string) error {
	const name = "key create"
	var (
		out   string
		force bool
	)
	f := newFlagSet(name, "herald key create --project ID --out FILE [flags]",
		"Create a service-account key for a project and write its JSON file (mode 0600).\n"+
			"App servers use the file as they use a Google service account: herald send\n"+
			"--credentials, or GOOGLE_APPLICATION_CREDENTIALS with the Firebase Admin SDKs.\n"+
			"The private key exists only in this file: the server keeps the public half.",
		"herald key create --project demo --out sa.json\n"+
			"herald send --credentials sa.json --token TOKEN --title Hello")
	p, err := parseProjectCommand(env, name, f, args, func(f *flagSet) {
		f.String(&out, "out", "", "", "`FILE` to write the service-account JSON to; - for stdout")
		f.Bool(&force, "force", false, "", "overwrite FILE if it exists")
	}, "print the API's JSON answer on stdout (it includes the private key)")
	if err != nil {
		return err
	}
	project, jout := p.project, p.json
	if out == "" {
		return usageErrorf(name, "--out is required: the file to write the service account to, e.g. --out sa.json")
	}
	if out == "-" && jout {
		return usageErrorf(name, "--out - and --json both print on stdout; choose one")
	}
	// Refuse before creating a key that could not be saved.
	if out != "-" && !force {
		if _, err := os.Lstat(out); err == nil {
			return withHint(fmt.Errorf("%s exists", out), "choose another --out, or add --force to overwrite it")
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check --out: %w", err)
		}
	}
	c, err := p.client(env)
	if err != nil {
		return err
	}
	k, raw, err := c.createKey(ctx, project)
	if err != nil {
		return p.admin.explainAdmin(err)
	}
	sa := append([]byte(nil), k.ServiceAccount...)
	sa = append(sa, '\n')
	if out == "-" {
		if _, err := env.Stdout.Write(sa); err != nil {
			return err
		}
	} else if err := writeSecretFile(out, sa, force); err != nil {
		return withHint(err, "the key %s was created but not saved: revoke it with\n"+
			"herald key revoke --project %s %s", k.Key.ID, project, k.Key.ID)
	}
	if jout {
		return writeRaw(env.Stdout, raw)
	}
	w := env.Stdout
	if out == "-" {
		w = env.Stderr // stdout holds the file
	}
	fmt.Fprintf(w, "key_id: %s\nclient_email: %s\n", k.Key.ID, k.Key.ClientEmail)
	if out != "-" {
		fmt.Fprintf(w, "Wrote %s: keep it secret, it holds the private key.\n", out)
		fmt.Fprintf(w, "Use it:\n  herald send --credentials %s --token TOKEN --title Hello\n"+
			"  export GOOGLE_APPLICATION_CREDENTIALS=%s   # Firebase Admin SDKs\n",
			shellQuote(out), shellQuote(absOr(out)))
	}
	return nil
}

// writeSecretFile writes data to path with mode 0600. Without force it
// fails if path exists; with force it replaces path atomically.
func writeSecretFile(path string, data []byte, force bool) error {
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("write service account: %w", err)
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(path)
			return fmt.Errorf("write service account: %w", err)
		}
		if err := f.Close(); err != nil {
			os.Remove(path)
			return fmt.Errorf("write service account: %w", err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write service account: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write service account: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write service account: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("write service account: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write service account: %w", err)
	}
	return nil
}

// absOr returns the absolute form of path, or path.
func absOr(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '.' || r == '-' || r == '_') {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}

func runKeyList(ctx context.Context, env *Env, args []string) error {
	f := newFlagSet("key list", "herald key list --project ID [flags]",
		"List the service-account keys of a project, revoked ones included.",
		"herald key list --project demo")
	p, err := parseProjectCommand(env, "key list", f, args, nil, jsonUsage)
	if err != nil {
		return err
	}
	c, err := p.client(env)
	if err != nil {
		return err
	}
	project := p.project
	keys, raw, err := c.listKeys(ctx, project)
	if err != nil {
		return p.admin.explainAdmin(err)
	}
	if p.json {
		return writeRaw(env.Stdout, raw)
	}
	if len(keys) == 0 {
		fmt.Fprintf(env.Stderr, "No keys in project %s yet: herald key create --project %s --out sa.json\n", project, project)
		return nil
	}
	rows := make([][]string, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, []string{k.ID, k.ClientEmail, k.CreatedAt, strconv.FormatBool(k.Revoked)})
	}
	return writeTable(env.Stdout, []string{"ID", "CLIENT EMAIL", "CREATED", "REVOKED"}, rows)
}

func runKeyRevoke(ctx context.Context, env *Env, args []string) error {
	f := newFlagSet("key revoke", "herald key revoke --project ID KEY_ID [flags]",
		"Revoke a service-account key: its access tokens stop working at once.",
		"herald key revoke --project demo 3f2a9c")
	p, err := parseProjectCommand(env, "key revoke", f, args, nil, "", "KEY_ID (see herald key list)")
	if err != nil {
		return err
	}
	c, err := p.client(env)
	if err != nil {
		return err
	}
	project, rest := p.project, p.args
	if err := c.revokeKey(ctx, project, rest[0]); err != nil {
		return p.admin.explainAdmin(err)
	}
	fmt.Fprintf(env.Stdout, "revoked key %s of project %s\n", rest[0], project)
	return nil
}
