package missingdep

import "github.com/example/notthere/pkg"

// V uses the dependency.
var V = pkg.Value
