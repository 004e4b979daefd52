"""Pull-request review: the offline synth diff, plan summaries, the PR comment, the changed stacks."""
