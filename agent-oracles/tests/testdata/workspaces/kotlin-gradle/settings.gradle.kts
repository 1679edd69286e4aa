rootProject.name = "kgrad"
include(":app")
include(":lib:util")
