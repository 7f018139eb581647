package cli

import (
	"context"
	"fmt"
)

func runProjectCreate(ctx context.Context, env *Env, args []string) error {
	const name = "project create"
	var (
		admin   adminFlags
		jsonOut bool
	)
	f := newFlagSet(name, "herald project create ID [flags]",
		"Create a project. A project groups apps, service-account keys and devices;\n"+
			"its ID appears in send URLs and service-account files.\n"+
			"ID: a lower-case letter, then 1 to 62 lower-case letters, digits or '-'.",
		"herald project create demo")
	admin.register(f)
	f.Bool(&jsonOut, "json", false, "", "print the API's JSON answer")
	rest, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if err := positionalArgs(name, rest, "project ID"); err != nil {
		return err
	}
	c, err := admin.client(env, name)
	if err != nil {
		return err
	}
	p, raw, err := c.createProject(ctx, rest[0])
	if err != nil {
		return admin.explainAdmin(err)
	}
	if jsonOut {
		return writeRaw(env.Stdout, raw)
	}
	fmt.Fprintf(env.Stdout, "id: %s\ncreated_at: %s\n", p.ID, p.CreatedAt)
	fmt.Fprintf(env.Stderr, "Next: herald app create --project %s\n", p.ID)
	return nil
}

func runProjectList(ctx context.Context, env *Env, args []string) error {
	const name = "project list"
	var (
		admin   adminFlags
		jsonOut bool
	)
	f := newFlagSet(name, "herald project list [flags]", "List the projects.", "herald project list")
	admin.register(f)
	f.Bool(&jsonOut, "json", false, "", "print the API's JSON answer")
	rest, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if err := positionalArgs(name, rest); err != nil {
		return err
	}
	c, err := admin.client(env, name)
	if err != nil {
		return err
	}
	ps, raw, err := c.listProjects(ctx)
	if err != nil {
		return admin.explainAdmin(err)
	}
	if jsonOut {
		return writeRaw(env.Stdout, raw)
	}
	if len(ps) == 0 {
		fmt.Fprintln(env.Stderr, "No projects yet: herald project create ID")
		return nil
	}
	rows := make([][]string, 0, len(ps))
	for _, p := range ps {
		rows = append(rows, []string{p.ID, p.CreatedAt})
	}
	return writeTable(env.Stdout, []string{"ID", "CREATED"}, rows)
}
