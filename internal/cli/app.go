package cli

import (
	"context"
	"fmt"
)

// projectFlag registers the --project flag.
func projectFlag(f *flagSet, p *string) {
	f.String(p, "project", "", "HERALD_PROJECT", "project `ID`")
}

// projectCommand is a parsed admin command about one project.
type projectCommand struct {
	name    string
	admin   adminFlags
	project string
	json    bool     // --json
	args    []string // the positional arguments
}

// jsonUsage is the usage of the --json flag of most admin commands.
const jsonUsage = "print the API's JSON answer"

// parseProjectCommand registers on f, in this order, --project, the
// command's own flags (own, may be nil), the admin flags and, unless
// jsonHelp is "", --json; then it parses args and checks the positional
// arguments (named by positional) and --project.
func parseProjectCommand(env *Env, name string, f *flagSet, args []string, own func(*flagSet), jsonHelp string, positional ...string) (*projectCommand, error) {
	p := &projectCommand{name: name}
	projectFlag(f, &p.project)
	if own != nil {
		own(f)
	}
	p.admin.register(f)
	if jsonHelp != "" {
		f.Bool(&p.json, "json", false, "", jsonHelp)
	}
	rest, err := f.parse(env, args)
	if err != nil {
		return nil, err
	}
	if err := positionalArgs(name, rest, positional...); err != nil {
		return nil, err
	}
	if err := requireProject(name, p.project); err != nil {
		return nil, err
	}
	p.args = rest
	return p, nil
}

// client returns the admin API client of the command's flags.
func (p *projectCommand) client(env *Env) (*apiClient, error) { return p.admin.client(env, p.name) }

// requireProject is a usage error when --project is missing.
func requireProject(cmd, project string) error {
	if project == "" {
		return usageErrorf(cmd, "--project is required (see herald project list)")
	}
	return nil
}

func runAppCreate(ctx context.Context, env *Env, args []string) error {
	var label string
	f := newFlagSet("app create", "herald app create --project ID [--name NAME] [flags]",
		"Create an app in a project and print its app key on a line \"app_key: KEY\".\n"+
			"The app key is public, like Firebase's API key: it goes into the app, whose\n"+
			"Herald SDK registers with it to get a registration token.",
		"herald app create --project demo --name android\n"+
			"KEY=$(herald app create --project demo | sed -n 's/^app_key: //p')")
	p, err := parseProjectCommand(env, "app create", f, args, func(f *flagSet) {
		f.String(&label, "name", "", "", "a `NAME` to tell the app apart, e.g. android")
	}, jsonUsage)
	if err != nil {
		return err
	}
	c, err := p.client(env)
	if err != nil {
		return err
	}
	project := p.project
	a, raw, err := c.createApp(ctx, project, label)
	if err != nil {
		return p.admin.explainAdmin(err)
	}
	if p.json {
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
	f := newFlagSet("app list", "herald app list --project ID [flags]", "List the apps of a project.",
		"herald app list --project demo")
	p, err := parseProjectCommand(env, "app list", f, args, nil, jsonUsage)
	if err != nil {
		return err
	}
	c, err := p.client(env)
	if err != nil {
		return err
	}
	project := p.project
	apps, raw, err := c.listApps(ctx, project)
	if err != nil {
		return p.admin.explainAdmin(err)
	}
	if p.json {
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
