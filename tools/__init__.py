"""Tools over the synthesized output. Some load config or constructs, which start the jsii kernel: point it at the
project's pinned Node first (runtime/jsii_runtime.py), as main.py and the tests do, not at the machine's own."""

from runtime.jsii_runtime import use_project_node

use_project_node()
