package cli

import (
	"context"
	"fmt"
)

// projectFlag registers the --project flag.
func projectFlag(f *flagSet, p *string) {
	f.String(p, "project", "", "HERALD_PROJECT", "project `ID`")
}

// requireProject is a usage error when --project is missing.
func requireProject(cmd, project string) error {
	if project == "" {
		return usageErrorf(cmd, "--project is required (see herald project list)")
	}
	return nil
}

func runAppCreate(ctx context.Context, env *Env, args []string) error {
	const name = "app create"
	var (
		admin          adminFlags
		project, label string
		jsonOut        bool
	)
	f := newFlagSet(name, "herald app create --project ID [--name NAME] [flags]",
		"Create an app in a project and print its app key on a line \"app_key: KEY\".\n"+
			"The app key is public, like Firebase's API key: it goes into the app, whose\n"+
			"Herald SDK registers with it to get a registration token.",
		"herald app create --project demo --name android\n"+
			"KEY=$(herald app create --project demo | sed -n 's/^app_key: //p')")
	projectFlag(f, &project)
	f.String(&label, "name", "", "", "a `NAME` to tell the app apart, e.g. android")
	admin.register(f)
	f.Bool(&jsonOut, "json", false, "", "print the API's JSON answer")
	rest, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if err := positionalArgs(name, rest); err != nil {
		return err
	}
	if err := requireProject(name, project); err != nil {
		return err
	}
	c, err := admin.client(env, name)
	if err != nil {
		return err
	}
	a, raw, err := c.createApp(ctx, project, label)
	if err != nil {
		return admin.explainAdmin(err)
	}
	if jsonOut {
		return writeRaw(env.Stdout, raw)
	}
	fmt.Fprintf(env.Stdout, "app_key: %s\nproject_id: %s\n", a.Key, a.ProjectID)
	if a.Name != "" {
		fmt.Fprintf(env.Stdout, "name: %s\n", a.Name)
	}
	fmt.Fprintf(env.Stdout, "created_at: %s\n", a.CreatedAt)
	fmt.Fprintf(env.Stderr, "Give the app key to your app's Herald SDK, or try it: herald listen --app-key %s\n", a.Key)
	return nil
}

func runAppList(ctx context.Context, env *Env, args []string) error {
	const name = "app list"
	var (
		admin   adminFlags
		project string
		jsonOut bool
	)
	f := newFlagSet(name, "herald app list --project ID [flags]", "List the apps of a project.",
		"herald app list --project demo")
	projectFlag(f, &project)
	admin.register(f)
	f.Bool(&jsonOut, "json", false, "", "print the API's JSON answer")
	rest, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if err := positionalArgs(name, rest); err != nil {
		return err
	}
	if err := requireProject(name, project); err != nil {
		return err
	}
	c, err := admin.client(env, name)
	if err != nil {
		return err
	}
	apps, raw, err := c.listApps(ctx, project)
	if err != nil {
		return admin.explainAdmin(err)
	}
	if jsonOut {
		return writeRaw(env.Stdout, raw)
	}
	if len(apps) == 0 {
		fmt.Fprintf(env.Stderr, "No apps in project %s yet: herald app create --project %s\n", project, project)
		return nil
	}
	rows := make([][]string, 0, len(apps))
	for _, a := range apps {
		rows = append(rows, []string{a.Key, a.Name, a.CreatedAt})
	}
	return writeTable(env.Stdout, []string{"APP KEY", "NAME", "CREATED"}, rows)
}
