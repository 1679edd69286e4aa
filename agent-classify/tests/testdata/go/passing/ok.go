package passing

// One returns 1.
func One() int { return 1 }
