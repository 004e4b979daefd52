"""`python -m tools.checks.deployability [cdktf.out]`: every check, one line a missing link."""

import sys

from tools.checks.deployability import main

raise SystemExit(main(sys.argv[1:]))
