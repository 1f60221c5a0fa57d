// Command pyfixture writes the Python Sachet test fixture (package
// pyfixture) into a directory, for trying `sachet import` by hand:
//
//	go run ./importer/pyfixture/cmd /tmp/pysachet
//	sachet import --files /tmp/pysachet/storage --dry-run /tmp/pysachet/sachet.db
package main

import (
	"fmt"
	"os"

	"github.com/sachet-server/sachet/importer/pyfixture"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pyfixture DIR")
		os.Exit(2)
	}
	f := pyfixture.New()
	if err := f.Write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "pyfixture:", err)
		os.Exit(1)
	}
	fmt.Printf("database: %s\nfiles:    %s\n", f.DB, f.FilesDir)
	for _, u := range f.Users {
		fmt.Printf("user %s, password %q\n", u.Name, u.Password)
	}
}
