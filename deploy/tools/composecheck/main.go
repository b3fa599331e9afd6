// Command composecheck loads a compose file the way Docker Compose does, with
// the compose-go library that Compose itself uses: it validates the file
// against the Compose specification's schema, interpolates variables and
// checks references between services. It starts nothing and needs no Docker
// engine.
//
//	composecheck deploy/compose.yaml
package main

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck COMPOSE_FILE")
		os.Exit(2)
	}
	path := os.Args[1]

	options, err := cli.NewProjectOptions(
		[]string{path},
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: cannot read options for %s: %v\n", path, err)
		os.Exit(1)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %s is not a valid compose file: %v\n", path, err)
		os.Exit(1)
	}

	names := project.ServiceNames()
	sort.Strings(names)
	fmt.Printf("%s: project %s, %d services: %v\n", path, project.Name, len(names), names)
}
